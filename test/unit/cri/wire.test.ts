import { describe, expect, test } from "bun:test";
import { Message, readFields, WireError, Writer } from "../../../src/cri/wire.ts";
import { decodeContainerStatus, decodeListContainers, decodeListPodSandbox, decodePodSandboxStatus, listPodSandboxRequest } from "../../../src/cri/messages.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

describe("protobuf wire reading", () => {
  test("varints, strings, nested messages and maps round-trip through the writer", () => {
    const inner = new Writer().string(1, "app").varint(2, 3);
    const buf = new Writer().string(1, "ü-id").message(2, inner).varint(4, 1_763_000_000_123_456_789n).stringMap(12, { a: "1", b: "" }).finish();
    const m = Message.parse(buf);
    expect(m.string(1)).toBe("ü-id");
    expect(m.message(2)!.string(1)).toBe("app");
    expect(m.message(2)!.varint(2)).toBe(3n);
    expect(m.varint(4)).toBe(1_763_000_000_123_456_789n);
    expect(m.stringMap(12)).toEqual({ a: "1", b: "" });
    // Absent fields read as proto3 defaults.
    expect(m.string(9)).toBe("");
    expect(m.varint(9)).toBe(0n);
    expect(m.message(9)).toBeNull();
  });

  test("a negative int64 is ten bytes and reads back as its two's complement", () => {
    const buf = new Writer().varint(1, -1n).finish();
    expect(buf.length).toBe(11);
    expect(Message.parse(buf).varint(1)).toBe(0xffff_ffff_ffff_ffffn);
  });

  test("unknown fields of every wire type are skipped", () => {
    // field 7 fixed64, field 8 fixed32, field 9 varint, then field 1 string "x"
    const buf = bytes(0x39, 1, 2, 3, 4, 5, 6, 7, 8, 0x45, 1, 2, 3, 4, 0x48, 0x96, 0x01, 0x0a, 1, 0x78);
    expect(Message.parse(buf).string(1)).toBe("x");
  });

  const hostile: [string, Uint8Array][] = [
    ["a truncated varint", bytes(0x08, 0x96)],
    ["a varint of eleven bytes", bytes(0x08, ...Array(10).fill(0xff), 0x01)],
    ["a length past the end", bytes(0x0a, 5, 0x61)],
    ["a huge length", bytes(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f)],
    ["a length near 2^64", bytes(0x0a, ...Array(9).fill(0xff), 0x01)],
    ["a truncated fixed64", bytes(0x09, 1, 2, 3)],
    ["a truncated fixed32", bytes(0x0d, 1)],
    ["a group start (wire type 3)", bytes(0x0b)],
    ["wire type 7", bytes(0x0f)],
    ["field number 0", bytes(0x02, 0)],
    ["a key cut off", bytes(0x80)],
  ];
  for (const [what, buf] of hostile) {
    test(`${what} is a WireError`, () => {
      expect(() => readFields(buf)).toThrow(WireError);
    });
  }

  test("a known field with the wrong wire type is a WireError, not a misread", () => {
    // field 1 as a varint where a string is expected, and field 3 as bytes where a varint is expected
    expect(() => Message.parse(bytes(0x08, 5)).string(1)).toThrow(WireError);
    expect(() => Message.parse(bytes(0x1a, 1, 0x41)).varint(3)).toThrow(WireError);
    expect(() => decodeContainerStatus(bytes(0x08, 1))).toThrow(WireError);
  });

  test("invalid UTF-8 in a string is a WireError", () => {
    expect(() => Message.parse(bytes(0x0a, 2, 0xc3, 0x28)).string(1)).toThrow(WireError);
  });

  test("nested garbage fails the whole decode instead of giving half a container", () => {
    const badLabels = new Writer().bytes(12, bytes(0x0a, 9, 0x61)).finish();
    expect(() => decodeContainerStatus(new Writer().bytes(1, badLabels).finish())).toThrow(WireError);
    expect(() => decodeListContainers(bytes(0x0a, 3, 0x0a, 5, 0x61))).toThrow(WireError);
    expect(() => decodeListPodSandbox(bytes(0x0a, 2, 0x12, 9))).toThrow(WireError);
  });

  test("random bytes never throw anything but WireError", () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed & 0xff);
    for (let i = 0; i < 3000; i++) {
      const buf = Uint8Array.from({ length: 1 + (rnd() % 40) }, rnd);
      for (const decode of [decodeContainerStatus, decodePodSandboxStatus, decodeListContainers, decodeListPodSandbox]) {
        try {
          decode(buf);
        } catch (e) {
          expect(e).toBeInstanceOf(WireError);
        }
      }
    }
  });
});

describe("CRI messages", () => {
  test("ContainerStatus: the fields by the CRI's numbers", () => {
    const status = new Writer()
      .string(1, "c".repeat(64))
      .message(2, new Writer().string(1, "app").varint(2, 2))
      .varint(3, 2)
      .varint(4, 1000n)
      .varint(5, 2000n)
      .message(8, new Writer().string(1, "registry.example/app:1"))
      .stringMap(12, { "io.kubernetes.pod.name": "web-0" });
    expect(decodeContainerStatus(new Writer().message(1, status).finish())).toEqual({
      id: "c".repeat(64),
      sandboxId: null,
      name: "app",
      attempt: 2,
      image: "registry.example/app:1",
      state: "exited",
      createdAt: 1000n,
      startedAt: 2000n,
      labels: { "io.kubernetes.pod.name": "web-0" },
    });
    expect(decodeContainerStatus(new Uint8Array(0))).toBeNull();
  });

  test("an unknown container state reads as unknown", () => {
    const status = new Writer().string(1, "x").varint(3, 77);
    expect(decodeContainerStatus(new Writer().message(1, status).finish())!.state).toBe("unknown");
  });

  test("ListPodSandbox: metadata and labels; the request carries the label selector as field 3 of the filter", () => {
    const item = new Writer()
      .string(1, "s1")
      .message(2, new Writer().string(1, "web-0").string(2, "u-1").string(3, "prod"))
      .varint(3, 1)
      .stringMap(5, { app: "web" });
    expect(decodeListPodSandbox(new Writer().message(1, item).finish())).toEqual([
      { id: "s1", name: "web-0", uid: "u-1", namespace: "prod", ready: false, labels: { app: "web" } },
    ]);
    const filter = Message.parse(listPodSandboxRequest({ k: "v" })).message(1)!;
    expect(filter.stringMap(3)).toEqual({ k: "v" });
    expect(listPodSandboxRequest().length).toBe(0);
  });
});
