// A storm of memcg OOM kills in many pods at once, seen side by side by the agent (bpftrace and
// kmsg) and by a second agent that reads /dev/kmsg alone, checked against the kernel's counters.
import type { NdjsonEvent } from "../test/helpers/agent.ts";
import type { BenchAgent, Stamped } from "./agent.ts";
import type { KillLab, Pod } from "./kills.ts";
import { cpuMs, loadavg, metricSum, vmstatOomKills } from "./proc.ts";

export interface Seen {
  /** Distinct victims of ours the agent reported. */
  captured: number;
  /** Of those, reported with the right pod UID and container id. */
  attributed: number;
  /** Lines beyond one per victim. */
  duplicates: number;
  /** Lines per source (bpftrace, kmsg). */
  bySource: Record<string, number>;
}

export interface StormRun {
  seconds: number;
  pods: number;
  /** Where the storm's tasks ran: kubelet's BestEffort CPU cgroup, or the agent's own CPU group (task against task). */
  cpu: "besteffort" | "shared";
  /** The agent's bpftrace lost events and late duplicates during this storm (its counters' change). */
  lostEvents: number;
  lateDuplicates: number;
  /** Sum of oom_kill over the storm's container cgroups (memory.oom_control / memory.events). */
  kernelKills: number;
  /** /proc/vmstat oom_kill over the same time: every kill on the machine, other users' too. */
  vmstatKills: number;
  agent: Seen;
  kmsgOnly: Seen;
  /** CPU of the agent and of its bpftrace, from the storm's start until the last event, as % of one core. */
  agentCpuPct: number;
  bpftraceCpuPct: number;
  /** Agent + bpftrace CPU per kill, ms. */
  cpuMsPerKill: number;
  /** Storm start to the agent's last event of this storm, s. */
  settleSeconds: number;
  load1: number;
}

/** Counts what one agent reported about this storm's victims. */
export function seen(events: Stamped<NdjsonEvent>[], comm: string, pods: Pod[]): Seen {
  const podOf = new Map(pods.map((p) => [p.containerId, p.uid]));
  const mine = events.map((e) => e.value).filter((e) => e.victim.comm === comm);
  const byPid = new Map<number, NdjsonEvent[]>();
  const bySource: Record<string, number> = {};
  for (const e of mine) {
    byPid.set(e.victim.pid, [...(byPid.get(e.victim.pid) ?? []), e]);
    bySource[e.source] = (bySource[e.source] ?? 0) + 1;
  }
  let attributed = 0;
  for (const list of byPid.values()) {
    const e = list[0]!;
    if (e.container.id !== null && e.pod.uid !== null && podOf.get(e.container.id) === e.pod.uid) attributed++;
  }
  return { captured: byPid.size, attributed, duplicates: mine.length - byPid.size, bySource };
}

/**
 * Waits until each agent reported as many of our victims as the kernel killed, or until no new line
 * came for longer than the agent holds a kmsg kill for a bpftrace that is behind (30 s, merge.ts),
 * or `maxMs`; returns the time of the last line.
 */
async function settle(agents: BenchAgent[], comm: string, kills: number, maxMs: number): Promise<number> {
  const quietMs = 32_000;
  const victims = (a: BenchAgent) => new Set(a.events.filter((e) => e.value.victim.comm === comm).map((e) => e.value.victim.pid)).size;
  const count = () => agents.reduce((n, a) => n + a.events.filter((e) => e.value.victim.comm === comm).length, 0);
  const deadline = Date.now() + maxMs;
  let last = count();
  let lastChange = Date.now();
  while (Date.now() < deadline && Date.now() - lastChange < quietMs && !agents.every((a) => victims(a) >= kills)) {
    await Bun.sleep(200);
    const n = count();
    if (n !== last) [last, lastChange] = [n, Date.now()];
  }
  return lastChange;
}

export async function storm(agent: BenchAgent, kmsgOnly: BenchAgent, lab: KillLab, podCount: number, seconds: number, cpuDir: string | null): Promise<StormRun> {
  const pods = Array.from({ length: podCount }, () => lab.pod());
  const counters = async () => {
    const m = await agent.metrics();
    return { lost: metricSum(m, "oomtrace_lost_events_total", 'source="bpftrace"'), late: metricSum(m, "oomtrace_pipeline_events_total", 'reason="late_duplicate"') };
  };
  const before = await counters();
  const bpf = agent.bpftracePid();
  if (bpf === null) throw new Error("the agent has no bpftrace child: the storm would measure kmsg only");
  const cpu0 = { agent: cpuMs(agent.proc.pid)!, bpf: cpuMs(bpf)! };
  const vm0 = vmstatOomKills();
  const t0 = Date.now();
  const run = lab.storm(pods, cpuDir);
  await Bun.sleep(seconds * 1000);
  await run.stop();
  const vmstatKills = vmstatOomKills() - vm0;
  const kernelKills = lab.kernelKills(pods);
  const lastEvent = await settle([agent, kmsgOnly], run.comm, kernelKills, 180_000);
  const cpu1 = { agent: cpuMs(agent.proc.pid)!, bpf: cpuMs(bpf)! };
  const wallMs = lastEvent - t0;
  const after = await counters();
  lab.removePods(pods);
  return {
    seconds,
    pods: podCount,
    cpu: cpuDir ? "besteffort" : "shared",
    lostEvents: after.lost - before.lost,
    lateDuplicates: after.late - before.late,
    kernelKills,
    vmstatKills,
    agent: seen(agent.events, run.comm, pods),
    kmsgOnly: seen(kmsgOnly.events, run.comm, pods),
    agentCpuPct: ((cpu1.agent - cpu0.agent) / wallMs) * 100,
    bpftraceCpuPct: ((cpu1.bpf - cpu0.bpf) / wallMs) * 100,
    cpuMsPerKill: (cpu1.agent - cpu0.agent + cpu1.bpf - cpu0.bpf) / Math.max(1, kernelKills),
    settleSeconds: wallMs / 1000,
    load1: loadavg()[0],
  };
}
