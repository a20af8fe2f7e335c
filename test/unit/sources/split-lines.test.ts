import { describe, expect, test } from "bun:test";
import { splitLines } from "../../../src/sources/split-lines.ts";

async function collect(chunks: (string | Uint8Array)[]): Promise<string[]> {
  const out: string[] = [];
  async function* source() {
    for (const c of chunks) yield c;
  }
  for await (const l of splitLines(source())) out.push(l);
  return out;
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe("splitLines", () => {
  test("lines split across chunks, empty lines kept, a last line without newline", async () => {
    expect(await collect([bytes('{"a":'), bytes('1}\n{"b"'), bytes(":2}\n\nlast")])).toEqual(['{"a":1}', '{"b":2}', "", "last"]);
  });

  test("a UTF-8 character cut between two chunks comes out whole", async () => {
    const b = bytes("ünï\ncödé\n");
    expect(await collect([b.slice(0, 1), b.slice(1, 5), b.slice(5)])).toEqual(["ünï", "cödé"]);
  });

  test("several lines in one chunk, in order; nothing for an empty stream", async () => {
    expect(await collect([bytes("1\n2\n3\n")])).toEqual(["1", "2", "3"]);
    expect(await collect([])).toEqual([]);
    expect(await collect([bytes("")])).toEqual([]);
  });

  test("a stream with no newline for over 1 MiB is cut instead of growing", async () => {
    const chunk = "x".repeat(300_000);
    const lines = await collect([chunk, chunk, chunk, chunk, "y\nz\n"]);
    expect(lines[0]!.length).toBe(1_200_000);
    expect(lines.slice(1)).toEqual(["y", "z"]);
  });
});
