// Reading one container's memory files (I/O): two or three small reads per sample, into one
// buffer shared by all containers, parsed in place. The files stay open between samples and are
// read again from offset 0 (cgroup files regenerate then): opening a cgroup file costs more than
// reading it, and a kill storm makes it slower still (bench/: it was most of the agent's CPU).
import { closeSync, openSync, readSync } from "node:fs";
import type { MemorySample } from "../../types.ts";
import type { CgroupVersion, ContainerCgroup } from "./cgroups.ts";
import { parseCount, parseLimit, parsePsi, statValue } from "./parse.ts";

/** memory.stat is about 1.5 kB (v1) to 3 kB (v2); this leaves room for fields newer kernels add. */
const BUFFER_BYTES = 32 * 1024;

/**
 * Inactive file pages are page cache the kernel reclaims before it OOMs: a container that reads a
 * big file sits at its limit with no danger. Subtracting them gives kubelet's working set (the same
 * number as eviction and `kubectl top`). Active file pages stay in: they too can be reclaimed, but
 * only after the kernel demotes them, so counting them errs towards warning early. v1 needs the
 * hierarchical total, as usage_in_bytes counts the container's child cgroups too; v2's is hierarchical.
 */
const INACTIVE_FILE: Record<CgroupVersion, Uint8Array> = {
  v1: new TextEncoder().encode("total_inactive_file"),
  v2: new TextEncoder().encode("inactive_file"),
};

/** Files kept open at most (three per container): past this, a file is opened for each read. */
const MAX_OPEN = 3000;

export class MemorySampler {
  private readonly buf = Buffer.allocUnsafe(BUFFER_BYTES);
  /** Open files by path: usage, stat and PSI of the containers sampled. */
  private readonly open = new Map<string, number>();

  constructor(private readonly version: CgroupVersion) {}

  /** Bytes read from `file` into the shared buffer. Throws when the file cannot be read (e.g. the cgroup is gone). */
  private read(file: string, keepOpen = true): number {
    let fd = this.open.get(file);
    const kept = fd !== undefined || (keepOpen && this.open.size < MAX_OPEN);
    fd ??= openSync(file, "r");
    if (kept) this.open.set(file, fd);
    try {
      let len = 0;
      for (let n; len < this.buf.length && (n = readSync(fd, this.buf, len, this.buf.length - len, len)) > 0; ) len += n;
      return len;
    } catch (e) {
      if (kept) this.closeFile(file);
      throw e;
    } finally {
      if (!kept) closeSync(fd);
    }
  }

  private closeFile(file: string): void {
    const fd = this.open.get(file);
    if (fd === undefined) return;
    this.open.delete(file);
    closeSync(fd);
  }

  /** Closes the container's files: it is gone, or no longer sampled. */
  release(c: ContainerCgroup): void {
    for (const f of [c.usageFile, c.statFile, c.psiFile]) if (f !== null) this.closeFile(f);
  }

  /** Closes every file. */
  close(): void {
    for (const file of [...this.open.keys()]) this.closeFile(file);
  }

  /** The container's limit in bytes; Infinity when it has none. */
  limit(c: ContainerCgroup): number {
    // Read once per discovery: not worth a descriptor.
    const v = parseLimit(this.buf, this.read(c.limitFile, false));
    if (Number.isNaN(v)) throw new Error(`${c.limitFile} holds no limit`);
    return v;
  }

  /** One sample. Throws when a file is gone or unreadable; the caller decides what that means. */
  sample(c: ContainerCgroup, limitBytes: number): MemorySample {
    const usageBytes = parseCount(this.buf, this.read(c.usageFile));
    const inactiveFile = statValue(this.buf, this.read(c.statFile), INACTIVE_FILE[this.version]);
    if (Number.isNaN(usageBytes)) throw new Error(`${c.usageFile} holds no number`);
    // Without the stat line (an unexpected kernel), the usage itself is the conservative figure.
    const workingSetBytes = Number.isNaN(inactiveFile) ? usageBytes : Math.max(0, usageBytes - inactiveFile);
    const psi = c.psiFile === null ? null : parsePsi(this.buf, this.read(c.psiFile));
    return { usageBytes, workingSetBytes, limitBytes, psi };
  }
}
