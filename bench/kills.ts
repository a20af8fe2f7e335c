// Real memcg OOM kills for the benchmarks, in kubelet-shaped child cgroups of our own memory
// cgroup. Every victim runs under a cgroup limit and an address-space limit: if a limit failed
// to apply, the victim gets ENOMEM instead of pushing the host into a global OOM.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { TestCgroups, randomHex } from "../test/helpers/cgroup.ts";

/** The victims' memory cgroup limit: small, so each kill takes a few ms. */
export const VICTIM_LIMIT = 8 << 20;
/** ulimit -v for victims, in KiB: far above the cgroup limit, far below the host's memory. */
const ADDRESS_LIMIT_KIB = 256 * 1024;

/** The next path segment from `from` towards `to`, a descendant of it. */
const relativeStep = (from: string, to: string) => to.slice(from.length + 1).split("/")[0]!;

export interface Pod {
  uid: string;
  containerId: string;
  /** The container cgroup's directory; the victims run here. */
  dir: string;
}

/**
 * Pods under one base cgroup, and a victim program under a unique name: its comm tells our
 * kills from anyone else's on this machine (other tests also run `tail /dev/zero`).
 */
export class KillLab {
  readonly cg = new TestCgroups();
  readonly base = `oomtrace-bench-${randomHex(8)}`;
  readonly comm = `oomb-${randomHex(8)}`;
  private readonly linkDir = mkdtempSync(join(tmpdir(), "oomtrace-bench-"));
  readonly victim = this.victimNamed(this.comm);
  private stops: string[] = [];
  private cpuDirs: string[] = [];
  /** Why cpuGroup() could make no CPU cgroup. */
  cpuGroupWhy = "";

  /** A link to `tail` whose name becomes its comm: our victims' name on this machine. */
  private victimNamed(comm: string): string {
    const path = join(this.linkDir, comm);
    symlinkSync(Bun.which("tail")!, path);
    return path;
  }

  /** A BestEffort pod (cgroupfs layout) with one container cgroup limited to VICTIM_LIMIT. */
  pod(uid: string = crypto.randomUUID()): Pod {
    const containerId = randomHex(64);
    const { dir } = this.cg.make(`${this.base}/kubepods/besteffort/pod${uid}/${containerId}`, VICTIM_LIMIT);
    const file = join(dir, this.cg.root.version === "v1" ? "memory.limit_in_bytes" : "memory.max");
    if (Number(readFileSync(file, "utf8")) > VICTIM_LIMIT) throw new Error(`${file} did not take the limit ${VICTIM_LIMIT}: refusing to run victims there`);
    return { uid, containerId, dir };
  }

  /** One victim in `pod`; resolves when it is dead (by the kernel's SIGKILL, or an error). */
  async killOnce(pod: Pod): Promise<{ pid: number; signal: string | null }> {
    const script = `ulimit -v ${ADDRESS_LIMIT_KIB} && echo $$ > "$1/cgroup.procs" && echo 1000 > /proc/self/oom_score_adj && exec "$2" /dev/zero`;
    const p = Bun.spawn(["sh", "-c", script, "sh", pod.dir, this.victim], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    await p.exited;
    return { pid: p.pid, signal: p.signalCode === null ? null : String(p.signalCode) };
  }

  /**
   * kubelet's CPU layout for BestEffort pods, where the storm's tasks can run: a cgroup with
   * cpu.shares 2 (v1; kubelet's minimum) or cpu.weight 1 (v2) under a `kubepods` one. On a node the
   * agent runs outside it (a system slice, or its own pod with CPU requests), so a storm of
   * BestEffort pods competes for CPU as one small group, not task by task. Null when this machine
   * has no CPU controller to make it in; the reason is in `cpuGroupWhy`.
   */
  cpuGroup(): string | null {
    try {
      if (this.cg.root.version === "v1") {
        const top = "/sys/fs/cgroup/cpu";
        if (!existsSync(join(top, "cpu.shares"))) throw new Error(`no cgroup v1 CPU controller at ${top}`);
        let dir = top;
        for (const part of [this.base, "kubepods", "besteffort"]) {
          dir = join(dir, part);
          if (existsSync(dir)) continue;
          mkdirSync(dir);
          this.cpuDirs.push(dir);
        }
        writeFileSync(join(dir, "cpu.shares"), "2");
        return dir;
      }
      // v2: the storm's memory cgroups are in the same tree; the CPU controller is switched on down to besteffort.
      const { dir } = this.cg.make(`${this.base}/kubepods/besteffort`);
      for (let d = this.cg.root.dir; d !== dir; d = join(d, relativeStep(d, dir))) writeFileSync(join(d, "cgroup.subtree_control"), "+cpu");
      writeFileSync(join(dir, "cpu.weight"), "1");
      return dir;
    } catch (e) {
      this.cpuGroupWhy = (e as Error).message;
      return null;
    }
  }

  /**
   * One loop per pod that starts a victim again as soon as the kernel killed the last one, until
   * stop(). The loop shell sits in the pod too, but small and at oom_score_adj 0 beside victims at
   * 1000, so the kernel always picks a victim. (Writing -1000 fails with EIO on this host.) With
   * `cpuDir` (cpuGroup()), the loops and their victims run in that CPU cgroup (v1: a hierarchy of its own).
   * Each storm's victims have a name of their own (`comm`): a report that comes late is still counted for its storm.
   */
  storm(pods: Pod[], cpuDir: string | null = null): { comm: string; stop(): Promise<void> } {
    const comm = `oomb-${randomHex(8)}`;
    const victim = this.victimNamed(comm);
    const stopFile = join(this.linkDir, `stop-${randomHex(6)}`);
    this.stops.push(stopFile);
    const toCpu = cpuDir && this.cg.root.version === "v1" ? cpuDir : "";
    const script =
      `ulimit -v ${ADDRESS_LIMIT_KIB} && echo $$ > "$1/cgroup.procs" || exit 1\n` +
      `if [ -n "$4" ]; then echo $$ > "$4/cgroup.procs" || exit 1; fi\n` +
      `while [ ! -e "$2" ]; do (echo 1000 > /proc/self/oom_score_adj && exec "$3" /dev/zero) 2>/dev/null; done`;
    const loops = pods.map((pod) => Bun.spawn(["sh", "-c", script, "sh", pod.dir, stopFile, victim, toCpu], { stdin: "ignore", stdout: "ignore", stderr: "ignore" }));
    return {
      comm,
      async stop() {
        writeFileSync(stopFile, "");
        await Promise.all(loops.map((l) => l.exited));
      },
    };
  }

  /** Removes the pods' cgroups (their processes gone), as kubelet does after a pod: early warning stops watching them. */
  removePods(pods: Pod[]): void {
    for (const p of pods) for (const dir of [p.dir, dirname(p.dir)]) if (existsSync(dir)) rmdirSync(dir);
  }

  /** The kernel's own count of OOM kills in each pod's container cgroup. */
  kernelKills(pods: Pod[]): number {
    return pods.reduce((n, p) => n + this.cg.oomKills(p.dir), 0);
  }

  async remove(): Promise<void> {
    for (const f of this.stops) if (!existsSync(f)) writeFileSync(f, "");
    await this.cg.remove();
    for (const dir of this.cpuDirs.reverse()) rmdirSync(dir);
    rmSync(this.linkDir, { recursive: true, force: true });
  }
}
