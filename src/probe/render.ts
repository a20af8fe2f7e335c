// Fills the probe templates in probes/ for one kernel and bpftrace (pure).
import mainTemplate from "../../probes/oomtrace.bt.in" with { type: "text" };
import decisionTemplate from "../../probes/decision.bt.in" with { type: "text" };
import chainTemplate from "../../probes/chain.bt.in" with { type: "text" };
import { type KernelFeatures, versionAtLeast } from "./features.ts";
import type { ProbeMode } from "./choose.ts";

/** Levels of the cgroup tree read per chain: kubelet trees under a nested prefix stay well inside it. */
export const CHAIN_DEPTH = 16;

/**
 * Frames of the trigger's stack kept at a mark: out_of_memory() and its callers sit within the
 * first ten (a group member's: mark_oom_victim, __oom_kill_process, oom_kill_memcg_member,
 * mem_cgroup_scan_tasks, oom_kill_process, out_of_memory, callers). The limit also sizes bpftrace's
 * stack map, 131072 entries of 8 bytes per frame: at the default 127 frames it locked 130 MiB of
 * kernel memory with 0.17 and 137 MiB with 0.23; at 16 frames, 19 and 26 MiB (measured).
 */
export const STACK_FRAMES = 16;

/** mark_victim fields that carry the victim's memory facts (upstream 72ba14deb40a and its backports). */
export const MEMORY_FIELDS = ["total_vm", "anon_rss", "file_rss", "shmem_rss", "uid", "pgtables", "oom_score_adj"];

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

function chain(role: "t" | "v" | "o", pcMax: string): string {
  return fill(chainTemplate, { DEPTH: String(CHAIN_DEPTH), ROLE: role, PC_MAX: pcMax }).trimEnd();
}

/** bpftrace 0.21 brought `args.field`; older ones only know `args->field`. */
export function argPrefix(f: KernelFeatures): string {
  return versionAtLeast(f.bpftrace.version, [0, 21, 0]) ? "args." : "args->";
}

/**
 * How the tracepoint probes reach their fields. bpftrace before 0.21 reads tracefs's whole
 * available_events again about 20 times for each `args->field` in the script, and 10 times when the
 * field is reached through a variable (measured with 0.17: 282 reads of 2300 lines, a quarter of its
 * start-up CPU; 142 this way). 0.23 reads it a dozen times in all, and a copied record would lose
 * its __data_loc strings, so from 0.21 the fields stay on `args`.
 */
function tracepointArgs(f: KernelFeatures): { line: string; prefix: string } {
  const prefix = argPrefix(f);
  return prefix === "args." ? { line: "", prefix } : { line: "  $a = args;\n", prefix: "$a->" };
}

export function renderProbe(f: KernelFeatures, mode: ProbeMode): string {
  const args = tracepointArgs(f);
  const arg = args.prefix;
  const fields = f.markVictimFields ?? [];
  const hasMemory = MEMORY_FIELDS.every((x) => fields.includes(x));
  // bpftrace 0.21–0.23 read __data_loc strings as empty; the victim's comm then comes from its exit.
  const dataLocOk = !versionAtLeast(f.bpftrace.version, [0, 21, 0]) || versionAtLeast(f.bpftrace.version, [0, 24, 0]);
  const pcMax = f.pageCounterMax ?? "max";
  // ARGS stands on a line of its own, which goes when there is no variable to set.
  let script = fill(mainTemplate.replace(/^\{\{ARGS\}\}\n/gm, () => args.line), {
    ARG: arg,
    MEMCG_ID: String(f.memcgId),
    MARK_FIELDS: hasMemory ? MEMORY_FIELDS.map((x) => `${arg}${x}`).join(", ") : MEMORY_FIELDS.map(() => "-1").join(", "),
    MARK_COMM: fields.includes("comm") && dataLocOk ? `str(${arg}comm)` : `""`,
    // The stack tells a memcg OOM from a global one where no decision probe gives the constraint.
    STACK: mode === "tracepoint" ? `kstack(${STACK_FRAMES})` : `""`,
    // bpftrace loads kallsyms when it first prints a kstack: seconds on a slow machine, which would
    // hold back the first kill. Resolving an address before "ready" loads them at start instead. It is
    // resolved at run time: kaddr("name") would be resolved at compile time, and without CAP_SYSLOG
    // (kallsyms hidden) the whole probe would then fail to compile instead of losing only the symbols.
    WARM_UP: mode === "tracepoint" ? `  print(("sym", ksym(0)));` : "",
  });
  if (mode !== "tracepoint") {
    const fentryName = versionAtLeast(f.bpftrace.version, [0, 20, 0]) ? "fentry" : "kfunc";
    script += fill(decisionTemplate, {
      DECISION_PROBE: mode === "fentry" ? `${fentryName}:oom_kill_process` : "kprobe:oom_kill_process",
      OC: mode === "fentry" ? `${argPrefix(f)}oc` : "arg0",
    });
  }
  // A placeholder's own indent goes on every line of its chain (the exit probe reads it inside an if).
  const chains = (_: string, indent: string, role: "t" | "v" | "o") => chain(role, pcMax).replace(/^/gm, indent);
  return script.replace(/^([ \t]*)\{\{CHAIN ([tvo])\}\}/gm, chains) + "\n";
}

/** The comment block `oomtrace probe` prints above the script: what was chosen and why. */
export function probeHeader(f: KernelFeatures, mode: ProbeMode, reasons: string[]): string {
  const v = f.bpftrace.version?.join(".") ?? "unknown";
  const lines = [
    `oomtrace probe for kernel ${f.kernelRelease}, bpftrace ${v} (${f.bpftrace.path})`,
    `chosen: ${mode}`,
    ...reasons,
    `memory cgroup: ${f.cgroup}, subsys index ${f.memcgId}; BTF ${f.btf ? "yes" : "no"}; tracefs ${f.tracefs ?? "not mounted"}`,
    `mark_victim fields: ${(f.markVictimFields ?? []).join(" ") || "none"}`,
    "Run it yourself: bpftrace -f json <this file>; or give it to oomtrace run --probe <file>.",
  ];
  return lines.map((l) => `// ${l}`).join("\n") + "\n";
}
