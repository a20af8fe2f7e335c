import { describe, expect, test } from "bun:test";
import { decodeBpftraceLine, type BpftraceLine } from "../../../src/decode/bpftrace-line.ts";

describe("decodeBpftraceLine: the shapes bpftrace prints", () => {
  test.each<[label: string, line: string, expected: BpftraceLine]>([
    ["attached_probes 0.17", `{"type": "attached_probes", "data": {"probes": 3}}`, { type: "attached", probes: 3 }],
    ["attached_probes 0.24 (count beside probes)", `{"type":"attached_probes","data":{"probes":4,"count":4}}`, { type: "attached", probes: 4 }],
    ["attached_probes with count only", `{"type":"attached_probes","data":{"count":2}}`, { type: "attached", probes: 2 }],
    ["lost_events 0.17", `{"type": "lost_events", "data": {"events": 17}}`, { type: "lost", count: 17 }],
    ["lost_events 0.24 (count beside events)", `{"type":"lost_events","data":{"events":5,"count":5}}`, { type: "lost", count: 5 }],
    ["lost_events with count only", `{"type":"lost_events","data":{"count":9}}`, { type: "lost", count: 9 }],
    ["value tuple", `{"type": "value", "data": ["exit", 12, 4042, 4042, "python3"]}`, { type: "value", data: ["exit", 12, 4042, 4042, "python3"] }],
    ["empty value tuple", `{"type":"value","data":[]}`, { type: "value", data: [] }],
    ["printf", `{"type": "printf", "data": "hello \\"x\\"\\n"}`, { type: "printf", text: 'hello "x"\n' }],
    ["helper_error", `{"type": "helper_error", "data": {"helper": "probe_read", "retcode": -14}}`, { type: "helper_error", message: `{"helper":"probe_read","retcode":-14}` }],
    ["map dump at exit", `{"type": "map", "data": {"@oomtrace_killed": {}}}`, { type: "ignored" }],
    ["blank line", "", { type: "ignored" }],
    ["whitespace only", "  \t ", { type: "ignored" }],
    ["surrounding whitespace", `  {"type":"lost_events","data":{"events":1}}\r`, { type: "lost", count: 1 }],
  ])("%s", (_label, line, expected) => {
    expect(decodeBpftraceLine(line)).toEqual({ ok: true, value: expected });
  });
});

describe("decodeBpftraceLine: garbage is an error code, never a throw", () => {
  test.each<[label: string, line: string, code: "E_NOT_JSON" | "E_SHAPE"]>([
    ["plain text (stderr-like)", "Attaching 3 probes...", "E_NOT_JSON"],
    ["truncated JSON", `{"type": "value", "data": ["mark", 1`, "E_NOT_JSON"],
    ["JSON array", `["cg", 1, 2]`, "E_SHAPE"],
    ["JSON string", `"value"`, "E_SHAPE"],
    ["JSON number", `42`, "E_SHAPE"],
    ["JSON null", `null`, "E_SHAPE"],
    ["unknown type", `{"type": "surprise", "data": []}`, "E_SHAPE"],
    ["no type", `{"data": [1, 2]}`, "E_SHAPE"],
    ["value whose data is an object", `{"type": "value", "data": {"0": "cg"}}`, "E_SHAPE"],
    ["value whose data is a string", `{"type": "value", "data": "cg"}`, "E_SHAPE"],
    ["value without data", `{"type": "value"}`, "E_SHAPE"],
    ["printf whose data is not a string", `{"type": "printf", "data": 3}`, "E_SHAPE"],
    ["attached_probes without a number", `{"type": "attached_probes", "data": {"probes": "3"}}`, "E_SHAPE"],
    ["lost_events without a number", `{"type": "lost_events", "data": {}}`, "E_SHAPE"],
  ])("%s → %s", (_label, line, code) => {
    const r = decodeBpftraceLine(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  test("the message quotes the offending line", () => {
    const r = decodeBpftraceLine("Attaching 3 probes...");
    expect(r).toEqual({ ok: false, error: { code: "E_NOT_JSON", message: "not JSON: Attaching 3 probes..." } });
  });

  test("very long garbage is clipped in the message", () => {
    const line = "x".repeat(100_000);
    const r = decodeBpftraceLine(line);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("E_NOT_JSON");
    expect(r.error.message).toBe(`not JSON: ${"x".repeat(200)}…`);
  });

  test("a very long JSON record of the wrong shape is clipped too", () => {
    const line = JSON.stringify({ type: "nope", data: "y".repeat(50_000) });
    const r = decodeBpftraceLine(line);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("E_SHAPE");
    expect(r.error.message.length).toBeLessThan(300);
    expect(r.error.message.endsWith("…")).toBe(true);
  });
});
