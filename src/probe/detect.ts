// Reads the facts of KernelFeatures from the host (I/O edge).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import {
  type KernelFeatures,
  parseBpftraceFentry,
  parseBpftraceVersion,
  parseMemcgId,
  parseMemoryCgroupVersion,
  parseTracepointFormat,
} from "./features.ts";

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

// Generous: the three bpftrace runs start LLVM at once, and on a busy or emulated node each took
// more than 15 s (a qemu guest on a loaded host; bpftrace 0.23 from a chroot) and read as missing.
async function run(cmd: string, args: string[]): Promise<string> {
  const r = await execa(cmd, args, { reject: false, timeout: 60_000, stdin: "ignore" });
  return `${r.stdout ?? ""}\n${r.stderr ?? ""}`;
}

/** Finds tracefs: the modern mount point first, then the debugfs one bpftrace 0.17 reads. */
export function findTracefs(hostRoot: string): string | null {
  for (const dir of ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]) {
    if (existsSync(join(hostRoot, dir, "events"))) return join(hostRoot, dir);
  }
  return null;
}

/** The host's mount table: under a host root, the host's mounts are those of its init process. */
export function hostMounts(hostRoot: string): string {
  return read(join(hostRoot, hostRoot === "/" ? "/proc/self/mounts" : "/proc/1/mounts")) ?? "";
}

export async function detectFeatures(opts: { hostRoot: string; bpftrace: string }): Promise<KernelFeatures> {
  const root = opts.hostRoot;
  const tracefs = findTracefs(root);
  // The bpftrace runs go first: the big kernel files below (kallsyms is 5 MB) are read while they run.
  const runs = Promise.all([run(opts.bpftrace, ["--version"]), run(opts.bpftrace, ["--info"]), run(opts.bpftrace, ["-lv", "struct page_counter"])]);
  const format = tracefs ? read(join(tracefs, "events/oom/mark_victim/format")) : null;
  const filterFns = tracefs ? read(join(tracefs, "available_filter_functions")) : null;
  const kallsyms = read(join(root, "/proc/kallsyms")) ?? "";
  const [versionText, infoText, pageCounter] = await runs;
  return {
    kernelRelease: (read(join(root, "/proc/sys/kernel/osrelease")) ?? "unknown").trim(),
    btf: existsSync(join(root, "/sys/kernel/btf/vmlinux")),
    tracefs,
    kprobes: tracefs !== null && existsSync(join(tracefs, "kprobe_events")),
    oomKillProcessSymbol: / [tT] oom_kill_process$/m.test(kallsyms),
    oomKillProcessFtrace: filterFns !== null && /^oom_kill_process(\s|$)/m.test(filterFns),
    markVictimFields: format === null ? null : parseTracepointFormat(format),
    memcgId: parseMemcgId(read(join(root, "/proc/cgroups")) ?? ""),
    cgroup: parseMemoryCgroupVersion(hostMounts(root)),
    pageCounterMax: /\bmax;/.test(pageCounter) ? "max" : /\blimit;/.test(pageCounter) ? "limit" : null,
    bpftrace: {
      path: opts.bpftrace,
      version: parseBpftraceVersion(versionText),
      fentry: parseBpftraceFentry(infoText),
    },
  };
}
