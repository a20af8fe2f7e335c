// Kill → NDJSON latency: the kernel's timestamp of the kill (kernel_time_ns, CLOCK_MONOTONIC)
// to the moment the line reached us through the agent's stdout pipe.
import type { BenchAgent } from "./agent.ts";
import type { KillLab } from "./kills.ts";
import { loadavg } from "./proc.ts";
import { quantile } from "./stats.ts";

export interface LatencyRun {
  kills: number;
  reported: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  load1: number;
}

/** `kills` kills one after another, each in its own pod, waiting for each line before the next. */
export async function ndjsonLatency(agent: BenchAgent, lab: KillLab, kills: number): Promise<LatencyRun> {
  const ms: number[] = [];
  for (let i = 0; i < kills; i++) {
    const pod = lab.pod();
    const { pid, signal } = await lab.killOnce(pod);
    if (signal !== "SIGKILL") throw new Error(`victim ${pid} ended with ${signal ?? "an exit code"}, not the OOM killer's SIGKILL`);
    const e = await agent.waitFor(`the event for victim ${pid}`, () => agent.events.find((x) => x.value.victim.pid === pid), 10_000, 2).catch(() => null);
    if (e) ms.push(Number(e.atNs - BigInt(e.value.kernel_time_ns)) / 1e6);
  }
  return { kills, reported: ms.length, p50Ms: quantile(ms, 0.5), p99Ms: quantile(ms, 0.99), maxMs: Math.max(...ms), load1: loadavg()[0] };
}
