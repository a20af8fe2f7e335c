import { describe, expect, test } from "bun:test";
import { chooseProbe, ProbeChoiceError } from "../../../src/probe/choose.ts";
import type { KernelFeatures } from "../../../src/probe/features.ts";

const MARK_FIELDS = ["pid", "comm", "total_vm", "anon_rss", "file_rss", "shmem_rss", "uid", "pgtables", "oom_score_adj"];

/** This project's machine (field notes §2): 6.18, BTF, no kprobes, no fentry, memory on cgroup v1. */
const HERE: KernelFeatures = {
  kernelRelease: "6.18.0",
  btf: true,
  tracefs: "/sys/kernel/tracing",
  kprobes: false,
  oomKillProcessSymbol: true,
  oomKillProcessFtrace: false,
  markVictimFields: MARK_FIELDS,
  memcgId: 4,
  cgroup: "v1",
  pageCounterMax: "max",
  bpftrace: { path: "/usr/bin/bpftrace", version: [0, 17, 0], fentry: false },
};

/** A stock kernel where everything attaches. */
const RICH: KernelFeatures = {
  ...HERE,
  kernelRelease: "6.12.0",
  kprobes: true,
  oomKillProcessFtrace: true,
  cgroup: "v2",
  bpftrace: { path: "/usr/bin/bpftrace", version: [0, 23, 2], fentry: true },
};

function errorOf(f: () => unknown): ProbeChoiceError {
  try {
    f();
  } catch (e) {
    if (e instanceof ProbeChoiceError) return e;
    throw e;
  }
  throw new Error("expected a ProbeChoiceError");
}

describe("chooseProbe", () => {
  test("this machine → tracepoint only, with the reasons for the others", () => {
    const c = chooseProbe(HERE);
    expect(c.modes).toEqual(["tracepoint"]);
    expect(c.reasons).toEqual([
      "fentry: not available, oom_kill_process is not in ftrace's available_filter_functions",
      "kprobe: not available, the kernel has no kprobes (no kprobe_events in tracefs)",
      "tracepoint: available",
    ]);
  });

  test("a rich kernel → fentry, kprobe, tracepoint (richest first)", () => {
    expect(chooseProbe(RICH).modes).toEqual(["fentry", "kprobe", "tracepoint"]);
  });

  test("fentry left out when bpftrace cannot attach it, even if ftrace lists the function", () => {
    const c = chooseProbe({ ...RICH, bpftrace: { ...RICH.bpftrace, fentry: false } });
    expect(c.modes).toEqual(["kprobe", "tracepoint"]);
    expect(c.reasons[0]).toContain("bpftrace reports no fentry");
  });

  test("kprobe left out when oom_kill_process is not a symbol", () => {
    const c = chooseProbe({ ...RICH, oomKillProcessSymbol: false });
    expect(c.modes).toEqual(["fentry", "tracepoint"]);
    expect(c.reasons[1]).toContain("/proc/kallsyms");
  });

  test("a forced mode that can run → only that mode", () => {
    const c = chooseProbe(RICH, "kprobe");
    expect(c.modes).toEqual(["kprobe"]);
    expect(c.reasons).toContain("kprobe: forced by --probe-mode");
  });

  test("forced kprobe on a kernel without kprobes → ProbeChoiceError naming the reason", () => {
    const e = errorOf(() => chooseProbe(HERE, "kprobe"));
    expect(e.code).toBe("E_NO_PROBE");
    expect(e.message).toContain("kprobe");
    expect(e.message).toContain("the kernel has no kprobes");
  });

  test("forced fentry without ftrace → the ftrace reason", () => {
    const e = errorOf(() => chooseProbe(HERE, "fentry"));
    expect(e.message).toContain("available_filter_functions");
  });

  test("missing tracefs → says how to mount it", () => {
    const e = errorOf(() => chooseProbe({ ...HERE, tracefs: null }));
    expect(e.message).toContain("mount -t tracefs nodev /sys/kernel/tracing");
  });

  test("missing mark_victim tracepoint → named", () => {
    const e = errorOf(() => chooseProbe({ ...HERE, markVictimFields: null }));
    expect(e.message).toContain("oom:mark_victim");
  });

  test("no tracefs, no BTF and no memcg → every problem listed in one error", () => {
    const e = errorOf(() => chooseProbe({ ...RICH, tracefs: null, btf: false, memcgId: null, pageCounterMax: null }));
    expect(e.message).toContain("tracefs is not mounted");
    expect(e.message).toContain("/sys/kernel/btf/vmlinux");
    expect(e.message).toContain("no memory controller in /proc/cgroups");
    // Without BTF the page_counter lookup could not work: that is one problem, not two.
    expect(e.message).not.toContain("page_counter");
  });

  test("BTF without a page_counter limit field → named", () => {
    const e = errorOf(() => chooseProbe({ ...HERE, pageCounterMax: null }));
    expect(e.message).toContain("struct page_counter has no max/limit field");
  });

  test("bpftrace that does not run → only that, with how to fix it", () => {
    const e = errorOf(() => chooseProbe({ ...HERE, tracefs: null, bpftrace: { path: "/opt/bt", version: null, fentry: false } }));
    expect(e.message).toContain('bpftrace at "/opt/bt" did not run: install it (apt-get install bpftrace) or pass --bpftrace PATH');
    expect(e.message).not.toContain("tracefs");
  });

  test("a base problem fails even when a mode is forced", () => {
    const e = errorOf(() => chooseProbe({ ...RICH, btf: false }, "tracepoint"));
    expect(e.message).toContain("BTF");
  });
});
