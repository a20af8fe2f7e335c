// Protocol Buffers wire format, only what the CRI messages we use need (pure).
// Input comes from a socket: every length is checked against what is left, and a malformed
// message is a WireError, never a crash or a read past the end.

export class WireError extends Error {
  readonly code = "E_WIRE";
}

export const VARINT = 0;
export const FIXED64 = 1;
export const BYTES = 2;
export const FIXED32 = 5;

/** One field as read off the wire: a varint as bigint, or the bytes of a length-delimited field. */
export type Field = { no: number; wire: typeof VARINT; value: bigint } | { no: number; wire: typeof BYTES; value: Uint8Array } | { no: number; wire: typeof FIXED64 | typeof FIXED32; value: null };

const MAX_FIELD_NO = 2 ** 29 - 1;

function readVarint(buf: Uint8Array, at: number): [bigint, number] {
  let v = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= buf.length) throw new WireError(`varint runs past the end of the message at byte ${at}`);
    const b = buf[at + i]!;
    v |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return [v & 0xffff_ffff_ffff_ffffn, at + i + 1];
  }
  throw new WireError(`varint longer than 10 bytes at byte ${at}`);
}

/** Splits a message into its fields, in wire order. Groups (wire types 3, 4) and unknown wire types are errors. */
export function readFields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const [key, next] = readVarint(buf, at);
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (no < 1 || no > MAX_FIELD_NO) throw new WireError(`field number ${no} out of range at byte ${at}`);
    at = next;
    if (wire === VARINT) {
      const [value, after] = readVarint(buf, at);
      out.push({ no, wire, value });
      at = after;
    } else if (wire === BYTES) {
      const [len, start] = readVarint(buf, at);
      if (len > BigInt(buf.length - start)) throw new WireError(`field ${no} claims ${len} bytes, ${buf.length - start} are left`);
      out.push({ no, wire, value: buf.subarray(start, start + Number(len)) });
      at = start + Number(len);
    } else if (wire === FIXED64 || wire === FIXED32) {
      const size = wire === FIXED64 ? 8 : 4;
      if (at + size > buf.length) throw new WireError(`field ${no} (fixed${size * 8}) runs past the end`);
      out.push({ no, wire, value: null });
      at += size;
    } else {
      throw new WireError(`field ${no} has wire type ${wire}, which these messages never use`);
    }
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A read message: its fields by number, last one wins for scalars (as protobuf says). */
export class Message {
  private constructor(private readonly fields: Field[]) {}

  static parse(buf: Uint8Array): Message {
    return new Message(readFields(buf));
  }

  private all(no: number, wire: number, what: string): Field[] {
    const found = this.fields.filter((f) => f.no === no);
    for (const f of found) if (f.wire !== wire) throw new WireError(`field ${no} should be ${what}, has wire type ${f.wire}`);
    return found;
  }

  string(no: number): string {
    const f = this.all(no, BYTES, "a string").at(-1);
    if (!f) return "";
    try {
      return utf8.decode(f.value as Uint8Array);
    } catch {
      throw new WireError(`field ${no} is not valid UTF-8`);
    }
  }

  /** int64/uint32/enum: as bigint, 0 when absent. */
  varint(no: number): bigint {
    return (this.all(no, VARINT, "a varint").at(-1)?.value as bigint | undefined) ?? 0n;
  }

  message(no: number): Message | null {
    const f = this.all(no, BYTES, "a message");
    // A repeated embedded message merges; the CRI never sends one twice, so the last one stands.
    return f.length === 0 ? null : Message.parse(f.at(-1)!.value as Uint8Array);
  }

  messages(no: number): Message[] {
    return this.all(no, BYTES, "a message").map((f) => Message.parse(f.value as Uint8Array));
  }

  /** map<string, string>: entries with key 1 and value 2. */
  stringMap(no: number): Record<string, string> {
    const out: Record<string, string> = Object.create(null);
    for (const entry of this.messages(no)) out[entry.string(1)] = entry.string(2);
    return out;
  }
}

const enc = new TextEncoder();

function varintBytes(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x === 0n ? b : b | 0x80);
  } while (x !== 0n);
  return out;
}

/** Builds a message; fields at their default (empty, zero, false) are left out, as proto3 does. */
export class Writer {
  private readonly parts: number[] = [];

  private key(no: number, wire: number): void {
    this.parts.push(...varintBytes(BigInt(no) << 3n | BigInt(wire)));
  }

  bytes(no: number, b: Uint8Array): this {
    this.key(no, BYTES);
    this.parts.push(...varintBytes(BigInt(b.length)));
    for (const x of b) this.parts.push(x);
    return this;
  }

  string(no: number, s: string | undefined): this {
    return s ? this.bytes(no, enc.encode(s)) : this;
  }

  strings(no: number, list: readonly string[]): this {
    for (const s of list) this.bytes(no, enc.encode(s));
    return this;
  }

  varint(no: number, v: number | bigint | boolean | undefined): this {
    const n = typeof v === "boolean" ? (v ? 1n : 0n) : BigInt(v ?? 0);
    if (n === 0n) return this;
    this.key(no, VARINT);
    this.parts.push(...varintBytes(n));
    return this;
  }

  message(no: number, m: Writer | undefined): this {
    return m ? this.bytes(no, m.finish()) : this;
  }

  stringMap(no: number, map: Record<string, string> | undefined): this {
    for (const [k, v] of Object.entries(map ?? {})) this.message(no, new Writer().string(1, k).string(2, v));
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
