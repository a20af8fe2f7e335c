// The walk and the monitor on cgroup-shaped directory trees made in a temp dir: the same files the
// kernel shows, written by the test, so growth, steadiness and removal are under the test's control.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultWalkRoot, findContainers, HierarchyError, hierarchyOf } from "../../../../src/sources/pressure/cgroups.ts";
import { DISCOVERY_MS, PressureMonitor, type PressureOptions } from "../../../../src/sources/pressure/monitor.ts";
import type { PressureEvent, TimeToOom } from "../../../../src/types.ts";

const MiB = 1 << 20;
const UID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const UID2 = "1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const CID = "a".repeat(64);
const CID2 = "b".repeat(64);
const CID3 = "c".repeat(64);

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A memory hierarchy of version `v` rooted in a fresh temp dir. */
function tree(v: "v1" | "v2") {
  const root = mkdtempSync(join(tmpdir(), "oomtrace-cg-"));
  dirs.push(root);
  const files = {
    usage: v === "v1" ? "memory.usage_in_bytes" : "memory.current",
    limit: v === "v1" ? "memory.limit_in_bytes" : "memory.max",
    inactive: v === "v1" ? "total_inactive_file" : "inactive_file",
  };
  if (v === "v1") writeFileSync(join(root, files.usage), "0\n");
  else writeFileSync(join(root, "cgroup.controllers"), "cpuset cpu io memory pids\n");
  return {
    root,
    /** A cgroup at `rel` with usage, limit (null: none) and inactive file pages. */
    cgroup(rel: string, usage = 10 * MiB, limit: number | null = 100 * MiB, inactive = 0) {
      const dir = join(root, rel);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, files.usage), `${usage}\n`);
      writeFileSync(join(dir, files.limit), limit === null ? (v === "v1" ? "9223372036854771712\n" : "max\n") : `${limit}\n`);
      writeFileSync(join(dir, "memory.stat"), `anon 1\n${files.inactive} ${inactive}\nactive_file 0\n`);
      return dir;
    },
    setUsage(dir: string, bytes: number) {
      writeFileSync(join(dir, files.usage), `${bytes}\n`);
    },
  };
}

describe("hierarchyOf and defaultWalkRoot", () => {
  test("v1 and v2 are told apart by their files; the mount is the top of the same filesystem", () => {
    const t1 = tree("v1");
    const h1 = hierarchyOf(t1.cgroup("kubepods", 0, null));
    expect(h1.version).toBe("v1");
    // The temp dir sits on one filesystem with its parents, so the mount is above it.
    expect(t1.root.startsWith(h1.mount)).toBe(true);
    const t2 = tree("v2");
    expect(hierarchyOf(t2.root).version).toBe("v2");
  });

  test("a directory that is no memory cgroup: an error that says what to do", () => {
    const dir = mkdtempSync(join(tmpdir(), "oomtrace-nocg-"));
    dirs.push(dir);
    expect(() => hierarchyOf(dir)).toThrow(HierarchyError);
    expect(() => hierarchyOf(dir)).toThrow(/--pressure-cgroup-root .*--no-pressure/);
  });

  test("the default walk root under --host-root: v1's memory hierarchy first, then v2, else an error", () => {
    const host = mkdtempSync(join(tmpdir(), "oomtrace-host-"));
    dirs.push(host);
    expect(() => defaultWalkRoot(host)).toThrow(/no memory cgroup hierarchy under .*--host-root/);
    mkdirSync(join(host, "sys/fs/cgroup/memory"), { recursive: true });
    writeFileSync(join(host, "sys/fs/cgroup/cgroup.controllers"), "cpu io memory pids\n");
    expect(defaultWalkRoot(host)).toBe(join(host, "sys/fs/cgroup"));
    writeFileSync(join(host, "sys/fs/cgroup/memory/memory.usage_in_bytes"), "0\n");
    expect(defaultWalkRoot(host)).toBe(join(host, "sys/fs/cgroup/memory"));
  });

  test("a v2 root without the memory controller is not a memory hierarchy", () => {
    const host = mkdtempSync(join(tmpdir(), "oomtrace-host-"));
    dirs.push(host);
    mkdirSync(join(host, "sys/fs/cgroup"), { recursive: true });
    writeFileSync(join(host, "sys/fs/cgroup/cgroup.controllers"), "cpu io pids\n");
    expect(() => defaultWalkRoot(host)).toThrow(HierarchyError);
  });
});

describe("findContainers", () => {
  test("every kubelet layout's container cgroups, and nothing else", () => {
    const t = tree("v1");
    const systemdPod = `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID2.replaceAll("-", "_")}.slice`;
    const want = [
      `kubepods/burstable/pod${UID}/${CID}`,
      `kubepods/pod${UID2}/crio-${CID2}`,
      `${systemdPod}/cri-containerd-${CID3}.scope`,
      // kubelet's --cgroup-root can put the tree lower down.
      `custom.slice/deeper/kubepods/besteffort/pod${UID}/${CID2}`,
    ];
    for (const rel of want) t.cgroup(rel);
    t.cgroup(`kubepods/burstable/pod${UID}/${CID}/made-by-workload`);
    t.cgroup(`kubepods/burstable/pod${UID}/not-a-container`);
    t.cgroup("system.slice/containerd.service");
    t.cgroup(`a/b/c/d/e/f/kubepods/pod${UID}/${CID}`); // too deep to be the kubelet's
    const found = findContainers(t.root, hierarchyOf(t.root));
    const rels = found.map((c) => c.dir.slice(t.root.length + 1)).sort();
    expect(rels).toEqual([...want].sort());
    const sys = found.find((c) => c.dir.endsWith(".scope"))!;
    expect(sys.path.endsWith(`/${systemdPod}/cri-containerd-${CID3}.scope`)).toBe(true);
    expect(sys.path.startsWith("/")).toBe(true);
    expect(sys.identity.pod?.uid).toBe(UID2);
    expect(sys.identity.container).toEqual({ id: CID3, runtime: "containerd", name: null });
    expect(sys.usageFile.endsWith("memory.usage_in_bytes")).toBe(true);
    expect(sys.limitFile.endsWith("memory.limit_in_bytes")).toBe(true);
  });

  test("v2 files, and PSI where the cgroup has memory.pressure", () => {
    const t = tree("v2");
    const withPsi = t.cgroup(`kubepods/burstable/pod${UID}/${CID}`);
    writeFileSync(join(withPsi, "memory.pressure"), "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    t.cgroup(`kubepods/burstable/pod${UID}/${CID2}`);
    const [a, b] = findContainers(t.root, hierarchyOf(t.root)).sort((x, y) => x.dir.localeCompare(y.dir));
    expect(a!.usageFile.endsWith("memory.current")).toBe(true);
    expect(a!.limitFile.endsWith("memory.max")).toBe(true);
    expect(a!.psiFile).toBe(join(withPsi, "memory.pressure"));
    expect(b!.psiFile).toBeNull();
  });
});

/** A monitor on `root` with a clock the test moves, and everything it says collected. */
function monitorOn(root: string, over: Partial<PressureOptions> = {}) {
  const clock = { wallMs: 1_700_000_000_000, monoMs: 0 };
  const warnings: PressureEvent[] = [];
  const estimates = new Map<string, TimeToOom | null>();
  const errors: string[] = [];
  const m = new PressureMonitor({
    walkRoot: root,
    intervalMs: 1000,
    windowMs: 20_000,
    thresholds: { timeToOomSeconds: 60, minConfidence: 0.5, usageRatio: 0.9, psiFullAvg10: 10 },
    node: "node-a",
    onWarning: (e) => warnings.push(e),
    onEstimate: (c, e) => estimates.set(c.dir, e),
    onError: (c, e) => errors.push(`${c.dir}: ${e.message}`),
    clock: () => ({ ...clock }),
    ...over,
  });
  const step = (ms = 1000) => {
    clock.wallMs += ms;
    clock.monoMs += ms;
  };
  return { m, clock, step, warnings, estimates, errors };
}

describe("PressureMonitor", () => {
  test("a growing container warns once, before its limit, with a time that matches the growth; a steady one never does", () => {
    const t = tree("v1");
    const grow = t.cgroup(`kubepods/burstable/pod${UID}/${CID}`, 10 * MiB, 100 * MiB);
    const steady = t.cgroup(`kubepods/burstable/pod${UID}/${CID2}`, 50 * MiB, 100 * MiB);
    const { m, step, clock, warnings, estimates } = monitorOn(t.root);
    m.tick();
    expect(m.containers).toBe(2);
    // 2 MiB/s from 10 MiB: the limit is reached at t = 45 s.
    for (let s = 1; s <= 40; s++) {
      step();
      t.setUsage(grow, 10 * MiB + 2 * MiB * s);
      t.setUsage(steady, 50 * MiB + (s % 3) * MiB);
      m.tick();
    }
    expect(warnings).toHaveLength(1);
    const w = warnings[0]!;
    expect(w.identity.container?.id).toBe(CID);
    expect(w.cgroupPath.endsWith(`/kubepods/burstable/pod${UID}/${CID}`)).toBe(true);
    expect(w.reasons).toEqual(["time_to_oom"]);
    expect(w.node).toBe("node-a");
    // The warning's prediction: the time of the sample plus the estimate is about t = 45 s.
    const predictedAt = w.time.getTime() + w.estimate!.seconds * 1000;
    expect(Math.abs(predictedAt - (1_700_000_000_000 + 45_000))).toBeLessThan(1500);
    expect(w.time.getTime()).toBeLessThan(1_700_000_000_000 + 45_000);
    expect(estimates.get(steady)).toBeNull();
    expect(estimates.get(grow)!.seconds).toBeCloseTo(5, 0);
    expect(clock.monoMs).toBe(40_000);
  });

  test("the kill links to the warning, also after the cgroup is gone, and only within the grace time", () => {
    const t = tree("v1");
    const grow = t.cgroup(`kubepods/burstable/pod${UID}/${CID}`, 10 * MiB, 100 * MiB);
    const { m, step, clock, warnings, estimates } = monitorOn(t.root);
    m.tick();
    for (let s = 1; s <= 20; s++) {
      step();
      t.setUsage(grow, 10 * MiB + 3 * MiB * s);
      m.tick();
    }
    expect(warnings).toHaveLength(1);
    const identity = warnings[0]!.identity;
    rmSync(grow, { recursive: true });
    // The sampler keeps the files open: on a real cgroup the next read fails with ENODEV, but a
    // removed regular file stays readable, so here the next walk is what sees the container gone.
    step(DISCOVERY_MS);
    m.tick();
    expect(m.containers).toBe(0);
    expect(estimates.get(grow)).toBeNull();
    const killAt = new Date(clock.wallMs);
    expect(m.warningFor(identity, killAt)).toBe(warnings[0]!);
    expect(m.warningFor(identity, new Date(warnings[0]!.time.getTime() - 1))).toBeNull();
    expect(m.warningFor({ ...identity, container: { id: CID2, runtime: null, name: null } }, killAt)).toBeNull();
    expect(m.warningFor(identity, new Date(clock.wallMs + 121_000))).toBeNull();
  });

  test("usage over the threshold warns without growth; no limit means not watched", () => {
    const t = tree("v2");
    t.cgroup(`kubepods/burstable/pod${UID}/${CID}`, 95 * MiB, 100 * MiB);
    // Inactive file pages are not counted: 95 MiB charged, 80 of them cache, is no pressure.
    t.cgroup(`kubepods/burstable/pod${UID}/${CID2}`, 95 * MiB, 100 * MiB, 80 * MiB);
    t.cgroup(`kubepods/burstable/pod${UID}/${CID3}`, 95 * MiB, null);
    const { m, warnings } = monitorOn(t.root);
    m.tick();
    expect(m.containers).toBe(2);
    expect(warnings.map((w) => [w.identity.container?.id, w.reasons, w.estimate])).toEqual([[CID, ["usage"], null]]);
    expect(warnings[0]!.sample).toEqual({ usageBytes: 95 * MiB, workingSetBytes: 95 * MiB, limitBytes: 100 * MiB, psi: null });
  });

  test("PSI full avg10 over the threshold warns", () => {
    const t = tree("v2");
    const dir = t.cgroup(`kubepods/burstable/pod${UID}/${CID}`, 10 * MiB, 100 * MiB);
    writeFileSync(join(dir, "memory.pressure"), "some avg10=40.00 avg60=1.00 avg300=0.00 total=9\nfull avg10=12.50 avg60=0.00 avg300=0.00 total=3\n");
    const { m, warnings } = monitorOn(t.root);
    m.tick();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.reasons).toEqual(["psi"]);
    expect(warnings[0]!.sample.psi).toEqual({ someAvg10: 40, fullAvg10: 12.5 });
  });

  test("new containers are found at the next discovery, and a changed limit is read again", () => {
    const t = tree("v1");
    const { m, step, warnings } = monitorOn(t.root);
    m.tick();
    expect(m.containers).toBe(0);
    const dir = t.cgroup(`kubepods/burstable/pod${UID}/${CID}`, 50 * MiB, 100 * MiB);
    step(1000);
    m.tick();
    expect(m.containers).toBe(0);
    step(5000);
    m.tick();
    expect(m.containers).toBe(1);
    expect(warnings).toHaveLength(0);
    writeFileSync(join(dir, "memory.limit_in_bytes"), `${52 * MiB}\n`);
    step(5000);
    m.tick();
    expect(warnings.map((w) => w.reasons)).toEqual([["usage"]]);
    expect(warnings[0]!.sample.limitBytes).toBe(52 * MiB);
  });

  test("a file that holds garbage is reported and the container dropped, without stopping the others", () => {
    const t = tree("v1");
    const bad = t.cgroup(`kubepods/burstable/pod${UID}/${CID}`);
    t.cgroup(`kubepods/burstable/pod${UID}/${CID2}`, 95 * MiB, 100 * MiB);
    writeFileSync(join(bad, "memory.usage_in_bytes"), "garbage\n");
    const { m, warnings, errors } = monitorOn(t.root);
    m.tick();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("holds no number");
    expect(warnings.map((w) => w.identity.container?.id)).toEqual([CID2]);
  });
});
