import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DECISION_IDLE_NS, KillAssembler, type DropReason } from "../../../src/decode/assemble.ts";
import { decodeBpftraceLine } from "../../../src/decode/bpftrace-line.ts";
import { decodeRecord, type ProbeRecord } from "../../../src/decode/records.ts";
import type { KernelKill } from "../../../src/types.ts";

const FIXTURE = join(import.meta.dir, "../../fixtures/bpftrace-0.17-trigger-not-victim.ndjson");
const PATH = "/process_api/fcc5832b995b21c77baadb9a54f8e4d5/exp2";
const UNLIMITED = 2251799813685247;

/** Fixture lines → probe records, through the same two decoders the agent uses. */
function fixtureRecords(): ProbeRecord[] {
  const out: ProbeRecord[] = [];
  for (const line of readFileSync(FIXTURE, "utf8").split("\n")) {
    const d = decodeBpftraceLine(line);
    if (!d.ok) throw new Error(d.error.message);
    if (d.value.type !== "value") continue;
    out.push(rec(d.value.data));
  }
  return out;
}

function rec(data: unknown[]): ProbeRecord {
  const r = decodeRecord(data);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** Chain records of one task, leaf first; each level is [name, usage, max]. */
function chain(role: "t" | "v" | "o", t: number, tid: number, levels: [string, number, number][]): ProbeRecord[] {
  return levels.map(([name, usage, max], i) => rec(["cg", t, tid, role, i, name, usage, max]));
}
const ROOT: [string, number, number] = ["", 146547, UNLIMITED];

interface MarkOpts {
  t: number;
  victim: number;
  trigger: number;
  triggerPid?: number;
  triggerComm?: string;
  killed?: 0 | 1;
  anonRss?: number;
  victimComm?: string;
  stack?: string;
}
const MEMCG_STACK = "\n        oom_kill_process+114\n        out_of_memory+532\n        mem_cgroup_out_of_memory+192\n        try_charge_memcg+1058\n";
/** A memory.oom.group member's mark: killed from oom_kill_memcg_member(). */
const MEMBER_STACK = MEMCG_STACK.replace("oom_kill_process+114", "oom_kill_memcg_member+60\n        mem_cgroup_scan_tasks+150\n        oom_kill_process+114");
const GLOBAL_STACK = "\n        oom_kill_process+114\n        out_of_memory+532\n        __alloc_pages_may_oom+265\n        __alloc_pages_slowpath+2780\n";
function mark(o: MarkOpts): ProbeRecord {
  return rec([
    "mark", o.t, o.victim, o.trigger, o.triggerPid ?? o.trigger, o.triggerComm ?? "trig", o.killed ?? 1,
    1000, o.anonRss ?? 800, 100, 0, 0, 12, 0, o.victimComm ?? "", o.stack ?? MEMCG_STACK,
  ]);
}
const exit = (t: number, tid: number, pid: number, comm: string): ProbeRecord => rec(["exit", t, tid, pid, comm]);
const dec = (t: number, victimTid: number, triggerTid: number, constraint: number, totalPages: number): ProbeRecord =>
  rec(["dec", t, victimTid, victimTid, "victim", triggerTid, triggerTid, "trig", constraint, totalPages, 0]);

function harness(exitWaitMs = 5000, probe = "tracepoint") {
  const h = {
    clock: 1_000_000,
    drops: [] as DropReason[],
    a: null as unknown as KillAssembler,
    push(rs: ProbeRecord[]): KernelKill[] {
      return rs.flatMap((r) => h.a.push(r));
    },
  };
  h.a = new KillAssembler({ probe: () => probe, now: () => h.clock, exitWaitMs, onDrop: (r) => h.drops.push(r) });
  return h;
}

const FIXTURE_KILL: KernelKill = {
  source: "bpftrace",
  probe: "tracepoint",
  kernelTimeNs: 512418896215n,
  victim: {
    pid: 4042,
    tid: 4042,
    comm: "python3",
    memory: { totalVmKb: 78008, anonRssKb: 68200, fileRssKb: 6312, shmemRssKb: 0, uid: 0, pgtablesKb: 196, oomScoreAdj: 1000 },
  },
  trigger: { pid: 4084, tid: 4084, comm: "python3" },
  constraint: "memcg",
  constraintFrom: "stack",
  cgroupPath: PATH,
  oomCgroupPath: PATH,
  totalPages: null,
  decision: "512418896215-4084",
};

describe("KillAssembler: the real memcg OOM (trigger is not the victim)", () => {
  test("(a) replayed in printed order → exactly one kill with the victim's own cgroup", () => {
    const h = harness();
    const kills = h.push(fixtureRecords());
    expect(kills).toEqual([FIXTURE_KILL]);
    h.clock += 60_000;
    expect(h.a.flush()).toEqual([]);
    expect(h.drops).toEqual([]);
  });

  test("(b) the victim's exit and chain arrive before the mark (another CPU) → the same single kill", () => {
    const rs = fixtureRecords();
    const victimSide = rs.filter((r) => r.tag === "exit" || (r.tag === "cg" && r.role === "v"));
    const triggerSide = rs.filter((r) => !victimSide.includes(r));
    expect(victimSide.length).toBe(5);
    const h = harness();
    expect(h.push(victimSide)).toEqual([]);
    const kills = h.push(triggerSide);
    expect(kills).toEqual([FIXTURE_KILL]);
    h.clock += 60_000;
    expect(h.a.flush()).toEqual([]);
    expect(h.drops).toEqual([]);
  });

  test("isPending is true between the mark and the victim's exit", () => {
    const rs = fixtureRecords();
    const h = harness();
    const markAt = rs.findIndex((r) => r.tag === "mark");
    h.push(rs.slice(0, markAt + 1));
    expect(h.a.isPending(4042)).toBe(true);
    h.push(rs.slice(markAt + 1));
    expect(h.a.isPending(4042)).toBe(false);
  });
});

describe("KillAssembler: tracepoint mode", () => {
  test("(c) victim == trigger → emitted at the mark with the trigger's chain; the later exit is swallowed", () => {
    const h = harness();
    const atMark = h.push([
      ...chain("t", 100, 700, [["leaf", 25600, 25600], ["pod", 30000, UNLIMITED], ROOT]),
      mark({ t: 100, victim: 700, trigger: 700, triggerPid: 690, triggerComm: "hog" }),
    ]);
    expect(atMark).toEqual([
      {
        source: "bpftrace",
        probe: "tracepoint",
        kernelTimeNs: 100n,
        victim: { pid: 690, tid: 700, comm: "hog", memory: { totalVmKb: 1000, anonRssKb: 800, fileRssKb: 100, shmemRssKb: 0, uid: 0, pgtablesKb: 12, oomScoreAdj: 0 } },
        trigger: { pid: 690, tid: 700, comm: "hog" },
        constraint: "memcg",
        constraintFrom: "stack",
        cgroupPath: "/pod/leaf",
        oomCgroupPath: "/pod/leaf",
        totalPages: null,
        decision: "100-700",
      },
    ]);
    const later = h.push([...chain("v", 200, 700, [["leaf", 100, 25600], ["pod", 100, UNLIMITED], ROOT]), exit(200, 700, 690, "hog")]);
    expect(later).toEqual([]);
    h.clock += 60_000;
    expect(h.a.flush()).toEqual([]);
    expect(h.drops).toEqual([]);
  });

  test("(d) mark with killed=0 → no kill, dropped as not_killed", () => {
    const h = harness();
    const kills = h.push([
      ...chain("t", 100, 700, [["leaf", 25600, 25600], ROOT]),
      mark({ t: 100, victim: 800, trigger: 700, killed: 0 }),
    ]);
    expect(kills).toEqual([]);
    expect(h.drops).toEqual(["not_killed"]);
    expect(h.a.isPending(800)).toBe(false);
    h.clock += 60_000;
    expect(h.a.flush()).toEqual([]);
    expect(h.drops).toEqual(["not_killed"]); // its trigger chain was consumed, not orphaned
  });

  test("(e) a victim that never exits → nothing until exitWaitMs, then flush() emits it without a cgroup", () => {
    const h = harness(5000);
    expect(h.push([mark({ t: 100, victim: 800, trigger: 700, victimComm: "worker", stack: GLOBAL_STACK })])).toEqual([]);
    h.clock += 4999;
    expect(h.a.flush()).toEqual([]);
    h.clock += 1;
    const kills = h.a.flush();
    expect(kills.length).toBe(1);
    expect(kills[0]!.victim).toMatchObject({ pid: 800, tid: 800, comm: "worker" });
    expect(kills[0]!.cgroupPath).toBeNull();
    expect(kills[0]!.constraint).toBe("global");
    expect(h.a.flush()).toEqual([]);
  });

  test("(e) flush(true) empties the wait at once", () => {
    const h = harness(5000);
    h.push([mark({ t: 100, victim: 800, trigger: 700 }), mark({ t: 50_000_000, victim: 801, trigger: 700 })]);
    const kills = h.a.flush(true);
    expect(kills.map((k) => k.victim.tid)).toEqual([800, 801]);
    expect(kills.every((k) => k.cgroupPath === null)).toBe(true);
    expect(h.a.flush(true)).toEqual([]);
  });

  test("(f) an exit with no mark → dropped as exit_without_mark after the wait", () => {
    const h = harness(5000);
    expect(h.push([...chain("v", 100, 900, [["x", 1, 2], ROOT]), exit(100, 900, 900, "sh")])).toEqual([]);
    h.clock += 4999;
    expect(h.a.flush()).toEqual([]);
    expect(h.drops).toEqual([]);
    h.clock += 1;
    expect(h.a.flush()).toEqual([]);
    expect(h.drops).toEqual(["exit_without_mark"]);
  });

  test("chain lines whose record never came → chain_orphaned after the wait", () => {
    const h = harness(5000);
    h.push(chain("t", 100, 700, [["leaf", 1, 2], ROOT]));
    h.clock += 5000;
    h.a.flush();
    expect(h.drops).toEqual(["chain_orphaned"]);
  });

  test("(g) a victim chain with a missing level (lost line) → cgroupPath null, not a wrong path", () => {
    const h = harness();
    const full = chain("v", 200, 800, [["ctr", 1, UNLIMITED], ["pod", 1, UNLIMITED], ["kubepods", 1, UNLIMITED], ROOT]);
    const lost = full.filter((r) => !(r.tag === "cg" && r.level === 1));
    const kills = h.push([mark({ t: 100, victim: 800, trigger: 700 }), ...lost, exit(200, 800, 800, "app")]);
    expect(kills.length).toBe(1);
    expect(kills[0]!.cgroupPath).toBeNull();
    expect(kills[0]!.victim.comm).toBe("app");
  });

  test("the trigger's cgroup is never given to a victim in another cgroup", () => {
    const h = harness();
    const kills = h.push([
      ...chain("t", 100, 700, [["a", 10, 10], ["parent", 50, UNLIMITED], ROOT]),
      mark({ t: 100, victim: 800, trigger: 700 }),
      ...chain("v", 200, 800, [["b", 40, UNLIMITED], ["parent", 50, UNLIMITED], ROOT]),
      exit(200, 800, 800, "b-app"),
    ]);
    expect(kills.length).toBe(1);
    expect(kills[0]!.cgroupPath).toBe("/parent/b");
    // Only /parent/a is at its limit and it does not hold the victim: the OOM cgroup is not guessed.
    expect(kills[0]!.oomCgroupPath).toBeNull();
  });

  test("(i) without a stack, two marks from one trigger 1 ms apart share a decision id; 10 ms apart they don't", () => {
    const h = harness();
    h.push([
      mark({ t: 1_000_000_000, victim: 801, trigger: 700, stack: "" }),
      mark({ t: 1_001_000_000, victim: 802, trigger: 700, stack: "" }),
      mark({ t: 1_011_000_000, victim: 803, trigger: 700, stack: "" }),
    ]);
    const kills = h.push([exit(2_000_000_000, 801, 801, "a"), exit(2_000_000_001, 802, 802, "b"), exit(2_000_000_002, 803, 803, "c")]);
    expect(kills.map((k) => [k.victim.tid, k.decision])).toEqual([
      [801, "1000000000-700"],
      [802, "1000000000-700"],
      [803, "1011000000-700"],
    ]);
  });

  test("(i) with a stack, group members join their trigger's decision however slow the kill loop; a chosen victim starts a new one", () => {
    const h = harness();
    h.push([
      mark({ t: 1_000_000_000, victim: 801, trigger: 700 }),
      // Each member's "Killed process" line on a serial console: tens of ms apart, 2.5 s in all.
      mark({ t: 1_040_000_000, victim: 802, trigger: 700, stack: MEMBER_STACK }),
      mark({ t: 3_500_000_000, victim: 803, trigger: 700, stack: MEMBER_STACK }),
      // The same trigger's next OOM, 1 ms later: a new decision, since it is a chosen victim's mark.
      mark({ t: 3_501_000_000, victim: 804, trigger: 700 }),
    ]);
    const kills = h.a.flush(true);
    expect(kills.map((k) => [k.victim.tid, k.decision])).toEqual([
      [801, "1000000000-700"],
      [802, "1000000000-700"],
      [803, "1000000000-700"],
      [804, "3501000000-700"],
    ]);
  });

  test("(i) group members take the OOM cgroup from the decision's first mark: by their turn, earlier victims freed memory", () => {
    const h = harness();
    const ctr = (usage: number): [string, number, number][] => [["ctr", usage, 6144], ["pod", 7000, UNLIMITED], ROOT];
    const kills = h.push([
      ...chain("t", 1_000, 700, ctr(6144)),
      mark({ t: 1_000, victim: 700, trigger: 700 }),
      ...chain("t", 2_000, 700, ctr(3000)),
      mark({ t: 2_000, victim: 801, trigger: 700, stack: MEMBER_STACK }),
      ...chain("t", 3_000, 700, ctr(1000)),
      mark({ t: 3_000, victim: 802, trigger: 700, stack: MEMBER_STACK }),
      ...chain("v", 4_000, 801, ctr(900)),
      exit(4_000, 801, 801, "a"),
      ...chain("v", 5_000, 802, ctr(800)),
      exit(5_000, 802, 802, "b"),
    ]);
    expect(kills.map((k) => [k.victim.tid, k.decision, k.cgroupPath, k.oomCgroupPath])).toEqual([
      [700, "1000-700", "/pod/ctr", "/pod/ctr"],
      [801, "1000-700", "/pod/ctr", "/pod/ctr"],
      [802, "1000-700", "/pod/ctr", "/pod/ctr"],
    ]);
  });

  test("(i) marks of two triggers at the same moment are two decisions", () => {
    const h = harness();
    h.push([mark({ t: 5_000, victim: 801, trigger: 700 }), mark({ t: 5_000, victim: 802, trigger: 701 })]);
    const kills = h.a.flush(true);
    expect(kills.map((k) => k.decision)).toEqual(["5000-700", "5000-701"]);
  });
});

describe("KillAssembler: rich mode (decision records)", () => {
  test("(h) a global decision covers the two marks its trigger makes", () => {
    const h = harness(5000, "kprobe");
    const kills = h.push([
      dec(1_000, 801, 700, 0, 131072),
      mark({ t: 2_000, victim: 801, trigger: 700, stack: "" }),
      mark({ t: 3_000, victim: 802, trigger: 700, stack: "" }),
      ...chain("v", 4_000, 801, [["svc", 1, UNLIMITED], ROOT]),
      exit(4_000, 801, 801, "one"),
      ...chain("v", 5_000, 802, [["svc", 1, UNLIMITED], ROOT]),
      exit(5_000, 802, 802, "two"),
    ]);
    expect(kills.length).toBe(2);
    for (const k of kills) {
      expect(k.probe).toBe("kprobe");
      expect(k.constraint).toBe("global");
      expect(k.constraintFrom).toBe("kernel");
      expect(k.totalPages).toBe(131072);
      expect(k.decision).toBe("1000-700");
      expect(k.oomCgroupPath).toBeNull();
      expect(k.cgroupPath).toBe("/svc");
    }
  });

  test("(h) a memcg decision with an o chain → oomCgroupPath from that chain", () => {
    const h = harness(5000, "fentry");
    const kills = h.push([
      ...chain("o", 1_000, 700, [["pod1", 25600, 25600], ["kubepods", 30000, UNLIMITED], ROOT]),
      dec(1_000, 801, 700, 3, 25600),
      mark({ t: 2_000, victim: 801, trigger: 700, stack: "" }),
      ...chain("v", 3_000, 801, [["ctr", 20000, UNLIMITED], ["pod1", 25600, 25600], ["kubepods", 30000, UNLIMITED], ROOT]),
      exit(3_000, 801, 801, "app"),
    ]);
    expect(kills.length).toBe(1);
    expect(kills[0]).toMatchObject({
      constraint: "memcg",
      constraintFrom: "kernel",
      totalPages: 25600,
      oomCgroupPath: "/kubepods/pod1",
      cgroupPath: "/kubepods/pod1/ctr",
      decision: "1000-700",
    });
  });

  test("a decision covers its trigger's marks however long the kernel takes to print its report, until the trigger's next decision", () => {
    const h = harness(5000, "fentry");
    h.push([
      dec(1_000, 801, 700, 3, 6144),
      // 1.8 s of OOM report on the console before the first mark, then members 20 ms apart.
      mark({ t: 1_800_000_000, victim: 801, trigger: 700, stack: "" }),
      mark({ t: 1_820_000_000, victim: 802, trigger: 700, stack: "" }),
      dec(9_000_000_000, 901, 700, 0, 131072),
      mark({ t: 9_100_000_000, victim: 901, trigger: 700, stack: "" }),
    ]);
    const kills = h.a.flush(true);
    expect(kills.map((k) => [k.victim.tid, k.decision, k.constraint, k.totalPages])).toEqual([
      [801, "1000-700", "memcg", 6144],
      [802, "1000-700", "memcg", 6144],
      [901, "9000000000-700", "global", 131072],
    ]);
  });

  test("a mark long after its trigger's last decision activity is not covered by it (the decision record was lost)", () => {
    const h = harness(5000, "kprobe");
    h.push([
      dec(1_000, 801, 700, 0, 131072),
      mark({ t: 2_000, victim: 801, trigger: 700, stack: "" }),
      mark({ t: 2_000 + DECISION_IDLE_NS, victim: 802, trigger: 700, stack: "" }),
    ]);
    const kills = h.a.flush(true);
    expect(kills.map((k) => [k.victim.tid, k.constraint, k.constraintFrom, k.totalPages])).toEqual([
      [801, "global", "kernel", 131072],
      [802, "unknown", "none", null],
    ]);
  });

  test("a mark before the decision record of its trigger is not covered by it", () => {
    const h = harness(5000, "kprobe");
    h.push([dec(5_000, 801, 700, 0, 131072), mark({ t: 4_000, victim: 801, trigger: 700, stack: "" })]);
    const [k] = h.a.flush(true);
    expect(k!.constraint).toBe("unknown");
  });

  test("latestNs is the newest kernel time of any record, and ignores older ones arriving late", () => {
    const h = harness(5000, "kprobe");
    expect(h.a.latestNs()).toBeNull();
    h.push([dec(5_000, 801, 700, 0, 131072), mark({ t: 4_000, victim: 801, trigger: 700, stack: "" })]);
    expect(h.a.latestNs()).toBe(5_000n);
    h.push([exit(7_000, 801, 801, "x")]);
    expect(h.a.latestNs()).toBe(7_000n);
  });

  test("without an exit, the victim's pid and comm come from the decision", () => {
    const h = harness(5000, "kprobe");
    h.push([rec(["dec", 1_000, 801, 790, "java", 700, 700, "trig", 3, 100, 0]), mark({ t: 2_000, victim: 801, trigger: 700, stack: "" })]);
    const [k] = h.a.flush(true);
    expect(k!.victim).toMatchObject({ pid: 790, tid: 801, comm: "java" });
  });
});

describe("KillAssembler: bounded state", () => {
  test("(j) 5000 marks without exits: state stays bounded, drops are counted, and it keeps working", () => {
    const h = harness();
    const emitted: KernelKill[] = [];
    for (let i = 0; i < 5000; i++) {
      // One trigger, marks 10 ms apart: only the pending map grows.
      emitted.push(...h.a.push(mark({ t: 1_000_000_000 + i * 10_000_000, victim: 10_000 + i, trigger: 700 })));
    }
    expect(emitted).toEqual([]);
    expect(h.drops.length).toBe(5000 - 4096);
    expect(h.drops.every((d) => d === "state_full")).toBe(true);
    // The oldest marks were the ones let go; the newest still wait for their exits.
    expect(h.a.isPending(10_000)).toBe(false);
    expect(h.a.isPending(14_999)).toBe(true);
    const kills = h.push([exit(99_000_000_000, 14_999, 14_999, "last")]);
    expect(kills.map((k) => [k.victim.tid, k.victim.comm])).toEqual([[14_999, "last"]]);
    expect(h.a.flush(true).length).toBe(4095);
  });
});
