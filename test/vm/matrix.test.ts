// The kernel matrix: the compiled agent on Debian's 6.1 (bookworm) and 6.12 (trixie) kernels
// under qemu (scripts/vm), with real OOM kills of every kind the README promises to tell apart.
//
// Structure:
//   - case builders (one per case group) give each case the guest shell that runs it (the
//     functions of test/vm/guest/lib.sh) and the assertions on what came back;
//   - a boot is a kernel, a cgroup layout and a list of agent runs ("phases": one agent start
//     each, since bpftrace's start costs ~50 s under emulation); each phase runs its cases;
//   - beforeAll starts every boot, two at a time (each qemu is single-threaded, -smp 1), longest
//     first; every test waits for its own boot's results and checks one case or one phase.
// A case's events are the NDJSON lines its phase printed between the case's start and end
// (the guest records the line counts), so a stray or late event fails the case it fell in.
// The kernel is the oracle: /proc/vmstat oom_kill, memory.events and its own OOM report in the
// kernel log (victim pids, the trigger, the constraint).
//
// Environment:
//   OOMTRACE_VM_ONLY=id,id    run only these boots (ids: main-6.1, modes-6.12, v1-6.1, ...)
//   OOMTRACE_VM_PARALLEL=N    boots at once (default 2)
//   OOMTRACE_VM_AGENT=PATH    another build of the agent (default dist/oomtrace)
//   OOMTRACE_CACHE=DIR        where the kernels live (default /var/cache/oomtrace); the agent is
//                             copied to DIR/vm-agent/ for the guests (see stageAgent)
//   OOMTRACE_BPFTRACE_023     the bpftrace 0.23 wrapper (default $OOMTRACE_CACHE/bpftrace-0.23,
//                             made by scripts/bpftrace-trixie.sh, which runs when it is missing)
//   OOMTRACE_VM_KEEP=1        keep each boot's temp dir (its path is printed)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { BINARY, type NdjsonEvent as AgentEvent } from "../helpers/agent.ts";
import { bootGuest, fetchKernels, type GuestKernel, type GuestResult } from "../helpers/vm.ts";

const BUILT = process.env.OOMTRACE_VM_AGENT ?? BINARY;
const CACHE = process.env.OOMTRACE_CACHE ?? "/var/cache/oomtrace";
/** The agent as the guests run it: set by stageAgent() in beforeAll. */
let AGENT = "";
// The guest scripts are staged next to the agent (the checkout may be under /tmp).
const LIB_SRC = join(import.meta.dir, "guest/lib.sh");
const MEMPY_SRC = join(import.meta.dir, "guest/mem.py");
let LIB = "";
let MEMPY = "";
const BPFTRACE_023 = process.env.OOMTRACE_BPFTRACE_023 || join(CACHE, "bpftrace-0.23");
const PARALLEL = Number(process.env.OOMTRACE_VM_PARALLEL ?? 2);
/** Every test waits for its boot, which may be queued behind others: the whole suite's budget. */
const TEST_MS = 25 * 60_000;
const PAGE = 4096;
type Probe = "fentry" | "kprobe" | "tracepoint";
type NdjsonEvent = AgentEvent & { total_pages: number | null };

// ---------------------------------------------------------------------------------------------
// Kubelet-shaped cgroups (field notes §4)

type Qos = "guaranteed" | "burstable" | "besteffort";
interface Workload {
  /** The container's cgroup, and its pod's, as the kernel names them (from the hierarchy root). */
  container: string;
  pod: string;
  uid: string;
  id: string;
  qos: Qos;
  runtime: "containerd" | null;
}

const sha = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
/** A pod UID as the API server makes them, distinct per name. */
const podUid = (name: string) => {
  const h = sha(`pod:${name}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** systemd driver, containerd: /kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice/cri-containerd-<id>.scope */
function systemdWorkload(name: string, qos: Qos): Workload {
  const uid = podUid(name);
  const id = sha(`container:${name}`);
  const u = uid.replaceAll("-", "_");
  const pod = qos === "guaranteed" ? `/kubepods.slice/kubepods-pod${u}.slice` : `/kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${u}.slice`;
  return { container: `${pod}/cri-containerd-${id}.scope`, pod, uid, id, qos, runtime: "containerd" };
}

/** cgroupfs driver: /kubepods[/<qos>]/pod<uid>/<id> (the runtime is not in the path). */
function cgroupfsWorkload(name: string, qos: Qos): Workload {
  const uid = podUid(name);
  const id = sha(`container:${name}`);
  const pod = qos === "guaranteed" ? `/kubepods/pod${uid}` : `/kubepods/${qos}/pod${uid}`;
  return { container: `${pod}/${id}`, pod, uid, id, qos, runtime: null };
}

const rel = (path: string) => path.replace(/^\//, "");

// ---------------------------------------------------------------------------------------------
// What comes back, and the kernel's own account of it

/** The kernel's OOM report, from the kernel log lines of one case. */
interface KernelReport {
  /** Every task it said it killed ("Killed process"), deduplicated: a group kill names its chosen victim twice. */
  killed: { pid: number; comm: string }[];
  killedLines: number;
  /** The trigger of each decision whose header was printed (rate limited: 10 per 5 s). */
  triggers: { tid: number; comm: string }[];
  /** The oom-kill: summary lines (rate limited too). */
  summaries: { constraint: string; oomMemcg: string | null; taskMemcg: string; pid: number }[];
  /** Kernel timestamps (s) of the first and last "Killed process". */
  span: [number, number] | null;
}

function parseKernelLog(text: string): KernelReport {
  const killed = new Map<number, string>();
  const triggers: KernelReport["triggers"] = [];
  const summaries: KernelReport["summaries"] = [];
  let killedLines = 0;
  let first: number | null = null;
  let last: number | null = null;
  let afterHeader = false;
  for (const line of text.split("\n")) {
    const ts = Number(/^\[\s*([\d.]+)\]/.exec(line)?.[1] ?? NaN);
    if (/ invoked oom-killer: /.test(line)) afterHeader = true;
    const cpu = /CPU: \d+ (?:UID: \d+ )?PID: (\d+) Comm: (.+?) (?:Not tainted|Tainted)/.exec(line);
    if (cpu && afterHeader) {
      triggers.push({ tid: Number(cpu[1]), comm: cpu[2]! });
      afterHeader = false;
    }
    const k = /(?:Memory cgroup out of memory|Out of memory): Killed process (\d+) \((.*)\) total-vm/.exec(line);
    if (k) {
      killedLines++;
      killed.set(Number(k[1]), k[2]!);
      first ??= ts;
      last = ts;
    }
    const s = /oom-kill:constraint=(\w+),.*?(?:,oom_memcg=([^,]*)|,global_oom),task_memcg=([^,]*),task=.*,pid=(\d+),uid=/.exec(line);
    if (s) summaries.push({ constraint: s[1]!, oomMemcg: s[2] ?? null, taskMemcg: s[3]!, pid: Number(s[4]) });
  }
  return {
    killed: [...killed].map(([pid, comm]) => ({ pid, comm })),
    killedLines,
    triggers,
    summaries,
    span: first === null || last === null ? null : [first, last],
  };
}

const parseJsonLines = <T>(text: string): T[] =>
  text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as T;
      } catch {
        return { unparsable: l } as T;
      }
    });

interface LogLine {
  time?: string;
  level: string;
  msg: string;
}

/** One case as it came back: its files, its events, the kernel's report. */
class CaseRun {
  constructor(
    readonly boot: BootRun,
    readonly phase: PhaseSpec,
    readonly name: string,
  ) {}
  file(name: string): string | undefined {
    return this.boot.result.files[`${this.name}/${name}`];
  }
  num(name: string): number {
    return Number((this.file(name) ?? "").trim() || NaN);
  }
  lines(name: string): string[] {
    return (this.file(name) ?? "").split("\n").filter((l) => l.trim());
  }
  get ran(): boolean {
    return this.file("lines.after") !== undefined;
  }
  get events(): NdjsonEvent[] {
    const all = this.boot.phaseLines(this.phase.name);
    return all.slice(this.num("lines.before"), this.num("lines.after")).map((l) => JSON.parse(l) as NdjsonEvent);
  }
  get kernel(): KernelReport {
    return parseKernelLog(this.file("dmesg.txt") ?? "");
  }
  /** /proc/vmstat oom_kill over the case. */
  get vmstatDelta(): number {
    return this.num("vmstat.after") - this.num("vmstat.before");
  }
  /** A memory.events-style file as a map. */
  counters(name: string): Record<string, number> {
    return Object.fromEntries(this.lines(name).map((l) => l.split(" ")).map(([k, v]) => [k!, Number(v)]));
  }
  why(): string {
    const r = this.boot.result;
    const files = Object.entries(r.files)
      .filter(([k]) => k.startsWith(`${this.name}/`) && !k.endsWith("/dmesg.txt"))
      .map(([k, v]) => `  ${k}: ${v.length > 600 ? `${v.slice(0, 600)}[...]` : v.trimEnd()}`)
      .join("\n");
    const oomLines = (this.file("dmesg.txt") ?? "")
      .split("\n")
      .filter((l) => /oomtrace-matrix|invoked oom-killer|CPU: \d+ .*PID|oom-kill:|Killed process|Tasks in|lost|soft lockup/.test(l));
    const window = this.boot.phaseLines(this.phase.name).slice(this.num("lines.before"), this.num("lines.after"));
    return [
      `case ${this.name} (phase ${this.phase.name}) in ${this.boot.spec.id}`,
      files,
      `--- kernel log, OOM lines (${oomLines.length})`,
      clip(oomLines, 40),
      `--- the case's NDJSON (${window.length} lines)`,
      clip(window, 40),
      this.boot.phaseReport(this.phase.name),
    ].join("\n");
  }
}

const clip = (lines: string[], n: number) =>
  lines.length > n ? [...lines.slice(0, n / 2), `[... ${lines.length - n} more ...]`, ...lines.slice(-n / 2)].join("\n") : lines.join("\n");

class BootRun {
  constructor(
    readonly spec: BootSpec,
    readonly result: GuestResult,
  ) {}
  phaseLines(phase: string): string[] {
    return (this.result.files[`${phase}.ndjson`] ?? "").split("\n").filter((l) => l.trim());
  }
  phaseLog(phase: string): LogLine[] {
    return parseJsonLines<LogLine>(this.result.files[`${phase}.log`] ?? "").map((l) =>
      "unparsable" in l ? { level: "raw", msg: String((l as { unparsable: string }).unparsable) } : l,
    );
  }
  /** The agent's log and NDJSON, the guest's output and the console's tail: for every failure message. */
  phaseReport(phase: string): string {
    const f = this.result.files;
    const nd = this.phaseLines(phase);
    return [
      `--- agent ${phase}: ${f[`${phase}.args`]?.trim() ?? ""} | ${f[`${phase}.attach`]?.trim() ?? "never started"} | exit ${f[`${phase}.status`]?.trim() ?? "?"}`,
      `--- agent ${phase} log`,
      clip((f[`${phase}.log`] ?? "").split("\n"), 80),
      `--- agent ${phase} NDJSON (${nd.length} lines)`,
      clip(nd, 30),
      this.report(),
    ].join("\n");
  }
  report(): string {
    const r = this.result;
    return [
      `--- boot ${this.spec.id}: exit ${r.exitCode} after ${(r.durationMs / 1000).toFixed(1)} s${r.timedOut ? " (TIMED OUT)" : ""}`,
      `--- run.sh\n${r.runLog.trimEnd()}`,
      `--- init\n${r.initLog.trimEnd()}`,
      `--- guest output\n${clip(r.output.split("\n"), 120)}`,
      `--- console (tail)\n${r.console.split("\n").slice(-40).join("\n")}`,
    ].join("\n");
  }
}

// ---------------------------------------------------------------------------------------------
// Cases

interface CaseSpec {
  name: string;
  title: string;
  /** The guest shell that runs it (functions of guest/lib.sh). */
  shell: string;
  check: (c: CaseRun) => void;
  /** Checks kept apart from `check`, each its own test: the kernel's side and the agent's fail apart. */
  more?: { title: string; check: (c: CaseRun) => void }[];
}

interface PhaseSpec {
  name: string;
  /** "bpftrace" (the host's 0.17) or the 0.23 wrapper. */
  bpftrace: string;
  flags: string[];
  /** The probe the agent must choose or be forced to. */
  probe: Probe;
  /** Also run `oomtrace probe` with the same flags, and check its choice. */
  printProbe: boolean;
  cases: CaseSpec[];
}

interface BootSpec {
  id: string;
  kernel: GuestKernel;
  cgroup: "v1" | "v2";
  memMb: number;
  /** qemu is killed after this: boots took 285–435 s on a quiet 2-core host, and 600 s was not enough on a loaded one. */
  timeoutMs: number;
  phases: PhaseSpec[];
}

const kernelName = (k: GuestKernel) => (k === "bookworm-6.1" ? "6.1" : "6.12");
const constraintSource = (p: Probe) => (p === "tracepoint" ? "stack" : "kernel");

/** What every bpftrace event of a case must carry. */
function expectCommon(c: CaseRun, e: NdjsonEvent, why: string): void {
  expect(e.kind, why).toBe("oom_kill");
  expect(e.node, why).toBe("vm");
  expect(e.source, why).toBe("bpftrace");
  expect(e.probe, why).toBe(c.phase.probe);
  expect(e.attribution, why).toBe("exact");
  // `time` comes from the kernel's timestamp: it falls inside the case.
  const t = Date.parse(e.time);
  expect(t, why).toBeGreaterThanOrEqual(Date.parse(c.file("start")!.trim()) - 1000);
  expect(t, why).toBeLessThanOrEqual(Date.parse(c.file("end")!.trim()) + 1000);
}

function expectWorkload(e: NdjsonEvent, w: Workload, why: string): void {
  expect(e.cgroup.path, why).toBe(w.container);
  expect(e.workload.kind, why).toBe("kubernetes");
  expect(e.pod.uid, why).toBe(w.uid);
  expect(e.pod.qos, why).toBe(w.qos);
  expect(e.container.id, why).toBe(w.id);
  expect(e.container.runtime, why).toBe(w.runtime);
}

/** One kill, one event, and the kernel agrees on the victim: returns the event. */
function single(c: CaseRun, why: string): NdjsonEvent {
  expect(c.ran, why).toBe(true);
  const k = c.kernel;
  expect(c.vmstatDelta, why).toBe(1);
  expect(k.killed.map((x) => x.pid), why).toEqual([c.num("victim")]);
  const events = c.events;
  expect(events.length, why).toBe(1);
  const e = events[0]!;
  expectCommon(c, e, why);
  expect(e.victim.pid, why).toBe(c.num("victim"));
  expect(e.victim.comm, why).toBe(k.killed[0]!.comm);
  return e;
}

/** The trigger the kernel printed ("CPU: 0 PID: n Comm: c" under "invoked oom-killer"). */
function expectKernelTrigger(c: CaseRun, e: NdjsonEvent, why: string): void {
  const t = c.kernel.triggers;
  expect(t.length, why).toBe(1);
  expect(e.trigger.tid, why).toBe(t[0]!.tid);
  expect(e.trigger.comm, why).toBe(t[0]!.comm);
}

/** Case 2, 3, 6, 7: a grower alone in a container; the limit on the container, the pod or kubepods. */
function memcgHog(
  name: string,
  title: string,
  w: Workload,
  limitAt: { path: string; scope: "container" | "pod" | "kubepods" },
  mib = 48,
): CaseSpec {
  return {
    name,
    title,
    shell: `memcg_hog ${name} ${rel(w.container)} ${rel(limitAt.path)} ${mib}`,
    check(c) {
      const why = c.why();
      const e = single(c, why);
      expect(c.num("status"), why).toBe(137);
      expect(e.victim.comm, why).toBe("oomt-hog");
      expect(e.trigger.pid, why).toBe(c.num("victim"));
      expect(e.trigger.comm, why).toBe("oomt-hog");
      expectKernelTrigger(c, e, why);
      expect(e.constraint, why).toBe("memcg");
      expect(e.constraint_source, why).toBe(constraintSource(c.phase.probe));
      expect(e.scope, why).toBe(limitAt.scope);
      expect(e.cgroup.oom_path, why).toBe(limitAt.path);
      expectWorkload(e, w, why);
      expect(e.total_pages, why).toBe(c.phase.probe === "tracepoint" ? null : (mib * 1048576) / PAGE);
      // The kernel's own word: its summary (when not rate limited) and the counters.
      for (const s of c.kernel.summaries) {
        expect(s.constraint, why).toBe("CONSTRAINT_MEMCG");
        expect(s.oomMemcg, why).toBe(limitAt.path);
        expect(s.taskMemcg, why).toBe(w.container);
      }
      expect(c.counters("memory.events").oom_kill, why).toBe(1);
      // The OOM happened at the limit's level (memory.events counts a subtree's events upwards).
      if (c.boot.spec.cgroup === "v2") {
        expect((c.counters("limit.memory.events").oom ?? 0) - (c.counters("limit.memory.events.before").oom ?? 0), why).toBe(1);
      }
    },
  };
}

/**
 * The first kill after a tracepoint probe attached, in a cgroup outside Kubernetes (scope
 * "cgroup"). bpftrace loads kallsyms the first time it symbolizes a kstack; under emulation that
 * took longer than the 5 s the agent keeps cgroup lines, and this kill lost its cgroup (6.12, 1
 * run in 3), until the probe resolved a symbol from BEGIN (right after it says ready, so bpftrace
 * loads kallsyms before it reads any record of this kill).
 */
function firstTracepointKill(name: string): CaseSpec {
  const path = "/oomtrace-first";
  return {
    name,
    title: "the first kill after attach, in a cgroup outside Kubernetes: scope cgroup",
    shell: `memcg_hog ${name} ${rel(path)} ${rel(path)} 32`,
    check(c) {
      const why = c.why();
      expect(c.ran, why).toBe(true);
      expect(c.vmstatDelta, why).toBe(1);
      const events = c.events;
      expect(events.length, why).toBe(1);
      const e = events[0]!;
      expect(e.victim.pid, why).toBe(c.num("victim"));
      expect(e.victim.comm, why).toBe("oomt-hog");
      expect(e.constraint, why).toBe("memcg");
      expectCommon(c, e, why);
      expect(e.cgroup.path, why).toBe(path);
      expect(e.cgroup.oom_path, why).toBe(path);
      expect(e.scope, why).toBe("cgroup");
      expect(e.workload.kind, why).toBe("other");
      expect(e.pod.uid, why).toBeNull();
      expect(e.container.id, why).toBeNull();
    },
  };
}

/** Case 1 (and 7, 0.23): a grower with oom_score_adj 1000 exhausts the guest's RAM. */
function globalHog(name: string): CaseSpec {
  return {
    name,
    title: "global OOM: the hog (oom_score_adj 1000) is the victim; constraint and scope global, total_pages = RAM + swap",
    shell: `global_hog ${name}`,
    check(c) {
      const why = c.why();
      const e = single(c, why);
      expect(c.num("status"), why).toBe(137);
      expect(e.victim.comm, why).toBe("oomt-ghog");
      expect(e.victim.oom_score_adj, why).toBe(1000);
      expectKernelTrigger(c, e, why);
      expect(e.constraint, why).toBe("global");
      expect(e.constraint_source, why).toBe(constraintSource(c.phase.probe));
      expect(e.scope, why).toBe("global");
      expect(e.cgroup.oom_path, why).toBeNull();
      expect(e.cgroup.path, why).toBe("/");
      for (const s of c.kernel.summaries) expect(s.constraint, why).toBe("CONSTRAINT_NONE");
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(c.file("meminfo") ?? "")?.[1]);
      const pages = ((kb("MemTotal") + kb("SwapTotal")) * 1024) / PAGE;
      if (c.phase.probe === "tracepoint") expect(e.total_pages, why).toBeNull();
      else {
        expect(e.total_pages, why).not.toBeNull();
        expect(Math.abs(e.total_pages! - pages) / pages, why).toBeLessThan(0.01);
      }
    },
  };
}

/** Case 5, memcg: the holder (oom_score_adj 1000) dies, the allocator triggered. */
function triggerMemcg(name: string, w: Workload): CaseSpec {
  return {
    name,
    title: "trigger ≠ victim (memcg): victim = the holder, trigger = the allocator",
    shell: `trigger_memcg ${name} ${rel(w.container)}`,
    check(c) {
      const why = c.why();
      const e = single(c, why);
      expect(c.num("status"), why).toBe(137);
      expect(c.num("trigger.status"), why).toBe(0);
      expect(e.victim.comm, why).toBe("oomt-holder");
      expect(e.trigger.pid, why).toBe(c.num("trigger"));
      expect(e.trigger.comm, why).toBe("oomt-alloc");
      expectKernelTrigger(c, e, why);
      expect(e.constraint, why).toBe("memcg");
      expect(e.constraint_source, why).toBe(constraintSource(c.phase.probe));
      expect(e.scope, why).toBe("container");
      expect(e.cgroup.oom_path, why).toBe(w.container);
      expectWorkload(e, w, why);
    },
  };
}

/** Case 5, global: the holder (oom_score_adj 1000) dies; the allocator was meant to trigger. */
function triggerGlobal(name: string): CaseSpec {
  return {
    name,
    title: "trigger ≠ victim (global): victim = the holder, trigger = the allocator, as the kernel reports it",
    shell: `trigger_global ${name}`,
    check(c) {
      const why = c.why();
      const e = single(c, why);
      expect(c.num("status"), why).toBe(137);
      expect(c.num("trigger.status"), why).toBe(0);
      expect(e.victim.comm, why).toBe("oomt-gholder");
      expect(e.constraint, why).toBe("global");
      expect(e.scope, why).toBe("global");
      expectKernelTrigger(c, e, why);
      // Any task allocating when memory runs out can be the kernel's trigger; the allocator is.
      expect(e.trigger.pid, why).toBe(c.num("trigger"));
      expect(e.trigger.comm, why).toBe("oomt-galloc");
    },
  };
}

/** Case 4 and 8: memory.oom.group=1 on a container with SLEEPERS sleep processes and a grower. */
function groupKill(
  name: string,
  title: string,
  w: Workload,
  sleepers: number,
  opts: { min: number },
): CaseSpec {
  const killedSet = (c: CaseRun) => [...c.lines("sleepers").map(Number), c.num("grower")].sort((a, b) => a - b);
  return {
    name,
    title,
    shell: `group_kill ${name} ${rel(w.container)} ${sleepers}`,
    check(c) {
      // The kernel side: one decision killed every task of the container, each counted, fast.
      const why = c.why();
      expect(c.ran, why).toBe(true);
      const k = c.kernel;
      const want = killedSet(c);
      expect(want.length, why).toBeGreaterThanOrEqual(opts.min);
      expect(k.killed.map((x) => x.pid).sort((a, b) => a - b), why).toEqual(want);
      const ev = c.counters("memory.events");
      expect(ev.oom_group_kill, why).toBe(1);
      // The kernel counts the chosen victim twice (killed as chosen, then again as a member).
      expect(ev.oom_kill, why).toBe(want.length + 1);
      expect(c.vmstatDelta, why).toBe(want.length + 1);
      expect(c.lines("left"), why).toEqual([]);
      // The kill loop prints each "Killed process" line on the serial console: 1.6–3.9 s for 251 tasks.
      expect(k.span![1] - k.span![0], why).toBeLessThan(10);
    },
    more: [
      {
        title: `${name}: the agent reports each of the ${sleepers + 1} killed tasks once, from bpftrace, attributed to the container, one decision, no warning`,
        check(c) {
          const s = groupSummary(c, w, killedSet(c));
          expect(s, c.why()).toEqual(groupSummaryWanted(killedSet(c).length));
          for (const e of c.events) expectCommon(c, e, `${c.why()}\n--- this event: ${JSON.stringify(e)}`);
        },
      },
    ],
  };
}

/** What went right and wrong in a group kill's events, as one comparable object. */
function groupSummary(c: CaseRun, w: Workload, killed: number[]) {
  const events = c.events;
  const pids = events.map((e) => e.victim.pid);
  const count = (p: (e: NdjsonEvent) => boolean) => events.filter(p).length;
  const start = Date.parse(c.file("start")?.trim() ?? "");
  const end = Date.parse(c.file("end")?.trim() ?? "");
  return {
    killedByKernel: killed.length,
    events: events.length,
    duplicates: [...new Set(pids.filter((p, i) => pids.indexOf(p) !== i))],
    missing: killed.filter((p) => !pids.includes(p)),
    extra: [...new Set(pids.filter((p) => !killed.includes(p)))],
    notFromBpftrace: count((e) => e.source !== "bpftrace"),
    notAttributedToTheContainer: count((e) => e.cgroup.path !== w.container || e.container.id !== w.id || e.pod.uid !== w.uid),
    constraintNotMemcg: count((e) => e.constraint !== "memcg"),
    scopeNotContainer: count((e) => e.scope !== "container"),
    oomPathNotTheContainer: count((e) => e.cgroup.oom_path !== w.container),
    triggerNotTheGrower: count((e) => e.trigger.pid !== c.num("grower")),
    // Only a decision record gives the domain's size; tracepoint kernels have none.
    totalPagesNotTheLimit: count((e) => e.total_pages !== (c.phase.probe === "tracepoint" ? null : c.num("limit") / PAGE)),
    decisions: new Set(events.map((e) => e.decision)).size,
    agentWarnings: c.boot
      .phaseLog(c.phase.name)
      .filter((l) => Date.parse(l.time ?? "") >= start && Date.parse(l.time ?? "") <= end && !["info", "debug", "trace"].includes(l.level))
      .map((l) => l.msg),
  };
}

function groupSummaryWanted(n: number): ReturnType<typeof groupSummary> {
  return {
    killedByKernel: n,
    events: n,
    duplicates: [],
    missing: [],
    extra: [],
    notFromBpftrace: 0,
    notAttributedToTheContainer: 0,
    constraintNotMemcg: 0,
    scopeNotContainer: 0,
    oomPathNotTheContainer: 0,
    triggerNotTheGrower: 0,
    totalPagesNotTheLimit: 0,
    decisions: 1,
    agentWarnings: [],
  };
}

/** Case 8: N containers of one pod, 8 MiB each, one grower in each, all at once. */
function fan(name: string, pod: Workload, n: number): CaseSpec {
  return {
    name,
    title: `${n} container OOMs at once: one event each, in its own container`,
    shell: `fan ${name} ${rel(pod.pod)} ${n}`,
    check(c) {
      const why = c.why();
      expect(c.ran, why).toBe(true);
      const cgroups = c.lines("cgroups");
      const pids = cgroups.map((_, i) => c.num(`pids/${i}`));
      expect(cgroups.length, why).toBe(n);
      expect(c.kernel.killed.map((x) => x.pid).sort((a, b) => a - b), why).toEqual([...pids].sort((a, b) => a - b));
      expect(c.vmstatDelta, why).toBe(n);
      for (const l of c.lines("memory.events")) expect(l.split(" ")[1], why).toBe("1");
      const events = c.events;
      expect(events.map((e) => e.victim.pid).sort((a, b) => a - b), why).toEqual([...pids].sort((a, b) => a - b));
      for (const e of events) {
        const i = pids.indexOf(e.victim.pid);
        const w2 = { ...pod, container: cgroups[i]!, id: cgroups[i]!.split("/").at(-1)! };
        const w = `${why}\n--- this event: ${JSON.stringify(e)}`;
        expectCommon(c, e, w);
        expectWorkload(e, w2, w);
        expect(e.victim.comm, w).toBe(`oomt-fan${i}`);
        expect(e.trigger.pid, w).toBe(e.victim.pid);
        expect(e.constraint, w).toBe("memcg");
        expect(e.scope, w).toBe("container");
        expect(e.cgroup.oom_path, w).toBe(cgroups[i] ?? "?");
        expect(e.total_pages, w).toBe(2048);
        expect(e.decision, w).not.toBe(`${e.kernel_time_ns}-${e.trigger.tid}`);
      }
      expect(new Set(events.map((e) => e.decision)).size, why).toBe(n);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Boots

/** bpftrace 0.17, the agent's own choice: cases 1, 2, 4, 5, 6, 8. */
function mainBoot(kernel: GuestKernel): BootSpec {
  const k = kernelName(kernel);
  const sd = systemdWorkload(`c2-systemd-${k}`, "burstable");
  const fs = cgroupfsWorkload(`c2-cgroupfs-${k}`, "besteffort");
  const pod = cgroupfsWorkload(`c6-pod-${k}`, "burstable");
  const kube = systemdWorkload(`c6-kubepods-${k}`, "guaranteed");
  return {
    id: `main-${k}`,
    kernel,
    cgroup: "v2",
    memMb: 512,
    timeoutMs: 900_000,
    phases: [
      {
        name: "auto",
        bpftrace: "bpftrace",
        flags: [],
        probe: "fentry",
        printProbe: true,
        cases: [
          memcgHog("c2-systemd", "memcg OOM, systemd layout (containerd, burstable): pod, container, runtime, scope container", sd, {
            path: sd.container,
            scope: "container",
          }),
          memcgHog("c2-cgroupfs", "memcg OOM, cgroupfs layout (besteffort): pod, container, runtime null, scope container", fs, {
            path: fs.container,
            scope: "container",
          }),
          groupKill("c4-group", "memory.oom.group: 3 sleepers + 1 grower, killed in one decision", cgroupfsWorkload(`c4-group-${k}`, "burstable"), 3, {
            min: 4,
          }),
          triggerMemcg("c5-memcg", cgroupfsWorkload(`c5-memcg-${k}`, "burstable")),
          memcgHog("c6-pod", "limit on the pod (cgroupfs): scope pod, oom_path the pod", pod, { path: pod.pod, scope: "pod" }),
          memcgHog("c6-kubepods", "limit on /kubepods.slice (systemd, guaranteed pod): scope kubepods", kube, {
            path: "/kubepods.slice",
            scope: "kubepods",
          }),
          globalHog("c1-global"),
          triggerGlobal("c5-global"),
          fan("c8-fan", cgroupfsWorkload(`c8-fan-${k}`, "burstable"), 20),
          groupKill(
            "c8-storm",
            "storm: memory.oom.group on a container with 250 sleepers + 1 grower",
            cgroupfsWorkload(`c8-storm-${k}`, "besteffort"),
            250,
            { min: 200 },
          ),
        ],
      },
    ],
  };
}

/** Forced tracepoint and kprobe, and bpftrace 0.23 choosing for itself: cases 7 and 0.23. */
function modesBoot(kernel: GuestKernel): BootSpec {
  const k = kernelName(kernel);
  const tp = systemdWorkload(`t7-memcg-${k}`, "burstable");
  const kp = cgroupfsWorkload(`k7-memcg-${k}`, "burstable");
  const b23 = systemdWorkload(`b23-memcg-${k}`, "besteffort");
  return {
    id: `modes-${k}`,
    kernel,
    cgroup: "v2",
    memMb: 512,
    timeoutMs: 900_000,
    phases: [
      {
        name: "tracepoint",
        bpftrace: "bpftrace",
        flags: ["--probe-mode", "tracepoint"],
        probe: "tracepoint",
        printProbe: false,
        cases: [
          firstTracepointKill("t7-first"),
          memcgHog("t7-memcg", "forced tracepoint: memcg OOM (systemd layout), constraint from the stack", tp, {
            path: tp.container,
            scope: "container",
          }),
          globalHog("t7-global"),
          groupKill(
            "t7-group",
            "forced tracepoint: memory.oom.group with 20 sleepers + 1 grower, one decision told by the members' stacks",
            cgroupfsWorkload(`t7-group-${k}`, "besteffort"),
            20,
            { min: 21 },
          ),
        ],
      },
      {
        name: "kprobe",
        bpftrace: "bpftrace",
        flags: ["--probe-mode", "kprobe"],
        probe: "kprobe",
        printProbe: false,
        cases: [
          memcgHog("k7-memcg", "forced kprobe: memcg OOM (cgroupfs layout), constraint from the kernel", kp, {
            path: kp.container,
            scope: "container",
          }),
          globalHog("k7-global"),
        ],
      },
      {
        name: "bt023",
        bpftrace: BPFTRACE_023,
        flags: [],
        probe: "fentry",
        printProbe: true,
        cases: [
          memcgHog("b23-memcg", "bpftrace 0.23: memcg OOM (systemd layout, besteffort)", b23, { path: b23.container, scope: "container" }),
          globalHog("b23-global"),
        ],
      },
    ],
  };
}

/** Case 3: cgroup v1 (memory controller alone); only 6.1 has it (6.12: CONFIG_MEMCG_V1 unset). */
function v1Boot(): BootSpec {
  const c = cgroupfsWorkload("c3-v1", "burstable");
  const p = cgroupfsWorkload("c3-v1-pod", "besteffort");
  return {
    id: "v1-6.1",
    kernel: "bookworm-6.1",
    cgroup: "v1",
    memMb: 512,
    timeoutMs: 450_000,
    phases: [
      {
        name: "auto",
        bpftrace: "bpftrace",
        flags: [],
        probe: "fentry",
        printProbe: false,
        cases: [
          memcgHog("c3-v1", "cgroup v1: memcg OOM in a kubelet cgroupfs path under /sys/fs/cgroup/memory", c, {
            path: c.container,
            scope: "container",
          }),
          memcgHog("c3-v1-pod", "cgroup v1: limit on the pod: scope pod", p, { path: p.pod, scope: "pod" }),
        ],
      },
    ],
  };
}

/** Longest first: they run two at a time. */
const BOOTS: BootSpec[] = [modesBoot("trixie-6.12"), modesBoot("bookworm-6.1"), mainBoot("trixie-6.12"), mainBoot("bookworm-6.1"), v1Boot()];

function guestScript(b: BootSpec): string {
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const parts = [`AGENT=${q(AGENT)}`, `MEMPY=${q(MEMPY)}`, `. ${q(LIB)}`, "uname -r >uname.txt", "warm"];
  for (const p of b.phases) {
    parts.push(`if agent_start ${p.name} ${q(p.bpftrace)} ${p.printProbe ? 1 : 0} ${p.flags.map(q).join(" ")}; then`);
    for (const c of p.cases) parts.push(`  ${c.shell}`);
    parts.push("fi", "agent_stop");
  }
  parts.push('note "done"');
  return parts.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Running the boots

const only = process.env.OOMTRACE_VM_ONLY?.split(",").map((s) => s.trim());
const selected = BOOTS.filter((b) => !only || only.includes(b.id));
const runs = new Map<string, Promise<BootRun>>();
const release: Partial<Record<GuestKernel, string>> = {};
let setupError: Error | null = null;

/** Starts `boots` with at most `limit` at once; each promise settles when its boot is done. */
function schedule(boots: BootSpec[], limit: number): Map<string, Promise<BootRun>> {
  const out = new Map<string, Promise<BootRun>>();
  let running = 0;
  const queue: (() => void)[] = [];
  const slot = () =>
    new Promise<void>((resolve) => {
      if (running < limit) {
        running++;
        resolve();
      } else queue.push(() => (running++, resolve()));
    });
  const release = () => {
    running--;
    queue.shift()?.();
  };
  for (const b of boots) {
    out.set(
      b.id,
      (async () => {
        await slot();
        try {
          const started = Date.now();
          const result = await bootGuest({ kernel: b.kernel, script: guestScript(b), cgroup: b.cgroup, memMb: b.memMb, timeoutMs: b.timeoutMs });
          console.error(`vm matrix: ${b.id} done in ${((Date.now() - started) / 1000).toFixed(1)} s (exit ${result.exitCode})\n${result.output.trimEnd()}`);
          return new BootRun(b, result);
        } finally {
          release();
        }
      })(),
    );
  }
  return out;
}

/**
 * Copies the agent to CACHE/vm-agent/oomtrace-<sha256>, named by its content, and returns that path.
 * The checkout may be under /tmp (a CI clone), which the guests cover with their own tmpfs; and a
 * rebuild of dist/oomtrace during a run replaces the file under the guests' 9p cache, after which
 * the compiled binary no longer finds its embedded code and runs as plain bun (seen here: `error:
 * Script not found "vm"`). A copy per content is never replaced. Files there older than a day go.
 */
function stageAgent(): string {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run bun run build first`);
  const dir = join(CACHE, "vm-agent");
  if (/^\/(tmp|run|var\/tmp|mnt)(\/|$)/.test(dir)) throw new Error(`${dir}: the guests have their own tmpfs there; set OOMTRACE_CACHE elsewhere`);
  mkdirSync(dir, { recursive: true });
  const hash = new Bun.CryptoHasher("sha256").update(readFileSync(BUILT)).digest("hex").slice(0, 16);
  const staged = join(dir, `oomtrace-${hash}`);
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (p !== staged && Date.now() - statSync(p).mtimeMs > 86_400_000) rmSync(p, { force: true });
  }
  if (!existsSync(staged)) {
    copyFileSync(BUILT, `${staged}.tmp${process.pid}`);
    renameSync(`${staged}.tmp${process.pid}`, staged);
  }
  // The guest helpers, likewise (small: copied every run, named by content too).
  for (const [src, set] of [
    [LIB_SRC, (p: string) => (LIB = p)],
    [MEMPY_SRC, (p: string) => (MEMPY = p)],
  ] as const) {
    const text = readFileSync(src);
    const p = join(dir, `${src.split("/").at(-1)}-${new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 16)}`);
    if (!existsSync(p)) {
      copyFileSync(src, `${p}.tmp${process.pid}`);
      renameSync(`${p}.tmp${process.pid}`, p);
    }
    set(p);
  }
  return staged;
}

/** Reads the binaries the guests load over 9p once on the host, so that a cold host disk does not slow the first boots. */
async function warmHostCache(): Promise<void> {
  const files = [AGENT, "/usr/bin/bpftrace", "/usr/bin/python3.11"];
  const glob = new Bun.Glob("{libLLVM,libclang-cpp,libbpf,libbcc}*.so*");
  for (const dir of ["/usr/lib/x86_64-linux-gnu", `${CACHE}/trixie-root/usr/lib/x86_64-linux-gnu`]) {
    if (existsSync(dir)) for (const f of glob.scanSync({ cwd: dir, followSymlinks: false })) files.push(join(dir, f));
  }
  await Bun.spawn(["cat", ...files.filter(existsSync)], { stdout: "ignore", stderr: "ignore" }).exited;
}

async function boot(id: string): Promise<BootRun> {
  if (setupError) throw setupError;
  const r = runs.get(id);
  if (!r) throw new Error(`boot ${id} was not started`);
  return r;
}

const suiteStart = Date.now();

describe.skipIf(process.getuid?.() !== 0)("kernel matrix (qemu guests, scripts/vm)", () => {
  beforeAll(async () => {
    try {
      AGENT = stageAgent();
      if (selected.some((b) => b.phases.some((p) => p.bpftrace === BPFTRACE_023)) && !existsSync(BPFTRACE_023)) {
        const p = Bun.spawn(["sh", join(import.meta.dir, "../../scripts/bpftrace-trixie.sh")], { stdout: "pipe", stderr: "pipe" });
        const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
        if (code !== 0 || !existsSync(BPFTRACE_023)) throw new Error(`scripts/bpftrace-trixie.sh failed (${code}):\n${err}`);
      }
      const kernels = [...new Set(selected.map((b) => b.kernel))];
      const dirs = await fetchKernels(...kernels);
      kernels.forEach((k, i) => (release[k] = readFileSync(join(dirs[i]!, "release"), "utf8").trim()));
      await warmHostCache();
    } catch (e) {
      setupError = e as Error;
      throw e;
    }
    for (const [id, p] of schedule(selected, PARALLEL)) {
      p.catch(() => {}); // awaited by the tests; not an unhandled rejection meanwhile
      runs.set(id, p);
    }
  }, 900_000);

  afterAll(async () => {
    const done = await Promise.allSettled([...runs.values()]);
    const lines = done.map((d) => {
      if (d.status === "rejected") return `  ${String(d.reason)}`;
      const b = d.value;
      const phases = b.spec.phases.map((p) => `${p.name} ${b.result.files[`${p.name}.attach`]?.trim() ?? "-"}`).join(", ");
      return `  ${b.spec.id}: ${(b.result.durationMs / 1000).toFixed(1)} s, exit ${b.result.exitCode} (agents: ${phases})`;
    });
    console.error(`vm matrix: ${((Date.now() - suiteStart) / 1000).toFixed(1)} s in all, ${PARALLEL} at a time\n${lines.join("\n")}`);
  });

  for (const b of BOOTS) {
    const skip = !selected.includes(b);
    describe(`${b.id} (${b.kernel}, cgroup ${b.cgroup})`, () => {
      test.skipIf(skip)(
        "the guest ran its script to the end on the expected kernel",
        async () => {
          const r = await boot(b.id);
          const why = r.report();
          expect(r.result.timedOut, why).toBe(false);
          expect(r.result.exitCode, why).toBe(0);
          expect(r.result.files["uname.txt"]?.trim(), why).toBe(release[b.kernel]);
        },
        TEST_MS,
      );

      for (const p of b.phases) {
        test.skipIf(skip)(
          `agent ${p.name} (${p.flags.join(" ") || "auto"}${p.bpftrace === "bpftrace" ? ", bpftrace 0.17" : ", bpftrace 0.23"}): attaches ${p.probe}, warns of nothing, stops with 0`,
          async () => {
            const r = await boot(b.id);
            const f = r.result.files;
            const why = r.phaseReport(p.name);
            expect(f[`${p.name}.attach`] ?? "never started", why).toStartWith("attached");
            if (p.printProbe) {
              expect(f[`${p.name}.probe-rc`]?.trim(), why).toBe("0");
              expect(/^\/\/ chosen: (\S+)$/m.exec(f[`${p.name}.bt`] ?? "")?.[1], why).toBe(p.probe);
            }
            const log = r.phaseLog(p.name);
            expect(log.find((l) => l.msg.startsWith("probe attached"))?.msg, why).toBe(`probe attached: ${p.probe}`);
            // Anything the agent warned about is a finding.
            const alarms = log.filter((l) => !["info", "debug", "trace", "success", "log"].includes(l.level));
            expect(alarms, why).toEqual([]);
            // The agent and bpftrace at oom_score_adj -1000: never the victim of a global OOM.
            const procs = (f[`${p.name}.procs`] ?? "").split("\n").filter((l) => l.trim());
            expect(procs.length, why).toBeGreaterThanOrEqual(1);
            for (const l of procs) expect(l.split(" ").at(-1), why).toBe("-1000");
            expect(f[`${p.name}.status`]?.trim(), why).toBe("0");
            // Every event belongs to a case.
            const lines = r.phaseLines(p.name);
            const covered = new Set<number>();
            for (const c of p.cases) {
              const cr = new CaseRun(r, p, c.name);
              for (let i = cr.num("lines.before"); i < cr.num("lines.after"); i++) covered.add(i);
            }
            const strays = lines.filter((_, i) => !covered.has(i));
            expect(strays, why).toEqual([]);
          },
          TEST_MS,
        );

        for (const c of p.cases) {
          test.skipIf(skip)(`${c.name}: ${c.title}`, async () => c.check(new CaseRun(await boot(b.id), p, c.name)), TEST_MS);
          for (const m of c.more ?? []) {
            test.skipIf(skip)(m.title, async () => m.check(new CaseRun(await boot(b.id), p, c.name)), TEST_MS);
          }
        }
      }
    });
  }
});
