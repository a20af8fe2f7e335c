import { describe, expect, test } from "bun:test";
import { SourceMerger } from "../../../src/decode/merge.ts";
import type { Constraint, KernelKill } from "../../../src/types.ts";

const MEM = { totalVmKb: 78008, anonRssKb: 68200, fileRssKb: 6312, shmemRssKb: 0, pgtablesKb: 196, uid: 0, oomScoreAdj: 1000 };
const S = 1_000_000_000n; // one second of kernel time

/** A bpftrace kill: the victim's tid is what kmsg prints as its pid. */
function bpf(tid: number, t: bigint, constraint: Constraint = "memcg"): KernelKill {
  return {
    source: "bpftrace",
    probe: "tracepoint",
    kernelTimeNs: t,
    victim: { pid: tid - 2, tid, comm: "python3", memory: MEM },
    trigger: { pid: 4084, tid: 4084, comm: "python3" },
    constraint,
    constraintFrom: "stack",
    cgroupPath: "/a/b",
    oomCgroupPath: "/a/b",
    totalPages: null,
    decision: `${t}-4084`,
  };
}

function kmsg(pid: number, t: bigint, constraint: Constraint = "memcg"): KernelKill {
  return {
    source: "kmsg",
    probe: "kmsg",
    kernelTimeNs: t,
    victim: { pid, tid: null, comm: "python3", memory: MEM },
    trigger: { pid: null, tid: null, comm: "python3" },
    constraint,
    constraintFrom: "kmsg",
    cgroupPath: "/a/b",
    oomCgroupPath: "/a/b",
    totalPages: null,
    decision: `kmsg:${t}`,
  };
}

function harness(o: { up?: boolean; pending?: Set<number>; graceMs?: number; watermark?: boolean } = {}) {
  const h = {
    clock: 50_000,
    /** Kernel time of bpftrace's newest record, when the test tracks it. */
    seen: null as bigint | null,
    up: o.up ?? true,
    pending: o.pending ?? new Set<number>(),
    confirms: [] as { kmsg: KernelKill; bpf: KernelKill; agree: boolean }[],
    duplicates: [] as KernelKill[],
    m: null as unknown as SourceMerger,
  };
  h.m = new SourceMerger({
    now: () => h.clock,
    graceMs: o.graceMs ?? 5000,
    bpftraceUp: () => h.up,
    bpftracePending: (tid) => h.pending.has(tid),
    ...(o.watermark ? { bpftraceSeenNs: () => h.seen, maxHoldMs: 30_000 } : {}),
    onConfirm: (k, b, agree) => h.confirms.push({ kmsg: k, bpf: b, agree }),
    onDuplicate: (late) => h.duplicates.push(late),
  });
  return h;
}

describe("SourceMerger", () => {
  test("bpftrace first, then kmsg of the same victim → one event, confirmed as agreeing", () => {
    const h = harness();
    const b = bpf(4042, 512n * S);
    const k = kmsg(4042, 512n * S + 300_000_000n);
    expect(h.m.push(b)).toEqual([b]);
    expect(h.m.push(k)).toEqual([]);
    h.clock += 60_000;
    expect(h.m.flush()).toEqual([]);
    expect(h.confirms).toEqual([{ kmsg: k, bpf: b, agree: true }]);
    expect(h.duplicates).toEqual([]);
  });

  test("kmsg within 5 s before the bpftrace kill still matches", () => {
    const h = harness();
    const b = bpf(4042, 512n * S);
    h.m.push(b);
    h.m.push(kmsg(4042, 512n * S - 4_999_999_999n));
    expect(h.confirms.length).toBe(1);
  });

  test("kmsg first while bpftrace is up → held; bpftrace arrives → only the bpftrace one goes out", () => {
    const h = harness();
    const k = kmsg(4042, 512n * S);
    const b = bpf(4042, 512n * S + 100_000_000n);
    expect(h.m.push(k)).toEqual([]);
    h.clock += 2000;
    expect(h.m.flush()).toEqual([]);
    expect(h.m.push(b)).toEqual([b]);
    expect(h.confirms).toEqual([{ kmsg: k, bpf: b, agree: true }]);
    h.clock += 60_000;
    expect(h.m.flush()).toEqual([]);
  });

  test("kmsg while bpftrace is down → emitted at once", () => {
    const h = harness({ up: false });
    const k = kmsg(4042, 512n * S);
    expect(h.m.push(k)).toEqual([k]);
  });

  test("kmsg while up and no bpftrace twin → emitted by flush after the grace, not before", () => {
    const h = harness({ graceMs: 5000 });
    const k = kmsg(4042, 512n * S);
    expect(h.m.push(k)).toEqual([]);
    h.clock += 4999;
    expect(h.m.flush()).toEqual([]);
    h.clock += 1;
    expect(h.m.flush()).toEqual([k]);
    expect(h.m.flush()).toEqual([]);
  });

  test("a held kmsg kill goes out when bpftrace goes down during the grace", () => {
    const h = harness();
    const k = kmsg(4042, 512n * S);
    h.m.push(k);
    h.up = false;
    expect(h.m.flush()).toEqual([k]);
  });

  test("held while bpftracePending(tid) is true, even after the grace", () => {
    const h = harness({ pending: new Set([4042]) });
    const k = kmsg(4042, 512n * S);
    expect(h.m.push(k)).toEqual([]);
    h.clock += 60_000;
    expect(h.m.flush()).toEqual([]);
    h.pending.delete(4042);
    expect(h.m.flush()).toEqual([k]);
  });

  test("a pending bpftrace kill of another task does not hold it", () => {
    const h = harness({ pending: new Set([4043]) });
    const k = kmsg(4042, 512n * S);
    h.m.push(k);
    h.clock += 5000;
    expect(h.m.flush()).toEqual([k]);
  });

  test("bpftrace arriving after its kmsg twin was emitted → dropped, onDuplicate called", () => {
    const h = harness({ up: false });
    const k = kmsg(4042, 512n * S);
    expect(h.m.push(k)).toEqual([k]);
    h.up = true;
    const late = bpf(4042, 512n * S + 2n * S);
    expect(h.m.push(late)).toEqual([]);
    expect(h.duplicates).toEqual([late]);
    expect(h.confirms).toEqual([]);
  });

  test("the same pid 10 s apart (pid reuse) → two events", () => {
    const h = harness();
    const first = bpf(4042, 512n * S);
    const second = bpf(4042, 522n * S);
    const k1 = kmsg(4042, 512n * S);
    const k2 = kmsg(4042, 522n * S);
    const out = [...h.m.push(first), ...h.m.push(k1), ...h.m.push(second), ...h.m.push(k2)];
    expect(out).toEqual([first, second]);
    expect(h.confirms.map((c) => [c.kmsg, c.bpf])).toEqual([
      [k1, first],
      [k2, second],
    ]);
  });

  test("kmsg of a reused pid 10 s after a bpftrace kill is its own event, not a confirmation", () => {
    const h = harness();
    h.m.push(bpf(4042, 512n * S));
    const k = kmsg(4042, 522n * S);
    expect(h.m.push(k)).toEqual([]);
    h.clock += 5000;
    expect(h.m.flush()).toEqual([k]);
    expect(h.confirms).toEqual([]);
  });

  test("bpftrace of a reused pid 10 s after an emitted kmsg kill is not a duplicate", () => {
    const h = harness({ up: false });
    h.m.push(kmsg(4042, 512n * S));
    h.up = true;
    const b = bpf(4042, 522n * S);
    expect(h.m.push(b)).toEqual([b]);
    expect(h.duplicates).toEqual([]);
  });

  test("kmsg's pid is matched against bpftrace's tid, not its pid", () => {
    const h = harness();
    const b = bpf(4042, 512n * S); // victim.pid is 4040
    h.m.push(b);
    h.m.push(kmsg(4040, 512n * S));
    expect(h.confirms).toEqual([]);
  });

  test("disagreement (kmsg summary memcg vs bpftrace global) → agree=false", () => {
    const h = harness();
    const b = bpf(4042, 512n * S, "global");
    const k = kmsg(4042, 512n * S, "memcg");
    h.m.push(b);
    h.m.push(k);
    expect(h.confirms).toEqual([{ kmsg: k, bpf: b, agree: false }]);
  });

  test("a bpftrace kill of unknown constraint does not disagree", () => {
    const h = harness();
    h.m.push(bpf(4042, 512n * S, "unknown"));
    h.m.push(kmsg(4042, 512n * S, "memcg"));
    expect(h.confirms.map((c) => c.agree)).toEqual([true]);
  });

  test("a group kill's chosen victim, printed twice by the kernel, is one event: both lines held, then bpftrace", () => {
    const h = harness();
    const k1 = kmsg(1456, 254n * S);
    const k2 = kmsg(1456, 256n * S);
    h.m.push(k1);
    h.m.push(k2);
    const b = bpf(1456, 254n * S - 1000n);
    expect(h.m.push(b)).toEqual([b]);
    h.clock += 60_000;
    expect(h.m.flush()).toEqual([]);
    expect(h.confirms.length).toBe(1);
  });

  test("a group kill's chosen victim printed twice, and bpftrace never reports it: one kmsg event", () => {
    const h = harness();
    const k1 = kmsg(1456, 254n * S);
    h.m.push(k1);
    h.clock += 6000;
    expect(h.m.flush()).toEqual([k1]);
    expect(h.m.push(kmsg(1456, 256n * S))).toEqual([]);
    h.clock += 6000;
    expect(h.m.flush()).toEqual([]);
    expect(h.duplicates.length).toBe(1);
  });

  test("while bpftrace's output has not reached the kill's time, kmsg waits past the grace; once it has, it goes out", () => {
    const h = harness({ watermark: true });
    const k = kmsg(4042, 512n * S);
    h.seen = 511n * S;
    h.m.push(k);
    h.clock += 20_000;
    expect(h.m.flush()).toEqual([]);
    // Records from seconds after the kill: another CPU's buffer may still hold it, not yet lost.
    h.seen = 516n * S + 999_999_999n;
    expect(h.m.flush()).toEqual([]);
    // bpftrace catches up with records from well after the kill, but not this one: it was lost.
    h.seen = 517n * S;
    expect(h.m.flush()).toEqual([k]);
  });

  test("the clocks' offset, learnt from the last kill both reported, is taken off bpftrace's watermark", () => {
    const h = harness({ watermark: true });
    // bpftrace's clock runs 3 s ahead of kmsg's here.
    const b1 = bpf(4041, 503n * S);
    h.m.push(b1);
    h.m.push(kmsg(4041, 500n * S));
    expect(h.confirms.length).toBe(1);
    const k = kmsg(4042, 512n * S);
    h.m.push(k);
    // 519 s on bpftrace's clock is only 516 s on kmsg's: not yet 5 s past this kill.
    h.seen = 519n * S;
    h.clock += 20_000;
    expect(h.m.flush()).toEqual([]);
    h.seen = 520n * S;
    expect(h.m.flush()).toEqual([k]);
  });

  test("bpftrace behind, then its twin arrives late: one event, from bpftrace, no kmsg event", () => {
    const h = harness({ watermark: true });
    h.m.push(kmsg(4042, 512n * S));
    h.clock += 20_000;
    expect(h.m.flush()).toEqual([]);
    const b = bpf(4042, 512n * S - 1000n);
    h.seen = 512n * S;
    expect(h.m.push(b)).toEqual([b]);
    expect(h.m.flush()).toEqual([]);
    expect(h.confirms.length).toBe(1);
    expect(h.duplicates).toEqual([]);
  });

  test("a bpftrace that delivered nothing yet counts as behind, but only up to maxHoldMs", () => {
    const h = harness({ watermark: true });
    const k = kmsg(4042, 512n * S);
    h.m.push(k);
    h.clock += 29_999;
    expect(h.m.flush()).toEqual([]);
    h.clock += 1;
    expect(h.m.flush()).toEqual([k]);
  });

  test("a watermark past the kill does not cut the grace short", () => {
    const h = harness({ watermark: true });
    h.seen = 900n * S;
    const k = kmsg(4042, 512n * S);
    h.m.push(k);
    h.clock += 4999;
    expect(h.m.flush()).toEqual([]);
    h.clock += 1;
    expect(h.m.flush()).toEqual([k]);
  });

  test("a storm that outgrows what is held: the oldest held kmsg kills go out, none is dropped", () => {
    const h = harness({ watermark: true });
    h.seen = 1n * S; // bpftrace far behind: every kmsg kill would wait
    const out: KernelKill[] = [];
    const n = 4096 + 50;
    for (let i = 0; i < n; i++) out.push(...h.m.push(kmsg(10_000 + i, 100n * S + BigInt(i) * 1_000_000n)));
    expect(out.map((k) => k.victim.pid)).toEqual(Array.from({ length: 50 }, (_, i) => 10_000 + i));
    // The rest go out when the agent stops, each once.
    const rest = h.m.flush(true);
    expect(rest).toHaveLength(4096);
    expect(new Set([...out, ...rest].map((k) => k.victim.pid)).size).toBe(n);
  });

  test("flush(true) at stop lets every held kmsg kill out, even while bpftrace looks behind or busy", () => {
    const h = harness({ watermark: true, pending: new Set([4042]) });
    h.seen = 1n * S;
    const k1 = kmsg(4042, 512n * S);
    const k2 = kmsg(4043, 512n * S);
    expect(h.m.push(k1)).toEqual([]);
    expect(h.m.push(k2)).toEqual([]);
    h.clock += 60_000;
    expect(h.m.flush()).toEqual([k2]); // past maxHold; 4042 is still being assembled by bpftrace
    expect(h.m.flush(true)).toEqual([k1]);
    expect(h.m.flush(true)).toEqual([]);
  });
});
