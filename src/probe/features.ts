// What the running kernel and bpftrace offer: the facts the probe choice rests on.

export interface BpftraceInfo {
  path: string;
  /** [major, minor, patch], or null when the version line could not be read. */
  version: [number, number, number] | null;
  /** bpftrace's own word that it can attach fentry (older versions call it kfunc). */
  fentry: boolean;
}

export interface KernelFeatures {
  kernelRelease: string;
  btf: boolean;
  /** Mount point of tracefs, or null when neither tracefs nor debugfs tracing is mounted. */
  tracefs: string | null;
  /** CONFIG_KPROBES: tracefs has kprobe_events. */
  kprobes: boolean;
  /** oom_kill_process is a kernel symbol (not inlined away): what a kprobe needs. */
  oomKillProcessSymbol: boolean;
  /** oom_kill_process is in ftrace's available_filter_functions: what fentry needs. */
  oomKillProcessFtrace: boolean;
  /** Field names of tracepoint oom:mark_victim (besides common_*), or null when it is absent. */
  markVictimFields: string[] | null;
  /** Index of the memory controller in task->cgroups->subsys[], or null. */
  memcgId: number | null;
  /** Where the memory controller lives. */
  cgroup: "v1" | "v2" | "none";
  /** Name of struct page_counter's limit field ("max"; "limit" before 4.16), or null if unknown. */
  pageCounterMax: "max" | "limit" | null;
  bpftrace: BpftraceInfo;
}

/** Fields of a tracefs event `format` file, without the common_* header fields. */
export function parseTracepointFormat(text: string): string[] {
  const fields: string[] = [];
  for (const m of text.matchAll(/^\s*field:(.*?);\s*offset:/gm)) {
    const decl = (m[1] ?? "").trim();
    const name = /([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?$/.exec(decl)?.[1];
    if (name && !name.startsWith("common_")) fields.push(name);
  }
  return fields;
}

/** Index of `memory` among /proc/cgroups rows: the kernel lists controllers in subsys-id order. */
export function parseMemcgId(procCgroups: string): number | null {
  const rows = procCgroups.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const i = rows.findIndex((l) => l.split(/\s+/)[0] === "memory");
  if (i < 0) return null;
  const enabled = rows[i]!.trim().split(/\s+/)[3];
  return enabled === "0" ? null : i;
}

/** Where the memory controller is mounted, from /proc/self/mounts: a v1 memory hierarchy wins over cgroup2. */
export function parseMemoryCgroupMount(mounts: string): { version: "v1" | "v2"; dir: string } | null {
  let v2: string | null = null;
  for (const line of mounts.split("\n")) {
    const [, dir, type, opts] = line.split(" ");
    if (type === "cgroup" && (opts ?? "").split(",").includes("memory")) return { version: "v1", dir: dir! };
    if (type === "cgroup2") v2 ??= dir!;
  }
  return v2 === null ? null : { version: "v2", dir: v2 };
}

export function parseMemoryCgroupVersion(mounts: string): "v1" | "v2" | "none" {
  return parseMemoryCgroupMount(mounts)?.version ?? "none";
}

/** `bpftrace v0.17.0` / `bpftrace v0.23.2-...` → [0, 17, 0]. */
export function parseBpftraceVersion(text: string): [number, number, number] | null {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** `bpftrace --info` says `kfunc: yes` (≤0.19) or `fentry: yes` (newer; 0.23 prints two per line). */
export function parseBpftraceFentry(info: string): boolean {
  return /(^|\s)(kfunc|fentry):\s*yes(\s|$)/m.test(info);
}

export function versionAtLeast(v: [number, number, number] | null, want: [number, number, number]): boolean {
  if (!v) return false;
  for (let i = 0; i < 3; i++) if (v[i] !== want[i]) return v[i]! > want[i]!;
  return true;
}
