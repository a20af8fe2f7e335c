import { describe, expect, test } from "bun:test";
import { KmsgOomAssembler } from "../../../src/sources/kmsg/assemble.ts";
import { parseKmsgRecord, type KmsgRecord } from "../../../src/sources/kmsg/parse.ts";
import type { KernelKill } from "../../../src/types.ts";

let seq = 0;
/** A record as /dev/kmsg prints it: UTF-8 bytes, with control, high and backslash bytes as \xNN. */
function rec(message: string, tsUsec: number, pri = 3): KmsgRecord {
  let text = "";
  for (const b of Buffer.from(message, "utf8")) {
    text += b < 0x20 || b >= 0x7f || b === 0x5c ? `\\x${b.toString(16).padStart(2, "0")}` : String.fromCharCode(b);
  }
  const r = parseKmsgRecord(`${pri},${seq++},${tsUsec},-;${text}\n`);
  if (!r) throw new Error("bad test record");
  return r;
}

function run(records: KmsgRecord[]): KernelKill[] {
  const a = new KmsgOomAssembler();
  return records.flatMap((r) => a.push(r) ?? []);
}

const T = 5_000_000_000; // µs since boot
const invoked = (comm: string) => `${comm} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0`;
const memcgSummary = (pid: number, memcg = "/process_api/fcc5/exp2") =>
  `oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=${memcg},task_memcg=${memcg},task=python3,pid=${pid},uid=0`;
const globalSummary = (pid: number, constraint = "CONSTRAINT_NONE") =>
  `oom-kill:constraint=${constraint},nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/x.service,task=stress,pid=${pid},uid=0`;
const killed = (pid: number, comm = "python3", prefix = "Memory cgroup out of memory: ") =>
  `${prefix}Killed process ${pid} (${comm}) total-vm:78008kB, anon-rss:68224kB, file-rss:3204kB, shmem-rss:0kB, UID:0 pgtables:192kB oom_score_adj:1000`;
const GLOBAL = "Out of memory: ";

describe("KmsgOomAssembler", () => {
  test("the memcg OOM measured here", () => {
    const kills = run([
      rec(invoked("python3"), T, 4),
      rec("CPU: 0 UID: 0 PID: 2088 Comm: python3 Not tainted 6.18.44", T + 10, 4),
      rec("memory: usage 65536kB, limit 65536kB, failcnt 24", T + 20, 6),
      rec(memcgSummary(2088), T + 100, 6),
      rec(killed(2088), T + 110),
      rec("oom_reaper: reaped process 2088 (python3), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB", T + 5000, 6),
    ]);
    expect(kills).toEqual([
      {
        source: "kmsg",
        probe: "kmsg",
        kernelTimeNs: BigInt(T + 110) * 1000n,
        victim: {
          pid: 2088,
          tid: null,
          comm: "python3",
          memory: { totalVmKb: 78008, anonRssKb: 68224, fileRssKb: 3204, shmemRssKb: 0, pgtablesKb: 192, uid: 0, oomScoreAdj: 1000 },
        },
        trigger: { pid: null, tid: null, comm: "python3" },
        constraint: "memcg",
        constraintFrom: "kmsg",
        cgroupPath: "/process_api/fcc5/exp2",
        oomCgroupPath: "/process_api/fcc5/exp2",
        totalPages: null,
        decision: `kmsg:${T + 100}`,
      },
    ]);
  });

  test.each([
    ["CONSTRAINT_NONE", "global"],
    ["CONSTRAINT_CPUSET", "cpuset"],
    ["CONSTRAINT_MEMORY_POLICY", "mempolicy"],
  ])("global-family OOM with summary %s", (text, constraint) => {
    const [k] = run([rec(invoked("bash"), T), rec(globalSummary(123, text), T + 50), rec(killed(123, "stress", GLOBAL), T + 60)]);
    expect(k).toMatchObject({
      constraint,
      constraintFrom: "kmsg",
      cgroupPath: "/system.slice/x.service",
      oomCgroupPath: null,
      trigger: { comm: "bash" },
      victim: { pid: 123, comm: "stress" },
    });
  });

  test("rate-limited storm: only kill lines, constraint from the prefix", () => {
    const kills = run([rec(killed(10), T), rec(killed(11, "stress", GLOBAL), T + 1000), rec(killed(12, "x", "Out of memory (oom_kill_allocating_task): "), T + 2000)]);
    expect(kills.map((k) => [k.victim.pid, k.constraint, k.constraintFrom, k.trigger.comm, k.cgroupPath, k.decision])).toEqual([
      [10, "memcg", "kmsg", null, null, `kmsg:${T}`],
      [11, "global", "kmsg", null, null, `kmsg:${T + 1000}`],
      [12, "global", "kmsg", null, null, `kmsg:${T + 2000}`],
    ]);
  });

  test("a summary for another pid is not used, nor its header", () => {
    const [k] = run([rec(invoked("python3"), T), rec(memcgSummary(1), T + 10), rec(killed(2), T + 20)]);
    expect(k).toMatchObject({ constraint: "memcg", constraintFrom: "kmsg", cgroupPath: null, oomCgroupPath: null, trigger: { comm: null } });
    expect(k!.decision).toBe(`kmsg:${T + 20}`);
  });

  test("a stale summary and header (over 1 s old) are not used", () => {
    const [k] = run([rec(invoked("python3"), T), rec(memcgSummary(2), T + 10), rec(killed(2), T + 1_500_000)]);
    expect(k).toMatchObject({ constraintFrom: "kmsg", cgroupPath: null, trigger: { comm: null } });
  });

  test("a kill consumes its header: the next, header-less kill does not inherit it", () => {
    const kills = run([rec(invoked("a"), T), rec(memcgSummary(1, "/one"), T + 10), rec(killed(1), T + 20), rec(killed(2), T + 30)]);
    expect(kills.map((k) => [k.victim.pid, k.trigger.comm, k.cgroupPath, k.decision])).toEqual([
      [1, "a", "/one", `kmsg:${T + 10}`],
      [2, null, null, `kmsg:${T + 30}`],
    ]);
  });

  test("the summary must agree with the kill's prefix", () => {
    const [k] = run([rec(memcgSummary(7), T), rec(killed(7, "x", GLOBAL), T + 10)]);
    expect(k).toMatchObject({ constraint: "global", constraintFrom: "kmsg", cgroupPath: null });
  });

  test("userspace records (facility != 0) are ignored, even with kernel-looking text", () => {
    // What `echo '<3>…' > /dev/kmsg` produces: the kernel forces facility 1 (PRI 8..15).
    const forged = [invoked("evil"), memcgSummary(5, "/forged"), killed(5, "victim"), killed(6)];
    expect(run(forged.map((m, i) => rec(m, T + i, 8 + 3)))).toEqual([]);
    const [k] = run([rec(memcgSummary(5, "/forged"), T, 11), rec(invoked("evil"), T + 1, 12), rec(killed(5), T + 2)]);
    expect(k).toMatchObject({ cgroupPath: null, trigger: { comm: null }, constraintFrom: "kmsg" });
  });

  test("memory.oom.group: members share the decision, the repeated victim line is dropped", () => {
    const kills = run([
      rec(invoked("python3"), T),
      rec(memcgSummary(100, "/pod/c1"), T + 10),
      rec(killed(100), T + 20),
      rec("Tasks in /pod/c1 are going to be killed due to memory.oom.group set", T + 30, 6),
      rec(killed(100), T + 40),
      rec(killed(101, "sidecar"), T + 50),
      rec(invoked("other"), T + 2000, 4),
      rec(killed(102), T + 2010),
    ]);
    expect(kills.map((k) => [k.victim.pid, k.victim.comm, k.decision, k.cgroupPath, k.oomCgroupPath, k.trigger.comm])).toEqual([
      [100, "python3", `kmsg:${T + 10}`, "/pod/c1", "/pod/c1", "python3"],
      [101, "sidecar", `kmsg:${T + 10}`, null, "/pod/c1", "python3"],
      [102, "python3", `kmsg:${T + 2010}`, null, null, "other"],
    ]);
    expect(kills[1]!.kernelTimeNs).toBe(BigInt(T + 50) * 1000n);
  });

  test("4.14: 'Kill process … or sacrifice child' tells memcg for the unprefixed kill", () => {
    const [k] = run([
      rec("java invoked oom-killer: gfp_mask=0x14000c0(GFP_KERNEL), nodemask=(null), order=0, oom_score_adj=-998", T, 4),
      rec("Memory cgroup out of memory: Kill process 1221 (allocate) score 241 or sacrifice child", T + 10),
      rec("Killed process 1222 (child) total-vm:2257144kB, anon-rss:2009128kB, file-rss:4kB, shmem-rss:0kB", T + 20),
    ]);
    expect(k).toMatchObject({ constraint: "memcg", constraintFrom: "kmsg", trigger: { comm: "java" }, victim: { pid: 1222, comm: "child" } });
    expect(k!.victim.memory.uid).toBeNull();
  });

  test("an unprefixed kill with nothing else known", () => {
    const [k] = run([rec("Killed process 5 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB", T)]);
    expect(k).toMatchObject({ constraint: "unknown", constraintFrom: "none", victim: { pid: 5 } });
  });

  test("hostile comms arrive intact through kmsg escaping", () => {
    for (const comm of ["a) total-vm:1kB", "x,pid=1,uid=0", "nl\nx", "\\x41", "a=(b)", "\xff\xfe"]) {
      const [k] = run([rec(killed(9, comm), T)]);
      expect(k?.victim).toMatchObject({ pid: 9, comm, memory: { totalVmKb: 78008, oomScoreAdj: 1000 } });
    }
  });

  test("non-UTF-8 comm bytes become U+FFFD", () => {
    const a = new KmsgOomAssembler();
    const r = parseKmsgRecord(`3,1,${T},-;Out of memory: Killed process 9 (a\\xff\\xc3) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n`);
    expect(a.push(r!)?.victim.comm).toBe("a\uFFFD\uFFFD");
  });
});
