// BENCHMARKS.md from figures: each target's verdict, how far off and why, and the load warning.
import { describe, expect, test } from "bun:test";
import { AGENTS_START, renderReport, type Results } from "../../../bench/report.ts";

const lat = (p50Ms: number, p99Ms: number) => ({ kills: 200, reported: 200, p50Ms, p99Ms, maxMs: p99Ms + 1, load1: 0.2 });
const rss = (anonKiB: number) => ({ anonKiB, fileKiB: 40_000, shmemKiB: 0 });
const seen = (captured: number, attributed: number) => ({ captured, attributed, duplicates: 0, bySource: { bpftrace: captured } });

function results(over: Partial<Results> = {}): Results {
  return {
    quick: false,
    command: "bun run bench",
    started: new Date("2026-11-21T10:00:00Z"),
    durationS: 300,
    machine: { kernel: "6.18", cpu: "cpu", cores: 2, memGiB: 24, cgroupMemory: "v1", bun: "1.4.5", bpftrace: "bpftrace v0.17.0", oomtrace: "0.1.0", binaryBytes: 110 << 20 },
    probe: "tracepoint",
    plan: { latencyKills: 200 },
    load: [
      { name: "start-up", start: 0.1, max: 0.3, end: 0.2 },
      { name: "storm", start: 0.3, max: 30, end: 25 },
    ],
    startups: [{ chosenMs: 300, attachedMs: 1500, readyMs: 1503, load1: 0.2 }],
    startups023: [],
    idle: { seconds: 60, afterReadyS: 60, agentCpuPct: 0.05, bpftraceCpuPct: 0.01, foreignKills: 0, load1: 0.2 },
    atRest: { agent: rss(12 * 1024), bpftrace: rss(30 * 1024) },
    afterStorm: { agent: rss(20 * 1024), bpftrace: rss(60 * 1024) },
    latency: [lat(3, 8), lat(3, 12), lat(4, 9)],
    bpftraceAlone: lat(2, 6),
    storms: [{ seconds: 15, pods: 32, cpu: "besteffort", lostEvents: 0, lateDuplicates: 0, kernelKills: 1000, vmstatKills: 1000, agent: seen(1000, 1000), kmsgOnly: seen(1000, 30), agentCpuPct: 5, bpftraceCpuPct: 1, cpuMsPerKill: 1, settleSeconds: 16, load1: 30 }],
    agentMetrics: 'oomtrace_lost_events_total{source="bpftrace"} 0\n',
    kube: { unavailable: "oomtrace: unknown flag --kubernetes; see --help" },
    ...over,
  };
}

const summaryRow = (md: string, figure: string) => md.split("\n").find((l) => l.startsWith(`| ${figure}`)) ?? "";

describe("renderReport", () => {
  test("met and missed targets, with how far off and why", () => {
    const md = renderReport(results());
    expect(summaryRow(md, "kill → NDJSON p99")).toContain("| met |"); // median of 8, 12, 9
    expect(summaryRow(md, "start → probe attached")).toContain("**missed**: 1.5× the target (+500.0 ms)");
    expect(summaryRow(md, "start → probe attached")).toContain("1200.0 ms of it; the agent's own start is 300.0 ms");
    expect(summaryRow(md, "agent + bpftrace anon RSS, at rest")).toContain("| met |");
    expect(summaryRow(md, "agent + bpftrace anon RSS, after the storms")).toContain("**missed**");
    expect(summaryRow(md, "kill → annotation p99")).toContain("not available in this build");
    expect(summaryRow(md, "storm kills captured")).toContain("| met |");
  });

  test("kills that kmsg reported before bpftrace's late record: the attribution gap is explained", () => {
    const storms = [{ ...results().storms[0]!, agent: seen(1000, 993), lateDuplicates: 7 }];
    const md = renderReport(results({ storms }));
    expect(summaryRow(md, "storm kills attributed")).toContain("**missed** by 0.7 points");
    expect(summaryRow(md, "storm kills attributed")).toContain("7 bpftrace records reached the agent more than 5 s after kmsg's report");
  });

  test("the target is judged on the storms in kubelet's CPU layout; a shared-CPU stress storm is listed beside them", () => {
    const judged = results().storms[0]!;
    const stress = { ...judged, cpu: "shared" as const, pods: 64, agent: seen(1000, 600), lostEvents: 40 };
    const md = renderReport(results({ storms: [judged, stress] }));
    expect(summaryRow(md, "storm kills attributed to the right pod (worst storm, kubelet's CPU layout)")).toContain("| met |");
    expect(md).toContain("| 2: 15 s | shared with the agent | 64 | 1000 | 1000 (100.0 %) | 600 (60.0 %) | 1000 (100.0 %) | 30 (3.0 %) | 1000 | 40 | 0 |");
    // With no BestEffort storm, the shared ones are judged.
    const only = renderReport(results({ storms: [stress], stormCpuWhy: "no cgroup v1 CPU controller at /sys/fs/cgroup/cpu" }));
    expect(summaryRow(only, "storm kills attributed to the right pod (worst storm)")).toContain("**missed** by 40.0 points");
    expect(summaryRow(only, "storm kills attributed to the right pod (worst storm)")).toContain("bpftrace lost 40 events");
    expect(only).toContain("No BestEffort CPU cgroup could be made on this machine (no cgroup v1 CPU controller");
  });

  test("the kmsg-only method's count sits beside ours, as a share of the kernel's", () => {
    const md = renderReport(results());
    expect(md).toContain("| 1: 15 s | BestEffort cgroup | 32 | 1000 | 1000 (100.0 %) | 1000 (100.0 %) | 1000 (100.0 %) | 30 (3.0 %) | 1000 | 0 | 0 |");
  });

  test("a busy machine is called busy; the storm's and the agents' start's own load does not count", () => {
    expect(renderReport(results())).toContain("The machine was quiet apart from the benchmark.");
    const busy = renderReport(results({ load: [{ name: "start-up", start: 6, max: 9, end: 7 }] }));
    expect(busy).toContain("Other work ran beside the benchmark");
    const own = [
      { name: AGENTS_START, start: 0.7, max: 2.1, end: 1.5 },
      { name: "storm", start: 0.5, max: 45, end: 15 },
      { name: "idle", start: 1.5, max: 1.5, end: 0.1 },
    ];
    expect(renderReport(results({ load: own }))).toContain("The machine was quiet apart from the benchmark.");
  });

  test("a quick run says not to quote it; an idle window with others' kills says so", () => {
    const md = renderReport(results({ quick: true, idle: { seconds: 10, afterReadyS: 5, agentCpuPct: 0.5, bpftraceCpuPct: 0, foreignKills: 7, load1: 1 } }));
    expect(md).toContain("**Quick run**");
    expect(summaryRow(md, "idle CPU")).toContain("not idle: 7 kills by others in the window");
    expect(summaryRow(md, "idle CPU")).toContain("from 5 s after ready");
  });

  describe("early-warning sampling", () => {
    const run = (containers: number, wallMs: number[], cpuMs: number[]) => ({
      containers, busy: containers / 10, passes: wallMs.length, limitBytes: 256 << 20, wallMs, cpuMs, discoverMs: 12, intervalMs: 1000, load1: 0.3,
    });

    test("the 100-container pass is judged against our targets: median wall time, and median CPU as a share of the interval", () => {
      const md = renderReport(results({ sampling: [run(10, [0.4, 0.3, 0.5], [0.3, 0.3, 0.3]), run(100, [3, 4, 20], [3, 2, 4])] }));
      expect(summaryRow(md, "early warning: one sampling pass, 100 containers")).toContain("| 4.00 ms (p90 20.00 ms) | ≤ 5 ms (ours) | met |");
      expect(summaryRow(md, "early warning: CPU at the default 1000 ms interval")).toContain("| 0.30 % of a core | ≤ 0.5 % (ours) | met |");
      expect(md).toContain("| 100 | 10 | 3 | 4.00 ms | 20.00 ms | 20.00 ms | 3.00 ms | 0.30 % (1000 ms) | 40 µs | 12.0 ms | 0.30 |");
    });

    test("a slow pass is missed by how much, with the cost per container", () => {
      const md = renderReport(results({ sampling: [run(100, [8, 9, 10], [7, 8, 9])] }));
      expect(summaryRow(md, "early warning: one sampling pass")).toContain("**missed**: 1.8× the target (+4.0 ms)");
      expect(summaryRow(md, "early warning: one sampling pass")).toContain("90.0 µs per container");
      expect(summaryRow(md, "early warning: CPU")).toContain("**missed**: 1.6× the target (+0.3 points)");
    });

    test("idle CPU with and without early warning, side by side", () => {
      const noPressure = { seconds: 60, afterReadyS: 60, agentCpuPct: 0.03, bpftraceCpuPct: 0.01, foreignKills: 0, load1: 0.2 };
      const md = renderReport(results({ sampling: [run(10, [0.4], [0.3])], idleNoPressure: noPressure, idleWatched: 4 }));
      expect(md).toContain("it watched 4 containers with a limit on this machine at its start) 0.050 % of a core, a second agent with `--no-pressure` 0.030 %: early warning's samples and its search every 5 s add 0.020 points.");
    });

    test("figures saved before sampling was measured still render, without the section", () => {
      const md = renderReport(results());
      expect(md).not.toContain("## Early-warning sampling");
      expect(summaryRow(md, "early warning")).toBe("");
    });
  });
});
