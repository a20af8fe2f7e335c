import { describe, expect, test } from "bun:test";
import { decodeRecord, type ProbeRecord } from "../../../src/decode/records.ts";

const STACK = "\n        mark_oom_victim+186\n        out_of_memory+532\n";

/** A mark tuple in contract order, memory fields in kB. */
function markTuple(o: { killed?: unknown; mem?: number[]; victimComm?: string; triggerComm?: string } = {}): unknown[] {
  const mem = o.mem ?? [78008, 68200, 6312, 0, 0, 196, 1000];
  return ["mark", 1000, 4042, 4084, 4080, o.triggerComm ?? "python3", "killed" in o ? o.killed : 1, ...mem, o.victimComm ?? "victim", STACK];
}

describe("decodeRecord: each tag with the right arity and types", () => {
  test.each<[label: string, data: unknown[], expected: ProbeRecord]>([
    [
      "cg, trigger role",
      ["cg", 512418896215, 4084, "t", 0, "exp2", 25600, 25600],
      { tag: "cg", t: 512418896215, tid: 4084, role: "t", level: 0, name: "exp2", usage: 25600, max: 25600 },
    ],
    [
      "cg, victim role, root level",
      ["cg", 7, 4042, "v", 3, "", 146547, 2251799813685247],
      { tag: "cg", t: 7, tid: 4042, role: "v", level: 3, name: "", usage: 146547, max: 2251799813685247 },
    ],
    [
      "cg, oom role",
      ["cg", 8, 1, "o", 1, "pod", 10, 20],
      { tag: "cg", t: 8, tid: 1, role: "o", level: 1, name: "pod", usage: 10, max: 20 },
    ],
    [
      "mark",
      markTuple(),
      {
        tag: "mark",
        t: 1000,
        victimTid: 4042,
        triggerTid: 4084,
        triggerPid: 4080,
        triggerComm: "python3",
        killed: true,
        memory: { totalVmKb: 78008, anonRssKb: 68200, fileRssKb: 6312, shmemRssKb: 0, uid: 0, pgtablesKb: 196, oomScoreAdj: 1000 },
        victimComm: "victim",
        stack: STACK,
      } as ProbeRecord,
    ],
    ["exit", ["exit", 512419150264, 4042, 4040, "python3"], { tag: "exit", t: 512419150264, tid: 4042, pid: 4040, comm: "python3" }],
    [
      "dec",
      ["dec", 55, 4042, 4040, "hog", 4084, 4080, "alloc", 3, 25600, 0],
      {
        tag: "dec", t: 55, victimTid: 4042, victimPid: 4040, victimComm: "hog", triggerTid: 4084, triggerPid: 4080,
        triggerComm: "alloc", constraint: 3, totalPages: 25600, order: 0,
      },
    ],
  ])("%s", (_label, data, expected) => {
    const r = decodeRecord(data);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value).toMatchObject(expected);
  });

  test("mark: the memory object holds exactly the seven facts", () => {
    const r = decodeRecord(markTuple({ mem: [1, 2, 3, 4, 5, 6, 7] }));
    if (!r.ok) throw new Error(r.error.message);
    if (r.value.tag !== "mark") throw new Error("not a mark");
    expect(r.value.memory).toEqual({ totalVmKb: 1, anonRssKb: 2, fileRssKb: 3, shmemRssKb: 4, uid: 5, pgtablesKb: 6, oomScoreAdj: 7 });
  });
});

describe("decodeRecord: killed accepts the bool forms bpftrace prints", () => {
  test.each<[unknown, boolean]>([
    [1, true],
    [0, false],
    [true, true],
    [false, false],
  ])("%p → %p", (v, expected) => {
    const r = decodeRecord(markTuple({ killed: v }));
    expect(r.ok).toBe(true);
    if (r.ok && r.value.tag === "mark") expect(r.value.killed).toBe(expected);
  });

  test.each<[unknown]>([[2], [-1], ["1"], ["true"], [null], [0.5]])("%p is not a bool", (v) => {
    const r = decodeRecord(markTuple({ killed: v }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain("killed");
  });
});

describe("decodeRecord: memory fields of -1 are unknown", () => {
  test("all -1 (old kernel without the memory fields) → every fact null", () => {
    const r = decodeRecord(markTuple({ mem: [-1, -1, -1, -1, -1, -1, -1] }));
    if (!r.ok || r.value.tag !== "mark") throw new Error("expected a mark");
    expect(r.value.memory).toEqual({ totalVmKb: null, anonRssKb: null, fileRssKb: null, shmemRssKb: null, uid: null, pgtablesKb: null, oomScoreAdj: null });
  });

  test("a real negative oom_score_adj is kept when the other facts are known", () => {
    const r = decodeRecord(markTuple({ mem: [500, 400, 30, 2, 1000, 12, -998] }));
    if (!r.ok || r.value.tag !== "mark") throw new Error("expected a mark");
    expect(r.value.memory.oomScoreAdj).toBe(-998);
    expect(r.value.memory.uid).toBe(1000);
  });

  test("one -1 among known facts nulls only that one", () => {
    const r = decodeRecord(markTuple({ mem: [500, -1, 30, 2, 0, 12, 0] }));
    if (!r.ok || r.value.tag !== "mark") throw new Error("expected a mark");
    expect(r.value.memory).toEqual({ totalVmKb: 500, anonRssKb: null, fileRssKb: 30, shmemRssKb: 2, uid: 0, pgtablesKb: 12, oomScoreAdj: 0 });
  });
});

describe("decodeRecord: rejects what breaks the contract", () => {
  test.each<[label: string, data: unknown[], inMessage: string]>([
    ["unknown tag", ["kill", 1, 2, 3], "first element"],
    ["tag not a string", [1, 2, 3], "first element"],
    ["empty tuple", [], "first element"],
    ["tag that is an Object.prototype key", ["toString", 1], "first element"],
    ["tag constructor", ["constructor", 1, 2], "first element"],
    ["tag __proto__", ["__proto__"], "first element"],
    ["cg with one field too few", ["cg", 1, 2, "t", 0, "exp2", 25600], "7 fields"],
    ["cg with one field too many", ["cg", 1, 2, "t", 0, "exp2", 25600, 25600, 9], "7 fields"],
    ["exit with no fields", ["exit"], "4 fields"],
    ["mark with 13 fields", markTuple().slice(0, 14), "15 fields"],
    ["dec with 11 fields", ["dec", 55, 4042, 4040, "hog", 4084, 4080, "alloc", 3, 25600, 0, 0], "10 fields"],
    ["string where int (tid)", ["exit", 1, "4042", 4042, "python3"], "tid"],
    ["float where int (t)", ["exit", 1.5, 4042, 4042, "python3"], "(t)"],
    ["float where int (usage)", ["cg", 1, 2, "t", 0, "exp2", 25600.25, 25600], "usage"],
    ["int where string (comm)", ["exit", 1, 4042, 4042, 7], "comm"],
    ["null where int", ["exit", 1, null, 4042, "python3"], "tid"],
    ["NaN-like string where int", ["dec", 55, 4042, 4040, "hog", 4084, 4080, "alloc", "NaN", 25600, 0], "constraint"],
    ["bad cg role", ["cg", 1, 2, "x", 0, "exp2", 1, 2], "role"],
    ["cg role spelled out", ["cg", 1, 2, "trigger", 0, "exp2", 1, 2], "role"],
  ])("%s", (_label, data, inMessage) => {
    const r = decodeRecord(data);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("E_SHAPE");
      expect(r.error.message).toContain(inMessage);
    }
  });
});

describe("decodeRecord: kernel strings pass through unchanged", () => {
  const HOSTILE = 'a"b\\c}{"x":1}\nd\uFFFDe';

  test("in a mark's comms", () => {
    const r = decodeRecord(markTuple({ triggerComm: HOSTILE, victimComm: HOSTILE }));
    if (!r.ok || r.value.tag !== "mark") throw new Error("expected a mark");
    expect(r.value.triggerComm).toBe('a"b\\c}{"x":1}\nd\uFFFDe');
    expect(r.value.victimComm).toBe('a"b\\c}{"x":1}\nd\uFFFDe');
  });

  test("in an exit's comm and a cg name, after a JSON round trip as bpftrace escapes them", () => {
    const exit = JSON.parse(JSON.stringify(["exit", 1, 2, 3, HOSTILE])) as unknown[];
    const r = decodeRecord(exit);
    if (!r.ok || r.value.tag !== "exit") throw new Error("expected an exit");
    expect(r.value.comm).toBe('a"b\\c}{"x":1}\nd\uFFFDe');

    const cg = decodeRecord(["cg", 1, 2, "v", 0, HOSTILE, 1, 2]);
    if (!cg.ok || cg.value.tag !== "cg") throw new Error("expected a cg");
    expect(cg.value.name).toBe('a"b\\c}{"x":1}\nd\uFFFDe');
  });
});

test("ready: one int after the tag", () => {
  expect(decodeRecord(["ready", 1])).toEqual({ ok: true, value: { tag: "ready", version: 1 } });
  expect(decodeRecord(["ready"]).ok).toBe(false);
  expect(decodeRecord(["ready", "1"]).ok).toBe(false);
});

test("sym: one string after the tag", () => {
  expect(decodeRecord(["sym", "_text"])).toEqual({ ok: true, value: { tag: "sym", name: "_text" } });
  expect(decodeRecord(["sym"]).ok).toBe(false);
  expect(decodeRecord(["sym", 1]).ok).toBe(false);
});
