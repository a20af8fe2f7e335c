// Real memcg OOM kills for the benchmarks, in kubelet-shaped child cgroups of our own memory
// cgroup. Every victim runs under a cgroup limit and an address-space limit: if a limit failed
// to apply, the victim gets ENOMEM instead of pushing the host into a global OOM.
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestCgroups, randomHex } from "../test/helpers/cgroup.ts";

/** The victims' memory cgroup limit: small, so each kill takes a few ms. */
export const VICTIM_LIMIT = 8 << 20;
/** ulimit -v for victims, in KiB: far above the cgroup limit, far below the host's memory. */
const ADDRESS_LIMIT_KIB = 256 * 1024;

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
  readonly victim = join(this.linkDir, this.comm);
  private stops: string[] = [];

  constructor() {
    symlinkSync(Bun.which("tail")!, this.victim);
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
   * One loop per pod that starts a victim again as soon as the kernel killed the last one, until
   * stop(). The loop shell sits in the pod too, but small and at oom_score_adj 0 beside victims at
   * 1000, so the kernel always picks a victim. (Writing -1000 fails with EIO on this host.)
   */
  storm(pods: Pod[]): { stop(): Promise<void> } {
    const stopFile = join(this.linkDir, `stop-${randomHex(6)}`);
    this.stops.push(stopFile);
    const script =
      `ulimit -v ${ADDRESS_LIMIT_KIB} && echo $$ > "$1/cgroup.procs" || exit 1\n` +
      `while [ ! -e "$2" ]; do (echo 1000 > /proc/self/oom_score_adj && exec "$3" /dev/zero) 2>/dev/null; done`;
    const loops = pods.map((pod) => Bun.spawn(["sh", "-c", script, "sh", pod.dir, stopFile, this.victim], { stdin: "ignore", stdout: "ignore", stderr: "ignore" }));
    return {
      async stop() {
        writeFileSync(stopFile, "");
        await Promise.all(loops.map((l) => l.exited));
      },
    };
  }

  /** The kernel's own count of OOM kills in each pod's container cgroup. */
  kernelKills(pods: Pod[]): number {
    return pods.reduce((n, p) => n + this.cg.oomKills(p.dir), 0);
  }

  async remove(): Promise<void> {
    for (const f of this.stops) if (!existsSync(f)) writeFileSync(f, "");
    await this.cg.remove();
    rmSync(this.linkDir, { recursive: true, force: true });
  }
}
