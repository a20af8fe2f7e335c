// Reads raw /dev/kmsg records. Each read() returns exactly one record.
//
// A blocking read would park Bun's only JS thread until the kernel logs something. Measured here:
// Bun.file().stream() merges records into one chunk, and a stream is destroyed by its first error while
// EPIPE is routine. So the fd is opened O_NONBLOCK: readSync returns one record or EAGAIN at once, and an
// empty log is polled with a backoff up to 1 s; OOM reports can wait that long (while bpftrace is up, a
// kmsg kill is held for seconds anyway), and each poll costs idle CPU (bench/: 250 ms → 1 s saved a third).
import { closeSync, constants, openSync, readSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface ReadKmsgOptions {
  /** Default /dev/kmsg. */
  path?: string;
  /** Skip the records already in the log when reading starts. */
  fromEnd?: boolean;
  signal?: AbortSignal;
  /** Called when records were overwritten before being read (EPIPE), with how many were lost. */
  onOverrun?: (lost: number) => void;
  /** Waits out a poll at the longest backoff: the agent's heartbeat, so an idle log costs no wake-up of its own. */
  idle?: (signal?: AbortSignal) => Promise<void>;
}

const MIN_POLL_MS = 10;
const MAX_POLL_MS = 1000;

export async function* readKmsg(opts: ReadKmsgOptions = {}): AsyncGenerator<string> {
  const { signal } = opts;
  if (signal?.aborted) return;
  const fd = openSync(opts.path ?? "/dev/kmsg", constants.O_RDONLY | constants.O_NONBLOCK);
  // The kernel's records are at most 8 KiB with their dictionary (CONSOLE_EXT_LOG_MAX).
  const buf = Buffer.alloc(8192);
  const next = (): string | "EAGAIN" | "EPIPE" => {
    try {
      return buf.toString("utf8", 0, readSync(fd, buf, 0, buf.length, null));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN" || code === "EPIPE") return code;
      throw e;
    }
  };
  // The lost count is the gap in sequence numbers across the EPIPE.
  let lastSeq: bigint | null = null;
  const seqOf = (raw: string) => {
    const m = /^\d+,(\d+),/.exec(raw);
    return m ? BigInt(m[1]!) : null;
  };
  try {
    // No lseek in Node/Bun: draining until EAGAIN is how to reach the end (the backlog is a few MB at most).
    if (opts.fromEnd) for (let r = next(); r !== "EAGAIN"; r = next()) if (r !== "EPIPE") lastSeq = seqOf(r);
    let overrun = false;
    let wait = MIN_POLL_MS;
    while (!signal?.aborted) {
      const r = next();
      if (r === "EAGAIN") {
        if (wait >= MAX_POLL_MS && opts.idle) await opts.idle(signal);
        else await sleep(wait, undefined, { signal }).catch(() => {});
        wait = Math.min(wait * 2, MAX_POLL_MS);
        continue;
      }
      wait = MIN_POLL_MS;
      if (r === "EPIPE") {
        overrun = true;
        continue;
      }
      const seq = seqOf(r);
      if (overrun) opts.onOverrun?.(seq !== null && lastSeq !== null && seq > lastSeq + 1n ? Number(seq - lastSeq - 1n) : 1);
      overrun = false;
      lastSeq = seq;
      yield r;
    }
  } finally {
    closeSync(fd);
  }
}
