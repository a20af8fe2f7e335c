import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCount, parseLimit, parsePsi, readUint, statValue } from "../../../../src/sources/pressure/parse.ts";

const FIXTURES = join(import.meta.dir, "../../../fixtures");
const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const key = (s: string) => enc.encode(s);

describe("statValue", () => {
  // Read on this host (kernel 6.18, cgroup v1) from a parent cgroup, where the local and the hierarchical values differ.
  const v1 = readFileSync(join(FIXTURES, "memory.stat-v1-6.18.txt"));
  // The v2 key layout (kernel documentation's order), values made distinct.
  const v2 = readFileSync(join(FIXTURES, "memory.stat-v2-layout.txt"));

  test("v1: the hierarchical total, not the local value of the same name inside it", () => {
    expect(statValue(v1, v1.length, key("total_inactive_file"))).toBe(1608695808);
    expect(statValue(v1, v1.length, key("inactive_file"))).toBe(0);
  });

  test("v2: inactive_file, with inactive_anon and active_file around it", () => {
    expect(statValue(v2, v2.length, key("inactive_file"))).toBe(41943040);
    expect(statValue(v2, v2.length, key("active_file"))).toBe(10485760);
    expect(statValue(v2, v2.length, key("anon"))).toBe(104857600);
  });

  test("a key only as a prefix of another, or missing, is NaN", () => {
    expect(statValue(v2, v2.length, key("inactive"))).toBeNaN();
    expect(statValue(v2, v2.length, key("total_inactive_file"))).toBeNaN();
  });

  test("the last line without a newline, and a buffer longer than the content", () => {
    const b = new Uint8Array(64);
    b.set(bytes("a 1\ninactive_file 77"));
    expect(statValue(b, 20, key("inactive_file"))).toBe(77);
    // What lies past `len` is not content.
    b.set(bytes("inactive_file 5\n"), 0);
    expect(statValue(b, 10, key("inactive_file"))).toBeNaN();
  });

  test("hostile content: no value, a key at the very end, an empty file", () => {
    for (const s of ["inactive_file \n", "inactive_file x\n", "inactive_file", "", "\n\n\n", "inactive_file-1 5\n"]) {
      expect(statValue(bytes(s), s.length, key("inactive_file"))).toBeNaN();
    }
  });
});

describe("parseLimit and parseCount", () => {
  test("a v1 limit, and v1's unlimited sentinel", () => {
    expect(parseLimit(bytes("268435456\n"), 10)).toBe(268435456);
    const unlimited = "9223372036854771712\n";
    expect(parseLimit(bytes(unlimited), unlimited.length)).toBe(Infinity);
  });

  test("v2 'max' is unlimited", () => {
    expect(parseLimit(bytes("max\n"), 4)).toBe(Infinity);
  });

  test("not a limit: NaN", () => {
    for (const s of ["", "\n", "-1\n", "abc\n", "ma\n"]) expect(parseLimit(bytes(s), s.length)).toBeNaN();
  });

  test("a count", () => {
    expect(parseCount(bytes("5573337088\n"), 11)).toBe(5573337088);
    expect(parseCount(bytes("\n"), 1)).toBeNaN();
  });

  test("readUint stops at the first non-digit", () => {
    expect(readUint(bytes("12 34"), 0, 5)).toBe(12);
    expect(readUint(bytes("12 34"), 3, 5)).toBe(34);
    expect(readUint(bytes("12 34"), 2, 5)).toBeNaN();
  });
});

describe("parsePsi", () => {
  test("the memory.pressure file of this host", () => {
    const b = readFileSync(join(FIXTURES, "memory.pressure-6.18.txt"));
    expect(parsePsi(b, b.length)).toEqual({ someAvg10: 0.06, fullAvg10: 0 });
  });

  test("decimals and whole percentages", () => {
    const s = "some avg10=12.34 avg60=1.00 avg300=0.00 total=5\nfull avg10=100.00 avg60=0.00 avg300=0.00 total=1\n";
    const psi = parsePsi(bytes(s), s.length)!;
    expect(psi.someAvg10).toBeCloseTo(12.34, 10);
    expect(psi.fullAvg10).toBe(100);
  });

  test("a file without both lines, or with another layout, gives null", () => {
    for (const s of ["", "some avg10=1.00 avg60=0 avg300=0 total=0\n", "some avg60=1.00\nfull avg60=1.00\n", "some avg10=x\nfull avg10=1\n"]) {
      expect(parsePsi(bytes(s), s.length)).toBeNull();
    }
  });
});
