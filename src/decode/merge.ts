// Joins the two sources into one stream with no duplicates (pure; clock injected).
// bpftrace kills go out at once. A kmsg kill is held for a grace period: if bpftrace reports
// the same victim it only confirms it; if not (bpftrace down, events lost) it goes out itself.
// A busy node can hold bpftrace's output back for longer than the grace (a storm of exiting
// tasks starves it): while bpftrace has not yet delivered anything from well after the kill, the
// kmsg kill keeps waiting, up to maxHoldMs. The two stamp time with different clocks (bpftrace
// CLOCK_MONOTONIC, kmsg the scheduler clock; 66 ms apart in a qemu guest after 5 min), so the
// comparison corrects by the offset of the last kill both reported, plus a margin.
import type { KernelKill } from "../types.ts";

export interface MergeOptions {
  now: () => number;
  /** How long a kmsg kill waits for bpftrace while bpftrace is attached (its first kstack loads kallsyms: seconds). */
  graceMs?: number;
  /** True while bpftrace is attached: when it is not, kmsg kills go out without waiting. */
  bpftraceUp: () => boolean;
  /** True while bpftrace holds a kill of this task that it has not finished assembling. */
  bpftracePending: (tid: number) => boolean;
  /** Kernel time of the newest record bpftrace delivered (null: none yet). */
  bpftraceSeenNs?: () => bigint | null;
  /** How long a kmsg kill waits at most for a bpftrace that is behind. */
  maxHoldMs?: number;
  onConfirm?: (kmsg: KernelKill, bpf: KernelKill, agree: boolean) => void;
  onDuplicate?: (late: KernelKill) => void;
}

/** The same victim seen by both sources lies within this much kernel time. */
const SAME_KILL_NS = 5_000_000_000n;
/**
 * bpftrace is past a kill once it delivered a record this much later (after the clock offset).
 * Seconds, not less: bpftrace 0.17 drains one perf buffer per CPU in turn, so on a starved node
 * one CPU's records come out seconds ahead of another's (1 s let a kill storm's kmsg events out first).
 */
const PAST_MARGIN_NS = 5_000_000_000n;
const REMEMBER_MS = 30_000;
const MAX_REMEMBERED = 4096;

interface Seen {
  kill: KernelKill;
  at: number;
  /** The victim task: kmsg prints its pid, which is the tid bpftrace marks. */
  task: number;
}

const abs = (x: bigint): bigint => (x < 0n ? -x : x);

/** The victim task a kill is matched by: bpftrace marks its tid, kmsg prints its pid (the task's own). */
const taskOf = (k: KernelKill): number => (k.source === "bpftrace" ? (k.victim.tid ?? k.victim.pid) : k.victim.pid);

/** Kills in arrival order, looked up by victim task: a storm holds thousands, and every record is matched. */
class Kills {
  private readonly all = new Set<Seen>();
  private readonly byTask = new Map<number, Seen[]>();

  get size(): number {
    return this.all.size;
  }

  add(kill: KernelKill, at: number): void {
    const s: Seen = { kill, at, task: taskOf(kill) };
    this.all.add(s);
    const list = this.byTask.get(s.task);
    if (list) list.push(s);
    else this.byTask.set(s.task, [s]);
  }

  delete(s: Seen): void {
    this.all.delete(s);
    const list = this.byTask.get(s.task)?.filter((x) => x !== s) ?? [];
    if (list.length) this.byTask.set(s.task, list);
    else this.byTask.delete(s.task);
  }

  of(task: number): readonly Seen[] {
    return this.byTask.get(task) ?? [];
  }

  /** Oldest first. */
  values(): IterableIterator<Seen> {
    return this.all.values();
  }
}

export class SourceMerger {
  private readonly emitted = new Kills();
  private readonly held = new Kills();
  private readonly graceMs: number;
  private readonly maxHoldMs: number;
  /** bpftrace's kernel time minus kmsg's, for the last kill both reported. */
  private offsetNs = 0n;

  constructor(private readonly o: MergeOptions) {
    this.graceMs = o.graceMs ?? 5000;
    this.maxHoldMs = Math.max(this.graceMs, o.maxHoldMs ?? 30_000);
  }

  push(k: KernelKill): KernelKill[] {
    return k.source === "bpftrace" ? this.fromBpftrace(k) : this.fromKmsg(k);
  }

  /**
   * Held kmsg kills whose grace ran out, and whom bpftrace is neither still assembling nor behind on.
   * `all`: every held kill, as when the agent stops (bpftrace has said all it will).
   */
  flush(all = false): KernelKill[] {
    const now = this.o.now();
    const up = this.o.bpftraceUp();
    const watermark = this.o.bpftraceSeenNs;
    const seen = watermark?.() ?? null;
    const out: KernelKill[] = [];
    for (const h of this.held.values()) {
      const waited = now - h.at >= this.graceMs || !up;
      const past = seen !== null && seen - this.offsetNs >= h.kill.kernelTimeNs + PAST_MARGIN_NS;
      const behind = watermark !== undefined && !past && now - h.at < this.maxHoldMs;
      if (all || (waited && !(up && (this.o.bpftracePending(h.task) || behind)))) {
        this.held.delete(h);
        out.push(h.kill);
      }
    }
    for (const k of out) this.remember(k);
    for (const e of this.emitted.values()) {
      if (now - e.at <= REMEMBER_MS) break;
      this.emitted.delete(e);
    }
    return out;
  }

  private fromBpftrace(k: KernelKill): KernelKill[] {
    const tid = taskOf(k);
    const twins = this.held.of(tid).filter((h) => this.same(h.kill, tid, k.kernelTimeNs));
    if (twins.length) {
      // Every held line of this kill: a group kill's chosen victim is printed twice.
      for (const h of twins) this.held.delete(h);
      this.confirm(twins[0]!.kill, k);
    } else if (this.emitted.of(tid).some((e) => e.kill.source === "kmsg" && this.same(e.kill, tid, k.kernelTimeNs))) {
      // kmsg already reported it while bpftrace was slow: one event per kill, so this one is dropped.
      this.o.onDuplicate?.(k);
      return [];
    }
    this.remember(k);
    return [k];
  }

  private fromKmsg(k: KernelKill): KernelKill[] {
    const pid = k.victim.pid;
    const twin = this.emitted.of(pid).find((e) => e.kill.source === "bpftrace" && this.same(k, e.task, e.kill.kernelTimeNs));
    if (twin) {
      this.confirm(k, twin.kill);
      return [];
    }
    // The kernel prints a group kill's chosen victim twice ("Killed process" as chosen, then as a member).
    const again = (s: Seen) => s.kill.source === "kmsg" && this.same(k, s.task, s.kill.kernelTimeNs);
    if (this.held.of(pid).some(again) || this.emitted.of(pid).some(again)) {
      this.o.onDuplicate?.(k);
      return [];
    }
    this.held.add(k, this.o.now());
    // Too many held (a long storm while bpftrace is behind): the oldest goes out as kmsg saw it, never dropped.
    const overflow: KernelKill[] = [];
    for (const h of this.held.values()) {
      if (this.held.size <= MAX_REMEMBERED) break;
      this.held.delete(h);
      overflow.push(h.kill);
    }
    for (const o of overflow) this.remember(o);
    // With bpftrace up nothing just held can be due: the agent's timer flushes the rest.
    return this.o.bpftraceUp() ? overflow : [...overflow, ...this.flush()];
  }

  /** kmsg prints the victim task's pid, which is the tid bpftrace marks. */
  private same(kmsg: KernelKill, tid: number, t: bigint): boolean {
    return kmsg.victim.pid === tid && abs(kmsg.kernelTimeNs - t) < SAME_KILL_NS;
  }

  /**
   * kmsg's "Memory cgroup out of memory" / "Out of memory" prefix only tells memcg from the rest
   * (cpuset and mempolicy print "Out of memory" too), so the two agree when they fall on the same side.
   */
  private confirm(kmsg: KernelKill, bpf: KernelKill): void {
    this.offsetNs = bpf.kernelTimeNs - kmsg.kernelTimeNs;
    const side = (c: KernelKill["constraint"]) => (c === "memcg" ? "memcg" : "node");
    const agree = kmsg.constraint === "unknown" || bpf.constraint === "unknown" || side(kmsg.constraint) === side(bpf.constraint);
    this.o.onConfirm?.(kmsg, bpf, agree);
  }

  private remember(k: KernelKill): void {
    this.emitted.add(k, this.o.now());
    if (this.emitted.size > MAX_REMEMBERED) this.emitted.delete(this.emitted.values().next().value!);
  }
}
