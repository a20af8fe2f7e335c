// Node cost: RSS (anon/file) of the agent and its bpftrace, and CPU while nothing happens.
import type { BenchAgent } from "./agent.ts";
import { CpuAccount, loadavg, rss, type Rss } from "./proc.ts";

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
  /** How long the agent had been ready when the window began. */
  afterReadyS: number;
  /** % of one core. */
  agentCpuPct: number;
  bpftraceCpuPct: number;
  /** Kills on this machine (other users' OOMs) the agent reported during the window: then it was not idle. */
  foreignKills: number;
  load1: number;
}

/** CPU accounts for an agent and its bpftrace, each in a cgroup of its own from now on. */
export interface AgentAccounts {
  agent: CpuAccount;
  bpftrace: CpuAccount;
}

export function accountCpu(agent: BenchAgent, name: string): AgentAccounts {
  const bpf = agent.bpftracePid();
  const accounts = { agent: CpuAccount.make(`${name}-agent`), bpftrace: CpuAccount.make(`${name}-bpftrace`) };
  accounts.agent.add(agent.proc.pid);
  if (bpf !== null) accounts.bpftrace.add(bpf);
  return accounts;
}

/** CPU of the agent and its bpftrace over `seconds` in which we cause no kill. */
export async function idleCpu(agent: BenchAgent, accounts: AgentAccounts, seconds: number, readyAt: number): Promise<IdleRun> {
  const a0 = accounts.agent.usageMs();
  const b0 = accounts.bpftrace.usageMs();
  const events0 = agent.events.length;
  const t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  const wall = performance.now() - t0;
  return {
    seconds,
    afterReadyS: (t0 - readyAt) / 1000,
    agentCpuPct: ((accounts.agent.usageMs() - a0) / wall) * 100,
    bpftraceCpuPct: ((accounts.bpftrace.usageMs() - b0) / wall) * 100,
    foreignKills: agent.events.length - events0,
    load1: loadavg()[0],
  };
}
