// The same probe run by bpftrace alone, no agent: kill → the mark record on bpftrace's stdout.
// Set beside the agent's kill → NDJSON latency, it tells bpftrace's share from the agent's.
import { AGENT_BINARY, BenchAgent } from "./agent.ts";
import type { KillLab } from "./kills.ts";
import { loadavg } from "./proc.ts";
import { quantile } from "./stats.ts";
import type { LatencyRun } from "./latency.ts";

/** bpftrace's records: `{"type": "value", "data": ["mark", t, victim_tid, …]}`. */
type Record = { type: string; data?: unknown };

export async function bpftraceAloneLatency(lab: KillLab, kills: number): Promise<LatencyRun> {
  const script = await new Response(Bun.spawn([AGENT_BINARY, "probe"], { stdout: "pipe", stderr: "ignore" }).stdout).text();
  const bpftrace = process.env.OOMTRACE_BPFTRACE || "bpftrace";
  // The agent's environment for bpftrace (src/agent.ts): 128-byte strings.
  // Like the agent, tie bpftrace's life to ours (setpriv --pdeathsig), so an interrupted run leaves none behind.
  const setpriv = Bun.which("setpriv");
  const proc = Bun.spawn([...(setpriv ? [setpriv, "--pdeathsig", "KILL"] : []), bpftrace, "-f", "json", "-"], {
    stdin: new Blob([script]),
    stdout: "pipe",
    stderr: "ignore",
    env: { ...process.env, BPFTRACE_STRLEN: "128", BPFTRACE_MAX_STRLEN: "128" },
  });
  const marks = new Map<number, { t: bigint; atNs: bigint }>();
  let ready = false;
  // BenchAgent's line pump, reused for bpftrace's stdout.
  const pump = BenchAgent.lines(proc.stdout as ReadableStream<Uint8Array>, (line, atNs) => {
    let r: Record;
    try {
      r = JSON.parse(line);
    } catch {
      return;
    }
    const d = r.data;
    if (r.type !== "value" || !Array.isArray(d)) return;
    if (d[0] === "ready") ready = true;
    if (d[0] === "mark") marks.set(Number(d[2]), { t: BigInt(d[1] as number), atNs });
  });
  try {
    for (let i = 0; i < 600 && !ready; i++) await Bun.sleep(50);
    if (!ready) throw new Error(`${bpftrace} did not attach the probe within 30 s`);
    const ms: number[] = [];
    for (let i = 0; i < kills; i++) {
      const { pid } = await lab.killOnce(lab.pod());
      for (let j = 0; j < 5000 && !marks.has(pid); j++) await Bun.sleep(2);
      const m = marks.get(pid);
      if (m) ms.push(Number(m.atNs - m.t) / 1e6);
    }
    return { kills, reported: ms.length, p50Ms: quantile(ms, 0.5), p99Ms: quantile(ms, 0.99), maxMs: Math.max(...ms), load1: loadavg()[0] };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    await pump;
  }
}
