// What the kernel says about processes and the machine: CPU time, RSS, load, OOM counters.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ownCgroup } from "../test/helpers/cgroup.ts";

const read = (p: string): string | null => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return null;
  }
};

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux build this runs on. */
const TICKS_PER_S = 100;

/** User + system CPU of a process (all its threads, live and exited), in ms; null once it is gone. */
export function cpuMs(pid: number): number | null {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return null;
  // Fields after the comm, which may hold spaces and parentheses: state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S;
}

/**
 * CPU time of the processes moved into a cgroup of their own, in ms, exited threads included
 * (v1: cpuacct.usage, ns; v2: cpu.stat usage_usec). Per-thread counters would lose the run time of
 * threads that exit in the window, and Bun's JIT and GC helper threads come and go even at rest.
 * The group sits under the benchmark's own cgroup, the one its children start in.
 */
export class CpuAccount {
  private constructor(
    readonly dir: string,
    private readonly v1: boolean,
  ) {}

  static make(name: string): CpuAccount {
    const own = ownCgroup("cpuacct");
    const dir = join(own.dir, name);
    mkdirSync(dir);
    return new CpuAccount(dir, own.version === "v1");
  }

  /** Moves a process (all its threads) into the group; its children start there too. */
  add(pid: number): void {
    writeFileSync(join(this.dir, "cgroup.procs"), String(pid));
  }

  usageMs(): number {
    if (this.v1) return Number(readFileSync(join(this.dir, "cpuacct.usage"), "utf8")) / 1e6;
    return Number(/^usage_usec (\d+)$/m.exec(readFileSync(join(this.dir, "cpu.stat"), "utf8"))?.[1] ?? NaN) / 1e3;
  }

  /** Once its processes are gone. */
  remove(): void {
    if (existsSync(this.dir)) rmdirSync(this.dir);
  }
}

export interface Rss {
  anonKiB: number;
  fileKiB: number;
  shmemKiB: number;
}

export function rss(pid: number): Rss | null {
  const s = read(`/proc/${pid}/status`);
  if (!s) return null;
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
  return { anonKiB: kib("RssAnon"), fileKiB: kib("RssFile"), shmemKiB: kib("RssShmem") };
}

/** The 1-, 5- and 15-minute load averages. */
export function loadavg(): [number, number, number] {
  const [a, b, c] = (read("/proc/loadavg") ?? "NaN NaN NaN").split(" ").map(Number);
  return [a!, b!, c!];
}

/** OOM kills on the whole machine since boot (every cgroup, every user of this host). */
export function vmstatOomKills(): number {
  return Number(/^oom_kill (\d+)$/m.exec(read("/proc/vmstat") ?? "")?.[1] ?? NaN);
}

/** Pids whose parent is `ppid` and whose comm is `comm` (children of any of its threads). */
export function childrenNamed(ppid: number, comm: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const stat = read(`/proc/${e}/stat`);
    if (!stat) continue;
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (parent === ppid && name === comm) out.push(Number(e));
  }
  return out;
}

/** The sum of a metric's series whose line includes `labelMatch`, from a /metrics text. */
export function metricSum(text: string, name: string, labelMatch = ""): number {
  let n = 0;
  for (const line of text.split("\n")) if (line.startsWith(name) && line.includes(labelMatch)) n += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
  return n;
}
