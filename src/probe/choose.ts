// Which probe to load: the richest one this kernel and bpftrace can attach (pure).
import type { KernelFeatures } from "./features.ts";

export type ProbeMode = "fentry" | "kprobe" | "tracepoint";
export const PROBE_MODES: readonly ProbeMode[] = ["fentry", "kprobe", "tracepoint"];

export interface ProbeChoice {
  /** Modes that can work here, richest first: the agent falls back along this list if an attach fails. */
  modes: ProbeMode[];
  /** Why each mode was kept or left out, one line each, for the log and the probe header. */
  reasons: string[];
  /** Why each mode is left out on this kernel, or null when it can run. */
  leftOut: Record<ProbeMode, string | null>;
}

export class ProbeChoiceError extends Error {
  readonly code = "E_NO_PROBE";
}

/** What the base (tracepoint) probe needs; every richer one needs it too. */
export function baseProblems(f: KernelFeatures): string[] {
  // Without a runnable bpftrace every other fact is unknown: say only that.
  if (!f.bpftrace.version) {
    return [`bpftrace at ${JSON.stringify(f.bpftrace.path)} did not run: install it (apt-get install bpftrace) or pass --bpftrace PATH`];
  }
  const p: string[] = [];
  if (!f.tracefs) p.push("tracefs is not mounted: mount -t tracefs nodev /sys/kernel/tracing");
  else if (!f.markVictimFields) p.push("tracepoint oom:mark_victim is missing from tracefs");
  if (!f.btf) p.push("no kernel BTF (/sys/kernel/btf/vmlinux): the probe reads task and cgroup structs through it");
  if (f.memcgId === null) p.push("no memory controller in /proc/cgroups: OOM kills cannot be tied to cgroups");
  if (f.btf && !f.pageCounterMax) p.push("struct page_counter has no max/limit field in BTF (bpftrace -lv 'struct page_counter' shows none)");
  return p;
}

export function chooseProbe(f: KernelFeatures, force?: ProbeMode): ProbeChoice {
  const base = baseProblems(f);
  if (base.length) throw new ProbeChoiceError(`no probe can run on this node: ${base.join("; ")}`);
  const why: Record<ProbeMode, string | null> = {
    fentry: !f.oomKillProcessFtrace
      ? "oom_kill_process is not in ftrace's available_filter_functions"
      : !f.bpftrace.fentry
        ? "bpftrace reports no fentry/kfunc support on this kernel"
        : null,
    kprobe: !f.oomKillProcessSymbol
      ? "oom_kill_process is not in /proc/kallsyms (inlined or missing)"
      : !f.kprobes
        ? "the kernel has no kprobes (no kprobe_events in tracefs)"
        : null,
    tracepoint: null,
  };
  const reasons = PROBE_MODES.map((m) => (why[m] ? `${m}: not available, ${why[m]}` : `${m}: available`));
  let modes = PROBE_MODES.filter((m) => why[m] === null);
  if (force) {
    if (!modes.includes(force)) {
      throw new ProbeChoiceError(`probe mode ${force} was asked for but cannot run here: ${why[force]}`);
    }
    modes = [force];
    reasons.push(`${force}: forced by --probe-mode`);
  }
  return { modes, reasons, leftOut: why };
}
