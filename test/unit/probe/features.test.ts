import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  parseBpftraceFentry,
  parseBpftraceVersion,
  parseMemcgId,
  parseMemoryCgroupVersion,
  parseTracepointFormat,
  versionAtLeast,
} from "../../../src/probe/features.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dir, "../../fixtures", name), "utf8");

// mark_victim before upstream 72ba14deb40a: the pid only.
const OLD_MARK_VICTIM = `name: mark_victim
ID: 452
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int pid;	offset:8;	size:4;	signed:1;

print fmt: "pid=%d", REC->pid
`;

describe("parseTracepointFormat", () => {
  test("mark_victim of 6.18 (measured here)", () => {
    expect(parseTracepointFormat(fixture("mark_victim-format-6.18.txt"))).toEqual([
      "pid", "comm", "total_vm", "anon_rss", "file_rss", "shmem_rss", "uid", "pgtables", "oom_score_adj",
    ]);
  });

  test("an old kernel's mark_victim with only int pid", () => {
    expect(parseTracepointFormat(OLD_MARK_VICTIM)).toEqual(["pid"]);
  });

  test("array fields give their name without the brackets", () => {
    const text = "format:\n\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n";
    expect(parseTracepointFormat(text)).toEqual(["comm", "pid"]);
  });

  test("no fields → empty list", () => {
    expect(parseTracepointFormat("")).toEqual([]);
  });
});

describe("parseMemcgId", () => {
  test("the hybrid machine's /proc/cgroups → 4", () => {
    expect(parseMemcgId(fixture("proc-cgroups-hybrid.txt"))).toBe(4);
  });

  test("memory disabled (cgroup_disable=memory) → null", () => {
    const text = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t0\t1\t1\ncpu\t0\t1\t1\nmemory\t0\t1\t0\npids\t0\t1\t1\n";
    expect(parseMemcgId(text)).toBeNull();
  });

  test("memory missing → null", () => {
    const text = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t0\t1\t1\ncpu\t0\t1\t1\npids\t0\t1\t1\n";
    expect(parseMemcgId(text)).toBeNull();
  });

  test("a pure v2 kernel with fewer controllers before memory → its own index", () => {
    const text = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t80\t1\nmemory\t0\t80\t1\n";
    expect(parseMemcgId(text)).toBe(1);
  });

  test("empty input → null", () => {
    expect(parseMemcgId("")).toBeNull();
  });
});

describe("parseMemoryCgroupVersion", () => {
  test("hybrid: memory on v1, a v2 hierarchy without it → v1", () => {
    const mounts = [
      "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0",
      "tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0",
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0",
      "cgroup /sys/fs/cgroup/systemd cgroup rw,nosuid,nodev,noexec,relatime,xattr,name=systemd 0 0",
      "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0",
      "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0",
      "",
    ].join("\n");
    expect(parseMemoryCgroupVersion(mounts)).toBe("v1");
  });

  test("pure v2 (memory_recursiveprot is not the memory controller) → v2", () => {
    const mounts = [
      "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0",
      "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0",
      "",
    ].join("\n");
    expect(parseMemoryCgroupVersion(mounts)).toBe("v2");
  });

  test("v1 hierarchies without memory and no v2 → none", () => {
    const mounts = "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\nproc /proc proc rw 0 0\n";
    expect(parseMemoryCgroupVersion(mounts)).toBe("none");
  });

  test("no cgroup mounts at all → none", () => {
    expect(parseMemoryCgroupVersion("proc /proc proc rw 0 0\n")).toBe("none");
  });
});

describe("parseBpftraceVersion", () => {
  test.each<[string, [number, number, number] | null]>([
    ["bpftrace v0.17.0", [0, 17, 0]],
    ["bpftrace v0.23.2\n", [0, 23, 2]],
    ["v0.24.0-rc1", [0, 24, 0]],
    ["bpftrace v0.20.10-12-gabcdef", [0, 20, 10]],
    ["bpftrace: command not found", null],
    ["", null],
  ])("%p", (text, expected) => {
    expect(parseBpftraceVersion(text)).toEqual(expected);
  });
});

describe("parseBpftraceFentry", () => {
  test.each<[string, boolean]>([
    ["Probe types\n  kprobe: yes\n  tracepoint: yes\n  kfunc: yes\n", true],
    ["  fentry: yes\n", true],
    ["Probe types\n  kprobe: no\n  kfunc: no\n", false],
    ["  fentry: no\n", false],
    ["  kprobe: yes\n", false],
    ["", false],
  ])("%p", (text, expected) => {
    expect(parseBpftraceFentry(text)).toBe(expected);
  });
});

describe("versionAtLeast", () => {
  test.each<[[number, number, number] | null, [number, number, number], boolean]>([
    [[0, 21, 0], [0, 21, 0], true],
    [[0, 20, 9], [0, 21, 0], false],
    [[0, 23, 2], [0, 21, 0], true],
    [[1, 0, 0], [0, 24, 0], true],
    [[0, 24, 0], [0, 24, 1], false],
    [null, [0, 0, 0], false],
  ])("%p ≥ %p → %p", (v, want, expected) => {
    expect(versionAtLeast(v, want)).toBe(expected);
  });
});

test("parseBpftraceFentry: bpftrace 0.23 prints probe types two to a line (measured in a 6.12 guest)", () => {
  const info = ["Probe types", "  kprobe: yes                      tracepoint: yes", "  perf_event: yes                  fentry: yes"].join("\n");
  expect(parseBpftraceFentry(info)).toBe(true);
  expect(parseBpftraceFentry(info.replace("fentry: yes", "fentry: no"))).toBe(false);
});
