// Probe records → one KernelKill per killed task (pure; the clock is injected).
//
// A kill arrives in pieces from different CPUs, in any order: the trigger's chain and the
// mark from the trigger's CPU, the victim's chain and exit from the victim's CPU, and on
// rich kernels a decision record before the marks. Pieces are joined by victim tid.
import type { CgroupLevel, KernelKill } from "../types.ts";
import { chainToPath, classifyStack, constraintFromKernel, isGroupMemberStack, levelFromRecord, oomCgroupFromChain } from "./classify.ts";
import type { CgRecord, DecisionRecord, ExitRecord, MarkRecord, ProbeRecord } from "./records.ts";

export type DropReason =
  | "not_killed" // mark_victim on the "already exiting" paths: the kernel killed nothing
  | "exit_without_mark" // a kernel SIGKILL that was not an OOM kill
  | "chain_orphaned" // cgroup lines whose closing record never came (lost events)
  | "state_full"; // more pieces in flight than the bounds allow

export interface AssemblerOptions {
  /** Name of the probe now running, put on each kill. */
  probe: () => string;
  now: () => number;
  /** How long a mark waits for its victim's exit before going out without a cgroup. */
  exitWaitMs?: number;
  onDrop?: (reason: DropReason) => void;
}

interface Chain {
  levels: CgroupLevel[];
  path: string | null;
  paths: string[];
}

interface PendingMark {
  mark: MarkRecord;
  trigger: Chain | null;
  /**
   * The decision; without a decision record, `limitChain` is the trigger's chain at the decision's
   * first mark: later members of a group kill read usage after earlier victims freed memory.
   */
  decision: { id: string; dec: DecisionRecord | null; oomPath: string | null; limitChain: Chain | null };
  deadline: number;
}

/** Bounds that keep hostile or broken input from growing state without limit. */
const MAX_IN_FLIGHT = 4096;
/** Without a stack to tell, marks of one trigger closer than this are one decision (a memory.oom.group kill). */
const GROUP_GAP_NS = 2_000_000;
/**
 * A decision covers its trigger's marks until that trigger's next decision, as long as they keep
 * coming. Not a short span: between oom_kill_process() and the first mark the kernel prints its
 * whole OOM report, one line per task of the memcg, and a group kill prints one line per member;
 * on a serial console that is seconds (1.8 s for 251 tasks under qemu).
 */
export const DECISION_IDLE_NS = 60_000_000_000;

export class KillAssembler {
  private readonly chains = new Map<string, { records: CgRecord[]; at: number }>();
  private readonly decisions = new Map<number, { dec: DecisionRecord; oomPath: string | null; lastT: number }>();
  private readonly lastMark = new Map<number, { t: number; id: string; limitChain: Chain | null }>();
  private readonly pending = new Map<number, PendingMark>();
  private readonly exits = new Map<number, { exit: ExitRecord; chain: Chain | null; at: number }>();
  /** Victims already emitted from the trigger's own chain: their exit is expected and swallowed. */
  private readonly done = new Map<number, number>();
  private readonly waitMs: number;
  private latest: number | null = null;

  constructor(private readonly opts: AssemblerOptions) {
    this.waitMs = opts.exitWaitMs ?? 5000;
  }

  push(r: ProbeRecord): KernelKill[] {
    if ("t" in r && (this.latest === null || r.t > this.latest)) this.latest = r.t;
    switch (r.tag) {
      case "cg":
        return this.onChainLevel(r);
      case "dec":
        this.decisions.set(r.triggerTid, { dec: r, oomPath: this.takeChain("o", r.t, r.triggerTid)?.path ?? null, lastT: r.t });
        this.bound(this.decisions);
        return [];
      case "mark":
        return this.onMark(r);
      case "exit":
        return this.onExit(r);
      case "ready":
      case "sym":
        return [];
    }
  }

  /** Marks whose victim never exited in time go out without a cgroup; stale pieces are dropped. `all` empties every wait (at stop). */
  flush(all = false): KernelKill[] {
    const now = all ? Infinity : this.opts.now();
    const out: KernelKill[] = [];
    for (const [tid, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(tid);
        out.push(this.build(p, null));
      }
    }
    for (const [key, c] of this.chains) {
      if (c.at + this.waitMs <= now) {
        this.chains.delete(key);
        this.opts.onDrop?.("chain_orphaned");
      }
    }
    for (const [tid, e] of this.exits) {
      if (e.at + this.waitMs <= now) {
        this.exits.delete(tid);
        this.opts.onDrop?.("exit_without_mark");
      }
    }
    for (const [tid, at] of this.done) if (at + this.waitMs <= now) this.done.delete(tid);
    return out;
  }

  /** Kernel time of the newest record: how far bpftrace's output has come. */
  latestNs(): bigint | null {
    return this.latest === null ? null : BigInt(Math.round(this.latest));
  }

  /** True while a kill of this task is known but not yet emitted: a second source should wait for it. */
  isPending(tid: number): boolean {
    return this.pending.has(tid);
  }

  private onChainLevel(r: CgRecord): KernelKill[] {
    const key = `${r.role}:${r.t}:${r.tid}`;
    const c = this.chains.get(key);
    if (c) c.records.push(r);
    else {
      this.chains.set(key, { records: [r], at: this.opts.now() });
      this.bound(this.chains);
    }
    return [];
  }

  private takeChain(role: string, t: number, tid: number): Chain | null {
    const key = `${role}:${t}:${tid}`;
    const c = this.chains.get(key);
    if (!c) return null;
    this.chains.delete(key);
    const p = chainToPath(c.records);
    const levels = [...c.records].sort((a, b) => a.level - b.level).map((x) => levelFromRecord(x.name, x.usage, x.max));
    return { levels, path: p?.path ?? null, paths: p?.paths ?? [] };
  }

  private onMark(m: MarkRecord): KernelKill[] {
    const trigger = this.takeChain("t", m.t, m.triggerTid);
    if (!m.killed) {
      this.opts.onDrop?.("not_killed");
      return [];
    }
    const p: PendingMark = { mark: m, trigger, decision: this.decisionFor(m, trigger), deadline: this.opts.now() + this.waitMs };
    // The victim is the task that hit the limit: its own chain was read with the mark.
    if (m.victimTid === m.triggerTid) {
      this.done.set(m.victimTid, this.opts.now());
      this.bound(this.done);
      return [this.build(p, { exit: null, chain: trigger })];
    }
    const early = this.exits.get(m.victimTid);
    if (early) {
      this.exits.delete(m.victimTid);
      return [this.build(p, early)];
    }
    this.pending.set(m.victimTid, p);
    this.bound(this.pending);
    return [];
  }

  private onExit(e: ExitRecord): KernelKill[] {
    const chain = this.takeChain("v", e.t, e.tid);
    if (this.done.delete(e.tid)) return [];
    const p = this.pending.get(e.tid);
    if (p) {
      this.pending.delete(e.tid);
      return [this.build(p, { exit: e, chain })];
    }
    // The victim's CPU can report its exit before the trigger's CPU reports the mark.
    this.exits.set(e.tid, { exit: e, chain, at: this.opts.now() });
    this.bound(this.exits);
    return [];
  }

  private decisionFor(m: MarkRecord, trigger: Chain | null): PendingMark["decision"] {
    const d = this.decisions.get(m.triggerTid);
    if (d && m.t >= d.dec.t && m.t - d.lastT < DECISION_IDLE_NS) {
      d.lastT = Math.max(d.lastT, m.t);
      return { id: `${d.dec.t}-${d.dec.triggerTid}`, dec: d.dec, oomPath: d.oomPath, limitChain: null };
    }
    // No decision record (tracepoint kernels): a group member's mark comes from oom_kill_memcg_member()
    // and belongs to its trigger's last decision; any other mark starts one.
    const last = this.lastMark.get(m.triggerTid);
    const member = isGroupMemberStack(m.stack);
    const gap = last ? m.t - last.t : -1;
    const same = last && gap >= 0 && (member === null ? gap < GROUP_GAP_NS : member && gap < DECISION_IDLE_NS);
    const decision = same ? { id: last.id, limitChain: last.limitChain ?? trigger } : { id: `${m.t}-${m.triggerTid}`, limitChain: trigger };
    this.lastMark.set(m.triggerTid, { t: m.t, ...decision });
    this.bound(this.lastMark);
    return { ...decision, dec: null, oomPath: null };
  }

  private build(p: PendingMark, victim: { exit: ExitRecord | null; chain: Chain | null } | null): KernelKill {
    const { mark: m, decision } = p;
    const self = m.victimTid === m.triggerTid;
    const cgroupPath = victim?.chain?.path ?? null;
    const dec = decision.dec;
    const constraint = dec ? constraintFromKernel(dec.constraint) : classifyStack(m.stack);
    const constraintFrom = dec ? "kernel" : constraint === "unknown" ? "none" : "stack";
    let oomCgroupPath: string | null = null;
    if (dec) oomCgroupPath = decision.oomPath;
    else if (constraint === "memcg" && decision.limitChain) {
      oomCgroupPath = oomCgroupFromChain(decision.limitChain.levels, decision.limitChain.paths, cgroupPath);
    }
    const decVictim = dec && dec.victimTid === m.victimTid ? dec : null;
    return {
      source: "bpftrace",
      probe: this.opts.probe(),
      kernelTimeNs: BigInt(Math.round(m.t)),
      victim: {
        pid: victim?.exit?.pid ?? (self ? m.triggerPid : (decVictim?.victimPid ?? m.victimTid)),
        tid: m.victimTid,
        comm: victim?.exit?.comm ?? (self ? m.triggerComm : null) ?? (m.victimComm || decVictim?.victimComm || null),
        memory: m.memory,
      },
      trigger: { pid: m.triggerPid, tid: m.triggerTid, comm: m.triggerComm },
      constraint,
      constraintFrom,
      cgroupPath,
      oomCgroupPath,
      totalPages: dec ? dec.totalPages : null,
      decision: decision.id,
    };
  }

  /** Drops the oldest entry of a map past the bound, counting it. */
  private bound(map: Map<unknown, unknown>): void {
    if (map.size <= MAX_IN_FLIGHT) return;
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
    this.opts.onDrop?.("state_full");
  }
}
