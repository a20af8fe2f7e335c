import { describe, expect, test } from "bun:test";
import { parseKmsgRecord, parseOomLine } from "../../../src/sources/kmsg/parse.ts";

// Lines measured on kernel 6.18 here.
const INVOKED = "python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0";
const SUMMARY =
  "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/process_api/fcc5/exp2,task_memcg=/process_api/fcc5/exp2,task=python3,pid=2088,uid=0";
const KILLED =
  "Memory cgroup out of memory: Killed process 2088 (python3) total-vm:78008kB, anon-rss:68224kB, file-rss:3204kB, shmem-rss:0kB, UID:0 pgtables:192kB oom_score_adj:1000";

/** What the kernel prints for a task named `comm` (bytes as latin1 chars are raw bytes). */
const killedWith = (comm: string, prefix = "Out of memory: ") =>
  `${prefix}Killed process 7 (${comm}) total-vm:10kB, anon-rss:2kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0`;
const summaryWith = (mid: string, comm = "x") =>
  `oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0${mid},task=${comm},pid=7,uid=0`;

describe("parseKmsgRecord", () => {
  test("header, message and dictionary", () => {
    const r = parseKmsgRecord("3,1234,5472683045,-,caller=T88;" + KILLED + "\n SUBSYSTEM=mem\n DEVICE=c1:1\n");
    expect(r).toEqual({
      facility: 0,
      level: 3,
      seq: 1234n,
      tsUsec: 5472683045n,
      message: KILLED,
      dict: { SUBSYSTEM: "mem", DEVICE: "c1:1" },
    });
  });

  test("user facility is reported as such", () => {
    expect(parseKmsgRecord("14,983,5472683045,-;hello\n")).toMatchObject({ facility: 1, level: 6 });
  });

  test("undoes the \\xNN escapes of /dev/kmsg, as read here", () => {
    // Real record for printf 'a\\b \xff\xc3\xa9 (x) ;semi' written to /dev/kmsg on this machine.
    const r = parseKmsgRecord("14,983,5472683045,-;oomtrace-probe a\\x5cb \\xff\\xc3\\xa9 (x) ;semi\n");
    expect(r?.message).toBe("oomtrace-probe a\\b \uFFFDé (x) ;semi");
  });

  test("seq beyond 2^53 stays exact", () => {
    expect(parseKmsgRecord("6,18446744073709551615,1,-;x\n")?.seq).toBe(18446744073709551615n);
  });

  test.each(["", "garbage", "6,1,2;x", "a,b,c,-;x", "6,1;x", ";x", "6,1,2,-"])("rejects %p", (raw) => {
    expect(parseKmsgRecord(raw)).toBeNull();
  });
});

describe("parseOomLine: the lines measured here", () => {
  test("invoked", () => {
    expect(parseOomLine(INVOKED)).toEqual({ type: "invoked", comm: "python3", gfpMask: 0xcc0, order: 0, oomScoreAdj: 0 });
  });

  test("memcg summary", () => {
    expect(parseOomLine(SUMMARY)).toEqual({
      type: "summary",
      constraint: "memcg",
      oomMemcg: "/process_api/fcc5/exp2",
      globalOom: false,
      taskMemcg: "/process_api/fcc5/exp2",
      comm: "python3",
      pid: 2088,
      uid: 0,
    });
  });

  test("memcg kill", () => {
    expect(parseOomLine(KILLED)).toEqual({
      type: "killed",
      pid: 2088,
      comm: "python3",
      memory: {
        totalVmKb: 78008,
        anonRssKb: 68224,
        fileRssKb: 3204,
        shmemRssKb: 0,
        pgtablesKb: 192,
        uid: 0,
        oomScoreAdj: 1000,
      },
      memcgOom: true,
      globalOom: false,
    });
  });
});

describe("parseOomLine: other constraints and kernels", () => {
  test.each([
    ["CONSTRAINT_NONE", "global"],
    ["CONSTRAINT_CPUSET", "cpuset"],
    ["CONSTRAINT_MEMORY_POLICY", "mempolicy"],
    ["CONSTRAINT_SOMETHING_NEW", "unknown"],
  ])("global-family summary %s", (text, constraint) => {
    const nodemask = text === "CONSTRAINT_MEMORY_POLICY" ? "0-1,3" : "(null)";
    const line = `oom-kill:constraint=${text},nodemask=${nodemask},cpuset=/,mems_allowed=0-1,3,global_oom,task_memcg=/system.slice/x.service,task=stress,pid=123,uid=0`;
    expect(parseOomLine(line)).toEqual({
      type: "summary",
      constraint,
      oomMemcg: null,
      globalOom: true,
      taskMemcg: "/system.slice/x.service",
      comm: "stress",
      pid: 123,
      uid: 0,
    } as never);
  });

  test("global kill, and with oom_kill_allocating_task", () => {
    for (const prefix of ["Out of memory: ", "Out of memory (oom_kill_allocating_task): "]) {
      expect(parseOomLine(killedWith("stress", prefix))).toMatchObject({ type: "killed", memcgOom: false, globalOom: true });
    }
  });

  test("older kernels: memcg OOM printed as CONSTRAINT_NONE, kill without UID/pgtables/oom_score_adj", () => {
    expect(
      parseOomLine(
        "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/test1,task_memcg=/test1,task=a.out,pid=9188,uid=0",
      ),
    ).toMatchObject({ constraint: "memcg", oomMemcg: "/test1", globalOom: false });
    expect(
      parseOomLine("Memory cgroup out of memory: Killed process 9188 (a.out) total-vm:14456kB, anon-rss:10324kB, file-rss:504kB, shmem-rss:0kB"),
    ).toMatchObject({
      type: "killed",
      pid: 9188,
      comm: "a.out",
      memory: { totalVmKb: 14456, anonRssKb: 10324, fileRssKb: 504, shmemRssKb: 0, pgtablesKb: null, uid: null, oomScoreAdj: null },
      memcgOom: true,
    });
  });

  test("4.14: unprefixed kill announced by 'Kill process'", () => {
    expect(parseOomLine("Memory cgroup out of memory: Kill process 1221 (allocate) score 241 or sacrifice child")).toEqual({
      type: "selected",
      pid: 1221,
      comm: "allocate",
      memcgOom: true,
      globalOom: false,
    });
    expect(parseOomLine("Killed process 1221 (allocate) total-vm:2257144kB, anon-rss:2009128kB, file-rss:4kB, shmem-rss:0kB")).toMatchObject({
      type: "killed",
      pid: 1221,
      memcgOom: false,
      globalOom: false,
    });
    expect(
      parseOomLine("java invoked oom-killer: gfp_mask=0x14000c0(GFP_KERNEL), nodemask=(null), order=0, oom_score_adj=-998"),
    ).toEqual({ type: "invoked", comm: "java", gfpMask: 0x14000c0, order: 0, oomScoreAdj: -998 });
  });

  test("memory.oom.group line", () => {
    expect(parseOomLine("Tasks in /kubepods/pod1/c1 are going to be killed due to memory.oom.group set")).toEqual({
      type: "group",
      cgroup: "/kubepods/pod1/c1",
    });
  });

  test.each([
    "oom_reaper: reaped process 2088 (python3), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
    "Memory cgroup out of memory: OOM victim 2088 (python3) is already exiting. Skip killing the task",
    "oom killer 5 (x) has mm pinned by 1 (init)",
    "memory: usage 65536kB, limit 65536kB, failcnt 24",
    "Killed process x (y) total-vm:1kB",
    "Killed process 12 (y)",
    "Out of memory and no killable processes...",
    "",
    "oom-kill:constraint=CONSTRAINT_MEMCG",
  ])("not an OOM fact: %p", (line) => {
    expect(parseOomLine(line)).toBeNull();
  });
});

describe("parseOomLine: hostile comms and paths", () => {
  test.each([
    ["a) total-vm:1kB"],
    ["x) (y"],
    ["a,b=c"],
    ["))"],
    ["(("],
    [""],
    ["line\nbreak"],
    ["bad\uFFFD\uFFFD"],
    ["Killed process"],
  ])("kill line with comm %p", (comm) => {
    const line = parseOomLine(killedWith(comm));
    expect(line).toMatchObject({ type: "killed", pid: 7, comm, memory: { totalVmKb: 10, anonRssKb: 2, pgtablesKb: 4 } });
  });

  test("a comm that is itself a whole kill line is not a second kill", () => {
    expect(parseOomLine("Killed process 1 (a) invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0")).toMatchObject({
      type: "invoked",
      comm: "Killed process 1 (a)",
    });
  });

  test("comm with commas and '=' in the summary", () => {
    expect(parseOomLine(summaryWith(",oom_memcg=/a,task_memcg=/a/b", "x,pid=1,uid=5"))).toMatchObject({
      comm: "x,pid=1,uid=5",
      pid: 7,
      uid: 0,
      oomMemcg: "/a",
      taskMemcg: "/a/b",
    });
  });

  test("paths with commas, when every key is unique", () => {
    expect(parseOomLine(summaryWith(",oom_memcg=/a,b,task_memcg=/a,b/c=d"))).toMatchObject({ oomMemcg: "/a,b", taskMemcg: "/a,b/c=d", comm: "x" });
  });

  test("a forged ',task=' in a comm: comm and task_memcg unknown, the rest kept", () => {
    expect(parseOomLine(summaryWith(",oom_memcg=/a,task_memcg=/a/b", "y,task=z"))).toMatchObject({
      constraint: "memcg",
      comm: null,
      taskMemcg: null,
      oomMemcg: "/a",
      pid: 7,
    });
  });

  test("a forged ',task_memcg=' in a path: memcg paths unknown", () => {
    expect(parseOomLine(summaryWith(",oom_memcg=/a,task_memcg=/evil,task_memcg=/a/b"))).toMatchObject({
      oomMemcg: null,
      taskMemcg: null,
      globalOom: false,
      comm: "x",
    });
  });

  test("a forged ',oom_memcg=' in a global OOM's task path: not taken as memcg", () => {
    const line = parseOomLine(
      "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/x,oom_memcg=/fake,task=s,pid=9,uid=0",
    );
    expect(line).toMatchObject({ constraint: "global", oomMemcg: null, globalOom: false, taskMemcg: null, pid: 9 });
  });

  test("a forged ',global_oom,' in a memcg OOM's cpuset name", () => {
    expect(parseOomLine(summaryWith(",oom_memcg=/a,task_memcg=/a").replace("cpuset=/", "cpuset=x,global_oom,y"))).toMatchObject({
      constraint: "memcg",
      oomMemcg: null,
      globalOom: false,
    });
  });
});
