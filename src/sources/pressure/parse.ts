// Numbers out of cgroup memory files, read straight from the bytes (pure). The sampler reads every
// container's files each interval into one shared buffer; parsing without making strings keeps a
// sample free of garbage.

const NL = 0x0a;
const SPACE = 0x20;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Above this a limit is the kernel's "no limit" (v1 writes PAGE_COUNTER_MAX pages, about 2^63 bytes). */
const UNLIMITED = 2 ** 62;

const isDigit = (b: number) => b >= ZERO && b <= NINE;

/**
 * The first whole number at `from`, or NaN when the bytes there are not one. Values past 2^53
 * lose their last digits, which only ever happens to the "unlimited" sentinel.
 */
export function readUint(buf: Uint8Array, from: number, end: number): number {
  let v = 0;
  let i = from;
  for (; i < end && isDigit(buf[i]!); i++) v = v * 10 + (buf[i]! - ZERO);
  return i === from ? NaN : v;
}

/**
 * A limit file: v1 memory.limit_in_bytes (a number; huge when unlimited) or v2 memory.max
 * (a number, or "max"). Infinity when there is no limit; NaN when the content is not a limit.
 */
export function parseLimit(buf: Uint8Array, len: number): number {
  if (len >= 3 && buf[0] === 0x6d && buf[1] === 0x61 && buf[2] === 0x78) return Infinity; // "max"
  const v = readUint(buf, 0, len);
  return v >= UNLIMITED ? Infinity : v;
}

/** A one-number file such as memory.usage_in_bytes or memory.current. */
export function parseCount(buf: Uint8Array, len: number): number {
  return readUint(buf, 0, len);
}

/** Start of the value of the line `<key> <value>` (key at a line start), or -1. */
function valueAt(buf: Uint8Array, len: number, key: Uint8Array): number {
  const last = len - key.length - 1;
  for (let line = 0; line <= last; ) {
    let k = 0;
    while (k < key.length && buf[line + k] === key[k]) k++;
    if (k === key.length && buf[line + k] === SPACE) return line + k + 1;
    while (line < len && buf[line] !== NL) line++;
    line++;
  }
  return -1;
}

/** The value of `key` in a flat keyed file (memory.stat), or NaN when it is missing. */
export function statValue(buf: Uint8Array, len: number, key: Uint8Array): number {
  const at = valueAt(buf, len, key);
  return at === -1 ? NaN : readUint(buf, at, len);
}

const AVG10 = new TextEncoder().encode("avg10=");

/** A decimal such as 12.34 at `from`; NaN when there is none. */
function readDecimal(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  let v = 0;
  for (; i < end && isDigit(buf[i]!); i++) v = v * 10 + (buf[i]! - ZERO);
  if (i === from) return NaN;
  if (buf[i] === DOT) {
    let scale = 0.1;
    for (i++; i < end && isDigit(buf[i]!); i++, scale /= 10) v += (buf[i]! - ZERO) * scale;
  }
  return v;
}

/** `avg10` of one line of a PSI file ("some avg10=1.00 avg60=… total=…"); NaN when absent. */
function avg10(buf: Uint8Array, len: number, line: Uint8Array): number {
  const at = valueAt(buf, len, line);
  if (at === -1) return NaN;
  for (let k = 0; k < AVG10.length; k++) if (buf[at + k] !== AVG10[k]) return NaN;
  return readDecimal(buf, at + AVG10.length, len);
}

const SOME = new TextEncoder().encode("some");
const FULL = new TextEncoder().encode("full");

/** memory.pressure's avg10 percentages; null when the file does not hold them. */
export function parsePsi(buf: Uint8Array, len: number): { someAvg10: number; fullAvg10: number } | null {
  const someAvg10 = avg10(buf, len, SOME);
  const fullAvg10 = avg10(buf, len, FULL);
  return Number.isNaN(someAvg10) || Number.isNaN(fullAvg10) ? null : { someAvg10, fullAvg10 };
}
