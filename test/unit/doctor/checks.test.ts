import { describe, expect, test } from "bun:test";
import { attachError, tryAttach } from "../../../src/doctor/attach.ts";
import { bpftraceCheck, cgroupChecks, kernelCheck, markVictimCheck, metricsCheck, probeChecks, runtimeCheck, tracefsCheck } from "../../../src/doctor/checks.ts";
import { clusterChecks } from "../../../src/doctor/cluster.ts";
import { kubeletDriver } from "../../../src/doctor/host.ts";
import { renderReport, report } from "../../../src/doctor/report.ts";
import { parseMemoryCgroupMount } from "../../../src/probe/features.ts";
import type { KernelFeatures } from "../../../src/probe/features.ts";
import type { Child } from "../../../src/sources/bpftrace/supervisor.ts";

const HERE: KernelFeatures = {
  kernelRelease: "6.18.44",
  btf: true,
  tracefs: "/sys/kernel/tracing",
  kprobes: false,
  oomKillProcessSymbol: true,
  oomKillProcessFtrace: false,
  markVictimFields: ["pid", "comm", "total_vm", "anon_rss", "file_rss", "shmem_rss", "uid", "pgtables", "oom_score_adj"],
  memcgId: 4,
  cgroup: "v1",
  pageCounterMax: "max",
  bpftrace: { path: "bpftrace", version: [0, 17, 0], fentry: false },
};
const f = (over: Partial<KernelFeatures>): KernelFeatures => ({ ...HERE, ...over });

describe("node checks", () => {
  test("kernel, tracefs, mark_victim and bpftrace: fine here", () => {
    for (const c of [kernelCheck(HERE), tracefsCheck(HERE), markVictimCheck(HERE), bpftraceCheck(HERE, "/usr/bin/bpftrace")]) expect(c.status).toBe("ok");
    expect(bpftraceCheck(HERE, "/usr/bin/bpftrace").detail).toBe("v0.17.0 at /usr/bin/bpftrace");
  });

  test("what is missing fails or warns, with a fix", () => {
    expect(kernelCheck(f({ btf: false }))).toMatchObject({ status: "fail", fix: expect.stringContaining("CONFIG_DEBUG_INFO_BTF") });
    expect(kernelCheck(f({ pageCounterMax: null })).status).toBe("fail");
    // Without bpftrace the page_counter field cannot be read: that is bpftrace's failure, not the kernel's.
    expect(kernelCheck(f({ pageCounterMax: null, bpftrace: { path: "x", version: null, fentry: false } })).status).toBe("ok");
    expect(tracefsCheck(f({ tracefs: null }))).toMatchObject({ status: "fail", fix: expect.stringContaining("mount -t tracefs") });
    expect(markVictimCheck(f({ tracefs: null })).status).toBe("skip");
    expect(markVictimCheck(f({ markVictimFields: null })).status).toBe("fail");
    expect(markVictimCheck(f({ markVictimFields: ["pid"] }))).toMatchObject({ status: "warn", detail: "fields: pid: no memory facts" });
    expect(bpftraceCheck(f({ bpftrace: { path: "/x", version: null, fentry: false } }), null)).toMatchObject({ status: "fail", detail: '"/x" did not run' });
  });

  test("probes: the base one must attach, richer ones only warn; detection and reality are compared", () => {
    const leftOut = { tracepoint: null, kprobe: "the kernel has no kprobes", fentry: "not in ftrace" };
    const yes = { attached: true, ms: 1900, error: null };
    const no = (error: string) => ({ attached: false, ms: 100, error });
    const here = probeChecks({ attach: { tracepoint: yes, kprobe: no("no kprobe_events"), fentry: no("no") }, notTried: null, leftOut });
    expect(here.map((c) => [c.id, c.status])).toEqual([["probe.tracepoint", "ok"], ["probe.kprobe", "warn"], ["probe.fentry", "warn"]]);
    expect(here[0]!.detail).toBe("attaches (1.9 s)");
    expect(here[1]!.detail).toBe("does not attach: no kprobe_events; as expected: the kernel has no kprobes");
    const surprise = probeChecks({ attach: { tracepoint: yes, kprobe: yes, fentry: no("no") }, notTried: null, leftOut });
    expect(surprise[1]).toMatchObject({ status: "warn", detail: expect.stringContaining("but the agent's detection says the kernel has no kprobes") });
    const broken = probeChecks({ attach: { tracepoint: no("ERROR: x"), kprobe: no("y"), fentry: no("z") }, notTried: null, leftOut });
    expect(broken[0]!.status).toBe("fail");
    const none = probeChecks({ attach: { tracepoint: null, kprobe: null, fentry: null }, notTried: "tracefs is not mounted", leftOut });
    expect(none.map((c) => c.status)).toEqual(["fail", "skip", "skip"]);
    expect(none[0]!.detail).toBe("not tried: tracefs is not mounted");
  });

  test("cgroup version and the kubelet's driver", () => {
    const v1 = { version: "v1" as const, dir: "/sys/fs/cgroup/memory" };
    expect(cgroupChecks({ features: HERE, cgroup: v1, kubeletDriver: "systemd" }).map((c) => c.status)).toEqual(["ok", "ok"]);
    expect(cgroupChecks({ features: HERE, cgroup: v1, kubeletDriver: null })[1]!.status).toBe("warn");
    expect(cgroupChecks({ features: HERE, cgroup: v1, kubeletDriver: "both" })[1]!.status).toBe("warn");
    expect(cgroupChecks({ features: f({ memcgId: null }), cgroup: v1, kubeletDriver: null })[0]!.status).toBe("fail");
    expect(cgroupChecks({ features: HERE, cgroup: null, kubeletDriver: null })).toHaveLength(1);
    expect(kubeletDriver(["kubepods.slice", "system.slice"])).toBe("systemd");
    expect(kubeletDriver(["kubepods", "user"])).toBe("cgroupfs");
    expect(kubeletDriver(["kubepods", "kubepods.slice"])).toBe("both");
    expect(kubeletDriver(["kubepods-besteffort.slice"])).toBeNull();
  });

  test("runtime sockets, metrics port", () => {
    expect(runtimeCheck([{ runtime: "containerd", path: "/run/containerd/containerd.sock", answers: true }], []).status).toBe("ok");
    expect(runtimeCheck([{ runtime: "containerd", path: "/run/c.sock", answers: false }], []).detail).toContain("nothing answers");
    expect(runtimeCheck([], ["/a", "/b"]).detail).toBe("none found (looked for /a, /b)");
    expect(metricsCheck(null).status).toBe("skip");
    expect(metricsCheck({ address: ":9102", free: false, error: "in use by another process" })).toMatchObject({ status: "fail", detail: ":9102: in use by another process" });
  });

  test("where the memory controller is mounted", () => {
    const hybrid = "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n";
    expect(parseMemoryCgroupMount(hybrid)).toEqual({ version: "v1", dir: "/sys/fs/cgroup/memory" });
    expect(parseMemoryCgroupMount("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n")).toEqual({ version: "v2", dir: "/sys/fs/cgroup" });
    expect(parseMemoryCgroupMount("proc /proc proc rw 0 0\n")).toBeNull();
  });
});

describe("the API server hook", () => {
  test("without it: not configured, which is not a failure", () => {
    expect(clusterChecks(null, null)).toEqual([expect.objectContaining({ id: "apiserver", status: "skip", detail: expect.stringMatching(/^not configured/) })]);
  });

  test("each permission is a check; a refused one fails with what to grant", () => {
    const checks = clusterChecks(
      {
        server: "https://10.0.0.1:6443",
        reachable: true,
        detail: "v1.31.2",
        permissions: [
          { verb: "list", resource: "pods", allowed: true },
          { verb: "patch", resource: "pods", subresource: "status", allowed: false, reason: "no RBAC policy matched" },
        ],
      },
      null,
    );
    expect(checks.map((c) => [c.id, c.status])).toEqual([["apiserver", "ok"], ["rbac.list.pods", "ok"], ["rbac.patch.pods.status", "fail"]]);
    expect(checks[2]).toMatchObject({ detail: "may not patch pods/status (no RBAC policy matched)", fix: expect.stringContaining("grant patch pods/status") });
    expect(clusterChecks({ server: "https://x", reachable: false, detail: "ECONNREFUSED", permissions: [] }, null)[0]!.status).toBe("fail");
    expect(clusterChecks(null, "boom")[0]!.status).toBe("fail");
  });
});

describe("report", () => {
  test("ready only without failures; the screen escapes text from outside and says what to do", () => {
    const r = report("node-\x1b[31m", [kernelCheck(HERE), tracefsCheck(f({ tracefs: null })), { id: "x", title: "x", status: "warn", detail: "evil\ntext", fix: "do\x1b[2Jthis" }], {});
    expect(r.ready).toBe(false);
    const screen = renderReport(r, false);
    expect(screen).not.toContain("\x1b");
    expect(screen).toContain("oomtrace doctor on node node-\\x1b[31m");
    expect(screen).toMatch(/  fail  tracefs  not mounted .*\n +→ mount -t tracefs/);
    expect(screen).toContain("evil\\ntext");
    expect(screen.trimEnd().endsWith("not ready: 1 problem to fix (1 warning)")).toBe(true);
    expect(renderReport(report("n", [kernelCheck(HERE)], {}), false)).toContain("ready: oomtrace can run on this node\n");
    expect(renderReport(r, true)).toContain("\x1b[1;31mfail");
  });
});

describe("tryAttach", () => {
  /** A bpftrace stand-in that prints the given stdout and stderr lines, then exits (or waits to be killed). */
  function fakeSpawn(stdout: string[], stderr: string[], exitsByItself: boolean) {
    let killed: string | null = null;
    let exit: (v: { code: number | null; signal: string | null }) => void = () => {};
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => (exit = r));
    if (exitsByItself) setTimeout(() => exit({ code: 1, signal: null }), 10);
    const lines = async function* (list: string[]) {
      for (const l of list) yield l;
    };
    const spawn = (): Child => ({
      pid: 1,
      lines: (from) => lines(from === "stdout" ? stdout : stderr),
      exited,
      kill: (s) => {
        killed = s;
        exit({ code: null, signal: s });
      },
    });
    return { spawn, killed: () => killed };
  }

  test("attached when the probe says ready, and bpftrace is stopped", async () => {
    const fake = fakeSpawn(['{"type": "attached_probes", "data": {"probes": 5}}', '{"type": "value", "data": ["ready", 1]}'], [], false);
    const r = await tryAttach("bpftrace", "", 5000, fake.spawn as never);
    expect(r).toMatchObject({ attached: true, error: null });
    expect(fake.killed()).toBe("SIGTERM");
  });

  test("not attached: bpftrace's own words, without its usual noise", async () => {
    const stderr = ["ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace.", "stdin:1: WARNING: oom_kill_process is not traceable", "create_probe_event: open(kprobe_events): No such file", "ERROR: Error attaching probe: 'kprobe:oom_kill_process'"];
    const r = await tryAttach("bpftrace", "", 5000, fakeSpawn(['{"type": "attached_probes", "data": {"probes": 5}}'], stderr, true).spawn as never);
    expect(r).toMatchObject({ attached: false, error: "create_probe_event: open(kprobe_events): No such file | ERROR: Error attaching probe: 'kprobe:oom_kill_process'" });
    expect(attachError([], { code: 255, signal: null })).toBe("bpftrace exited (code 255) before it was ready");
  });

  test("a probe that never gets ready times out and is stopped", async () => {
    const fake = fakeSpawn([], [], false);
    const r = await tryAttach("bpftrace", "", 50, fake.spawn as never);
    expect(r.attached).toBe(false);
    expect(r.error).toContain("not ready after 0 s");
    expect(fake.killed()).toBe("SIGTERM");
  });
});
