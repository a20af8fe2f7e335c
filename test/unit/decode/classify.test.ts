import { describe, expect, test } from "bun:test";
import { chainToPath, classifyStack, constraintFromKernel, oomCgroupFromChain } from "../../../src/decode/classify.ts";
import type { CgroupLevel, Constraint } from "../../../src/types.ts";

// The trigger's kstack of the real memcg OOM in test/fixtures/bpftrace-0.17-trigger-not-victim.ndjson.
const MEMCG_STACK_MEASURED =
  "\n        mark_oom_victim+186\n        __oom_kill_process+336\n        oom_kill_process+114\n        out_of_memory+532\n        mem_cgroup_out_of_memory+192\n        try_charge_memcg+1058\n        charge_memcg+47\n        __mem_cgroup_charge+44\n        do_anonymous_page+832\n        __handle_mm_fault+2590\n        handle_mm_fault+208\n        exc_page_fault+374\n        asm_exc_page_fault+34\n";

/** A kstack as bpftrace prints it: one indented frame per line, callee first. */
const stack = (...frames: string[]): string => `\n${frames.map((f) => `        ${f}\n`).join("")}`;
const TOP = ["mark_oom_victim+186", "__oom_kill_process+336", "oom_kill_process+114", "out_of_memory+532"];

describe("classifyStack", () => {
  test.each<[label: string, stack: string, expected: "memcg" | "global" | "unknown"]>([
    ["the memcg stack measured on this machine", MEMCG_STACK_MEASURED, "memcg"],
    [
      "global: page allocator slow path",
      stack(...TOP, "__alloc_pages_may_oom+265", "__alloc_pages_slowpath.constprop.0+2780", "__alloc_pages_noprof+806", "alloc_pages_mpol_noprof+140", "folio_alloc_mpol_noprof+20", "vma_alloc_folio_noprof+101", "do_anonymous_page+154", "__handle_mm_fault+2590", "handle_mm_fault+208", "exc_page_fault+374", "asm_exc_page_fault+34"),
      "global",
    ],
    [
      "global: __alloc_pages_may_oom inlined into __alloc_pages_slowpath",
      stack(...TOP, "__alloc_pages_slowpath+2780", "__alloc_pages+806", "alloc_pages+140"),
      "global",
    ],
    [
      "global: page-fault fallback (older kernels)",
      stack(...TOP, "pagefault_out_of_memory+70", "do_user_addr_fault+900", "exc_page_fault+124", "asm_exc_page_fault+30"),
      "global",
    ],
    [
      "global: sysrq-f",
      stack(...TOP, "moom_callback+122", "process_one_work+372", "worker_thread+669", "kthread+228", "ret_from_fork+49"),
      "global",
    ],
    [
      "memcg: write to memory.max below usage",
      stack(...TOP, "mem_cgroup_out_of_memory+192", "memory_max_write+355", "cgroup_file_write+153", "kernfs_fop_write_iter+329", "vfs_write+618", "ksys_write+109", "do_syscall_64+130"),
      "memcg",
    ],
    [
      "memcg: memory_max_write directly under out_of_memory",
      stack(...TOP, "memory_max_write+355", "cgroup_file_write+153"),
      "memcg",
    ],
    [
      "memcg, bpftrace's +0x../0x.. offset style",
      stack("mark_oom_victim+0xba/0x1a0", "__oom_kill_process+0x150/0x1e0", "oom_kill_process+0x72/0x160", "out_of_memory+0x214/0x560", "mem_cgroup_out_of_memory+0xc0/0xe0", "try_charge_memcg+0x422/0x7e0", "charge_memcg+0x2f/0x80"),
      "memcg",
    ],
    [
      "global, bpftrace's +0x../0x.. offset style",
      stack("mark_oom_victim+0xba/0x1a0", "oom_kill_process+0x72/0x160", "out_of_memory+0x1a/0x50", "__alloc_pages_may_oom+0x109/0x1c0", "__alloc_pages_slowpath+0xadc/0xe60"),
      "global",
    ],
    [
      "bare symbols (no offsets)",
      stack("oom_kill_process", "out_of_memory", "mem_cgroup_out_of_memory", "try_charge_memcg"),
      "memcg",
    ],
    ["no out_of_memory frame", stack("mark_oom_victim+186", "__oom_kill_process+336", "oom_kill_process+114", "do_exit+30"), "unknown"],
    ["a frame that only starts like out_of_memory", stack("out_of_memory_notify+10", "mem_cgroup_out_of_memory+192"), "unknown"],
    ["out_of_memory is the last frame", stack(...TOP), "unknown"],
    ["out_of_memory called from something else", stack(...TOP, "some_driver_reclaim+40", "kthread+228"), "unknown"],
    ["empty string (kprobe/fentry modes print no stack)", "", "unknown"],
    ["whitespace only", "\n   \n", "unknown"],
  ])("%s", (_label, s, expected) => {
    expect(classifyStack(s)).toBe(expected);
  });
});

describe("chainToPath", () => {
  // Leaf first, root (name "") last, as the probe walks css->parent.
  const lv = (...names: string[]) => names.map((name, level) => ({ level, name }));

  test("leaf-first levels ending with the root → absolute path", () => {
    expect(chainToPath(lv("c", "b", "a", ""))?.path).toBe("/a/b/c");
  });

  test("each level's own path, leaf first", () => {
    expect(chainToPath(lv("c", "b", "a", ""))?.paths).toEqual(["/a/b/c", "/a/b", "/a"]);
  });

  test("the fixture's victim chain", () => {
    expect(chainToPath(lv("exp2", "fcc5832b995b21c77baadb9a54f8e4d5", "process_api", ""))?.path).toBe(
      "/process_api/fcc5832b995b21c77baadb9a54f8e4d5/exp2",
    );
  });

  test("levels in any arrival order", () => {
    const levels = [
      { level: 2, name: "a" },
      { level: 0, name: "c" },
      { level: 3, name: "" },
      { level: 1, name: "b" },
    ];
    expect(chainToPath(levels)?.path).toBe("/a/b/c");
  });

  test("root only → /", () => {
    expect(chainToPath(lv(""))?.path).toBe("/");
  });

  test("no levels → null", () => {
    expect(chainToPath([])).toBeNull();
  });

  test("a missing level index (lost line) → null", () => {
    expect(chainToPath([{ level: 0, name: "c" }, { level: 1, name: "b" }, { level: 3, name: "" }])).toBeNull();
  });

  test("a missing leaf (level 0) → null", () => {
    expect(chainToPath([{ level: 1, name: "b" }, { level: 2, name: "" }])).toBeNull();
  });

  test("a level seen twice → null", () => {
    expect(chainToPath([{ level: 0, name: "c" }, { level: 0, name: "c" }, { level: 1, name: "" }])).toBeNull();
  });

  test("not reaching the root → never read as absolute", () => {
    const p = chainToPath(lv("c", "b", "a"));
    expect(p?.path).toBe("/.../a/b/c");
    expect(p?.path.startsWith("/...")).toBe(true);
  });

  test("an empty name in the middle → null", () => {
    expect(chainToPath(lv("c", "", "a", ""))).toBeNull();
  });
});

describe("oomCgroupFromChain", () => {
  const L = (name: string, usagePages: number | null, maxPages: number | null): CgroupLevel => ({ name, usagePages, maxPages });
  // Leaf first: /kubepods/pod1/ctr and the root.
  const PATHS = ["/kubepods/pod1/ctr", "/kubepods/pod1", "/kubepods"];
  const VICTIM = "/kubepods/pod1/ctr";

  test("the lowest level at its limit wins", () => {
    const levels = [L("ctr", 100, 25600), L("pod1", 25600, 25600), L("kubepods", 25600, 25600), L("", 90000, null)];
    expect(oomCgroupFromChain(levels, PATHS, VICTIM)).toBe("/kubepods/pod1");
  });

  test("within 64 pages of the max counts as at the limit", () => {
    const levels = [L("ctr", 25536, 25600), L("pod1", 25600, 25600), L("kubepods", 1, 99999), L("", 1, null)];
    expect(oomCgroupFromChain(levels, PATHS, VICTIM)).toBe("/kubepods/pod1/ctr");
  });

  test("65 pages below the max is not at the limit", () => {
    const levels = [L("ctr", 25535, 25600), L("pod1", 25600, 25600), L("kubepods", 1, 99999), L("", 1, null)];
    expect(oomCgroupFromChain(levels, PATHS, VICTIM)).toBe("/kubepods/pod1");
  });

  test("usage above the max (charged past it) counts as at the limit", () => {
    const levels = [L("ctr", 25700, 25600), L("pod1", 30000, null), L("kubepods", 1, null), L("", 1, null)];
    expect(oomCgroupFromChain(levels, PATHS, VICTIM)).toBe("/kubepods/pod1/ctr");
  });

  test("unlimited levels are skipped, even when usage is huge", () => {
    const levels = [L("ctr", 500000, null), L("pod1", 500000, null), L("kubepods", 131072, 131072), L("", 1, null)];
    expect(oomCgroupFromChain(levels, PATHS, VICTIM)).toBe("/kubepods");
  });

  test("levels with unknown usage are skipped", () => {
    const levels = [L("ctr", null, 10), L("pod1", 10, 10), L("kubepods", 1, null), L("", 1, null)];
    expect(oomCgroupFromChain(levels, PATHS, VICTIM)).toBe("/kubepods/pod1");
  });

  test("nothing at its limit → null", () => {
    const levels = [L("ctr", 1, 25600), L("pod1", 1, null), L("kubepods", 1, null), L("", 1, null)];
    expect(oomCgroupFromChain(levels, PATHS, VICTIM)).toBeNull();
  });

  test("a level that does not contain the victim → null", () => {
    const levels = [L("ctr", 25600, 25600), L("pod1", 1, null), L("kubepods", 1, null), L("", 1, null)];
    expect(oomCgroupFromChain(levels, PATHS, "/kubepods/pod2/other")).toBeNull();
  });

  test("the trigger's own container near its limit is skipped when the victim is elsewhere in the pod", () => {
    const levels = [L("ctr", 25590, 25600), L("pod1", 40000, 40000), L("kubepods", 1, null), L("", 1, null)];
    expect(oomCgroupFromChain(levels, PATHS, "/kubepods/pod1/other")).toBe("/kubepods/pod1");
  });

  test("a sibling whose name only starts like the level does not count as inside it", () => {
    const levels = [L("ctr", 1, null), L("pod1", 10, 10), L("kubepods", 1, null), L("", 1, null)];
    expect(oomCgroupFromChain(levels, PATHS, "/kubepods/pod10/x")).toBeNull();
  });

  test("a victim deeper under the level counts", () => {
    const levels = [L("ctr", 1, null), L("pod1", 10, 10), L("kubepods", 1, null), L("", 1, null)];
    expect(oomCgroupFromChain(levels, PATHS, "/kubepods/pod1/other/deeper")).toBe("/kubepods/pod1");
  });

  test("victim path unknown → the level at its limit still names the OOM cgroup", () => {
    const levels = [L("ctr", 25600, 25600), L("pod1", 1, null), L("kubepods", 1, null), L("", 1, null)];
    expect(oomCgroupFromChain(levels, PATHS, null)).toBe("/kubepods/pod1/ctr");
  });

  test("the level at its limit has no path (root of the chain) → null", () => {
    const levels = [L("ctr", 1, null), L("pod1", 1, null), L("kubepods", 1, null), L("", 500, 500)];
    expect(oomCgroupFromChain(levels, PATHS, VICTIM)).toBeNull();
  });
});

describe("constraintFromKernel", () => {
  test.each<[number, Constraint]>([
    [0, "global"],
    [1, "cpuset"],
    [2, "mempolicy"],
    [3, "memcg"],
    [4, "unknown"],
    [-1, "unknown"],
    [99, "unknown"],
    [1.5, "unknown"],
  ])("%p → %s", (n, expected) => {
    expect(constraintFromKernel(n)).toBe(expected);
  });
});
