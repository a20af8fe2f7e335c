// Kernel timestamps are CLOCK_MONOTONIC; Bun's hrtime is not, so the clock is read from libc.
import { dlopen, FFIType, ptr } from "bun:ffi";

const CLOCK_MONOTONIC = 1;

let clockGettime: ((id: number, ts: ReturnType<typeof ptr>) => number) | null | undefined;

function libcClock(): typeof clockGettime {
  if (clockGettime !== undefined) return clockGettime;
  try {
    const lib = dlopen("libc.so.6", { clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });
    clockGettime = lib.symbols.clock_gettime as unknown as (id: number, ts: ReturnType<typeof ptr>) => number;
  } catch {
    clockGettime = null;
  }
  return clockGettime;
}

/** CLOCK_MONOTONIC now, in ns; /proc/uptime (10 ms steps) where libc cannot be called. */
export function monotonicNs(): bigint {
  const fn = libcClock();
  if (fn) {
    const ts = new BigInt64Array(2);
    if (fn(CLOCK_MONOTONIC, ptr(ts)) === 0) return ts[0]! * 1_000_000_000n + ts[1]!;
  }
  const up = require("node:fs").readFileSync("/proc/uptime", "utf8").split(" ")[0] as string;
  return BigInt(Math.round(Number(up) * 1e9));
}

/** Pairs of (wall ms, monotonic ns) read together, for turning kernel time into wall time. */
export interface ClockSample {
  wallMs: number;
  monoNs: bigint;
}

export function sampleClock(): ClockSample {
  return { monoNs: monotonicNs(), wallMs: Date.now() };
}

/** Wall time of a kernel timestamp (pure). */
export function kernelTimeToDate(kernelNs: bigint, s: ClockSample): Date {
  return new Date(s.wallMs - Number(s.monoNs - kernelNs) / 1e6);
}
