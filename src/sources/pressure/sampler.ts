// Reading one container's memory files (I/O): two or three small reads per sample, into one
// buffer shared by all containers, parsed in place.
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

export class MemorySampler {
  private readonly buf = Buffer.allocUnsafe(BUFFER_BYTES);

  constructor(private readonly version: CgroupVersion) {}

  /** Bytes read from `file` into the shared buffer. Throws when the file cannot be read (e.g. the cgroup is gone). */
  private read(file: string): number {
    const fd = openSync(file, "r");
    try {
      let len = 0;
      for (let n; len < this.buf.length && (n = readSync(fd, this.buf, len, this.buf.length - len, null)) > 0; ) len += n;
      return len;
    } finally {
      closeSync(fd);
    }
  }

  /** The container's limit in bytes; Infinity when it has none. */
  limit(c: ContainerCgroup): number {
    const v = parseLimit(this.buf, this.read(c.limitFile));
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
