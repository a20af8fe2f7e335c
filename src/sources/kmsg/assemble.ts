// Turns the OOM killer's kmsg lines into KernelKill facts. Pure: time comes from record timestamps.
//
// One OOM prints, in order: `<comm> invoked oom-killer` (trigger), the memory dump, `oom-kill:constraint=…`
// (summary), `<prefix>: Killed process …`, and with memory.oom.group `Tasks in … are going to be killed`
// followed by one more `Killed process` per member. The header and summary are rate limited (10 per 5 s),
// so in a storm only the `Killed process` lines are left: everything but the kill itself is optional.
import type { Constraint, KernelKill } from "../../types.ts";
import { parseOomLine, type KmsgRecord, type OomLine } from "./parse.ts";

const WINDOW_USEC = 1_000_000n;

/** memcg: "Memory cgroup out of memory"; global: "Out of memory" (is_memcg_oom() false); null: no prefix. */
type Kind = "memcg" | "global" | null;

type Summary = Extract<OomLine, { type: "summary" }>;

const recent = (from: bigint, to: bigint) => to >= from && to - from <= WINDOW_USEC;

export class KmsgOomAssembler {
  // Lines of the OOM in progress. A kill consumes them, so a later kill whose header was rate limited
  // away never inherits another OOM's trigger or constraint.
  private invoked: { comm: string; tsUsec: bigint } | null = null;
  private summary: (Summary & { tsUsec: bigint }) | null = null;
  private selected: { kind: Kind; tsUsec: bigint } | null = null;
  private last: { kill: KernelKill; kind: Kind; tsUsec: bigint } | null = null;
  private group: { base: KernelKill; kind: Kind; tsUsec: bigint; pids: Set<number> } | null = null;

  /** Feed every record in order; returns a kill for each `Killed process` line that is not a repeat. */
  push(record: KmsgRecord): KernelKill | null {
    // Root can write to /dev/kmsg, but the kernel never lets such records claim facility 0.
    if (record.facility !== 0) return null;
    const line = parseOomLine(record.message);
    if (!line) return null;
    const ts = record.tsUsec;
    switch (line.type) {
      case "killed":
        return this.killed(line, ts);
      case "group":
        if (this.last && recent(this.last.tsUsec, ts)) {
          const { kill, kind } = this.last;
          this.group = { base: kill, kind, tsUsec: ts, pids: new Set([kill.victim.pid]) };
        }
        return null;
      case "invoked":
        this.invoked = { comm: line.comm, tsUsec: ts };
        this.summary = this.selected = null;
        break;
      case "summary":
        this.summary = { ...line, tsUsec: ts };
        break;
      case "selected":
        this.selected = { kind: kindOf(line), tsUsec: ts };
        break;
    }
    this.group = null; // a new OOM decision has begun
    return null;
  }

  private killed(line: Extract<OomLine, { type: "killed" }>, ts: bigint): KernelKill | null {
    const kind = kindOf(line);
    const g = this.group;
    // Without a header between them, kills right after a group line are its members. In a storm a
    // header-less kill of the next OOM within the window would be taken as a member too.
    if (g && recent(g.tsUsec, ts) && kind === g.kind) {
      // The group scan kills the chosen victim a second time, and it prints that again.
      if (g.pids.has(line.pid)) return null;
      g.pids.add(line.pid);
      return { ...g.base, kernelTimeNs: ts * 1000n, victim: victimOf(line), cgroupPath: null };
    }
    this.group = null;

    const s = this.summary;
    // The summary names its victim; one for another pid, a stale one, or one whose memcg-ness the
    // prefix contradicts belongs to another OOM.
    const sum =
      s && s.pid === line.pid && recent(s.tsUsec, ts) && s.constraint !== "unknown" &&
      (kind === null || (kind === "memcg") === (s.constraint === "memcg"))
        ? s
        : null;
    // The header comes from the same dump as the summary; older 4.x kernels print no summary at all.
    const inv = this.invoked && recent(this.invoked.tsUsec, ts) && (sum || !s) ? this.invoked : null;
    const prefixKind = kind ?? (this.selected && recent(this.selected.tsUsec, ts) ? this.selected.kind : null);

    // "Out of memory" is printed for every non-memcg OOM, so without the summary cpuset and mempolicy
    // OOMs cannot be told from global ones: "global" from a prefix means the global family.
    const constraint: Constraint = sum?.constraint ?? prefixKind ?? "unknown";

    const kill: KernelKill = {
      source: "kmsg",
      probe: "kmsg",
      kernelTimeNs: ts * 1000n,
      victim: victimOf(line),
      trigger: { pid: null, tid: null, comm: inv?.comm ?? null },
      constraint,
      constraintFrom: constraint === "unknown" ? "none" : "kmsg",
      cgroupPath: sum?.taskMemcg ?? null,
      oomCgroupPath: sum?.oomMemcg ?? null,
      totalPages: null,
      decision: `kmsg:${sum?.tsUsec ?? ts}`,
    };
    this.invoked = this.summary = this.selected = null;
    this.last = { kill, kind, tsUsec: ts };
    return kill;
  }
}

function kindOf(line: { memcgOom: boolean; globalOom: boolean }): Kind {
  return line.memcgOom ? "memcg" : line.globalOom ? "global" : null;
}

function victimOf(line: Extract<OomLine, { type: "killed" }>): KernelKill["victim"] {
  return { pid: line.pid, tid: null, comm: line.comm, memory: line.memory };
}
