// Node cost: RSS (anon/file) of the agent and its bpftrace, and CPU while nothing happens.
import type { BenchAgent } from "./agent.ts";
import { loadavg, rss, runMs, type Rss } from "./proc.ts";

export interface Footprint {
  agent: Rss | null;
  bpftrace: Rss | null;
}

export function footprint(agent: BenchAgent): Footprint {
  const bpf = agent.bpftracePid();
  return { agent: rss(agent.proc.pid), bpftrace: bpf === null ? null : rss(bpf) };
}

export interface IdleRun {
  seconds: number;
  /** % of one core. */
  agentCpuPct: number;
  bpftraceCpuPct: number;
  /** Kills on this machine (other users' OOMs) the agent reported during the window: then it was not idle. */
  foreignKills: number;
  load1: number;
}

/** CPU of the agent and its bpftrace over `seconds` in which we cause no kill. */
export async function idleCpu(agent: BenchAgent, seconds: number): Promise<IdleRun> {
  const bpf = agent.bpftracePid();
  const a0 = runMs(agent.proc.pid)!;
  const b0 = bpf === null ? 0 : runMs(bpf)!;
  const events0 = agent.events.length;
  const t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  const wall = performance.now() - t0;
  const a1 = runMs(agent.proc.pid)!;
  const b1 = bpf === null ? 0 : runMs(bpf)!;
  return {
    seconds,
    agentCpuPct: ((a1 - a0) / wall) * 100,
    bpftraceCpuPct: ((b1 - b0) / wall) * 100,
    foreignKills: agent.events.length - events0,
    load1: loadavg()[0],
  };
}
