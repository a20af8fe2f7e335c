import { describe, expect, test } from "bun:test";
import { fitGrowth, SampleWindow, timeToOom } from "../../../src/predict/growth.ts";
import { containerKey, ContainerPressure, Episode, pressureReasons, SUSTAINED_SAMPLES, WarningLinks, type PressureThresholds } from "../../../src/predict/warn.ts";
import type { CgroupIdentity, MemorySample, PressureEvent, TimeToOom } from "../../../src/types.ts";

const MiB = 1 << 20;
const TH: PressureThresholds = { timeToOomSeconds: 300, minConfidence: 0.5, usageRatio: 0.9, psiFullAvg10: 10 };

const sample = (ws: number, psi: MemorySample["psi"] = null): MemorySample => ({ usageBytes: ws, workingSetBytes: ws, limitBytes: 100 * MiB, psi });
const est = (seconds: number, confidence: number): TimeToOom => ({
  seconds,
  lowSeconds: seconds * 0.9,
  highSeconds: seconds * 1.1,
  confidence,
  growthBytesPerSecond: MiB,
  samples: 30,
  spanSeconds: 29,
});

describe("pressureReasons", () => {
  test("nothing crossed below every threshold", () => {
    expect(pressureReasons(sample(50 * MiB, { someAvg10: 3, fullAvg10: 1 }), null, TH)).toEqual([]);
  });

  test("time to OOM counts only when soon enough and confident enough", () => {
    expect(pressureReasons(sample(50 * MiB), est(299, 0.5), TH)).toEqual(["time_to_oom"]);
    expect(pressureReasons(sample(50 * MiB), est(301, 0.9), TH)).toEqual([]);
    expect(pressureReasons(sample(50 * MiB), est(10, 0.49), TH)).toEqual([]);
  });

  test("usage counts the working set against the limit", () => {
    expect(pressureReasons(sample(90 * MiB), null, TH)).toEqual(["usage"]);
    expect(pressureReasons({ ...sample(89 * MiB), usageBytes: 100 * MiB }, null, TH)).toEqual([]);
  });

  test("PSI full avg10", () => {
    expect(pressureReasons(sample(10 * MiB, { someAvg10: 50, fullAvg10: 10 }), null, TH)).toEqual(["psi"]);
    expect(pressureReasons(sample(10 * MiB, { someAvg10: 50, fullAvg10: 9.99 }), null, TH)).toEqual([]);
  });

  test("all three at once, in a fixed order", () => {
    expect(pressureReasons(sample(95 * MiB, { someAvg10: 50, fullAvg10: 20 }), est(5, 1), TH)).toEqual(["time_to_oom", "usage", "psi"]);
  });

  test("a threshold that is off never counts", () => {
    const off: PressureThresholds = { timeToOomSeconds: null, minConfidence: 0, usageRatio: null, psiFullAvg10: null };
    expect(pressureReasons(sample(100 * MiB, { someAvg10: 100, fullAvg10: 100 }), est(0, 1), off)).toEqual([]);
  });
});

describe("Episode", () => {
  test("starts once, ends only after the quiet time, then can start again", () => {
    const ep = new Episode(1000);
    expect(ep.update(false, 0)).toBeNull();
    expect(ep.update(true, 100)).toBe("start");
    expect(ep.update(true, 200)).toBeNull();
    expect(ep.update(false, 300)).toBeNull();
    expect(ep.update(true, 900)).toBeNull(); // back over the threshold: same episode, quiet time restarts
    expect(ep.update(false, 1000)).toBeNull();
    expect(ep.update(false, 1999)).toBeNull();
    expect(ep.isActive).toBe(true);
    expect(ep.update(false, 2000)).toBe("end");
    expect(ep.isActive).toBe(false);
    expect(ep.update(true, 2100)).toBe("start");
  });
});

describe("ContainerPressure", () => {
  test(`a time-to-OOM estimate counts once it held ${SUSTAINED_SAMPLES} samples in a row; usage counts at once`, () => {
    const p = new ContainerPressure(TH, 10_000);
    expect(p.update(sample(50 * MiB), est(30, 0.9), 0)).toEqual({ change: null, reasons: [] });
    expect(p.update(sample(50 * MiB), est(30, 0.9), 1000)).toEqual({ change: null, reasons: [] });
    expect(p.update(sample(50 * MiB), null, 2000)).toEqual({ change: null, reasons: [] }); // the run breaks
    for (let i = 1; i < SUSTAINED_SAMPLES; i++) expect(p.update(sample(50 * MiB), est(30, 0.9), 2000 + i * 1000).change).toBeNull();
    expect(p.update(sample(50 * MiB), est(30, 0.9), 9000)).toEqual({ change: "start", reasons: ["time_to_oom"] });
    const q = new ContainerPressure(TH, 10_000);
    expect(q.update(sample(95 * MiB), est(30, 0.9), 0)).toEqual({ change: "start", reasons: ["usage"] });
  });

  test("simulated white noise below the limit: at most one warning in 500 container-minutes; growth under less noise is warned", () => {
    const rand = ((s: number) => () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32))(42);
    const run = (f: (t: number) => number) => {
      const w = new SampleWindow(40, 30);
      const p = new ContainerPressure({ ...TH, minConfidence: 0.6 }, 30_000); // the default confidence
      const starts: number[] = [];
      for (let t = 0; t <= 300; t++) {
        const ws = f(t);
        w.push(t, ws);
        const fit = fitGrowth(w);
        if (p.update(sample(ws), fit && timeToOom(fit, 100 * MiB), t * 1000).change === "start") starts.push(t);
      }
      return starts;
    };
    // 100 containers for 5 minutes each, white noise of ±10 MiB around 60 MiB of a 100 MiB limit:
    // at the default confidence about one false warning in 2000 container-minutes was measured.
    let falseStarts = 0;
    for (let c = 0; c < 100; c++) falseStarts += run(() => 60 * MiB + (rand() - 0.5) * 20 * MiB).length;
    expect(falseStarts).toBeLessThanOrEqual(1);
    // ±2 MiB of noise on 0.2 MiB/s of growth from 20 MiB: the limit is reached at t = 400 s.
    const growing = run((t) => 20 * MiB + 0.2 * MiB * t + (rand() - 0.5) * 4 * MiB);
    expect(growing.length).toBeGreaterThan(0);
    expect(growing[0]!).toBeLessThan(300);
  });
});

const UID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const CID = "a".repeat(64);
const identity = (uid: string | null, cid: string | null): CgroupIdentity => ({
  workload: "kubernetes",
  pod: uid ? { uid, qos: "burstable", namespace: null, name: null } : null,
  container: cid ? { id: cid, runtime: null, name: null } : null,
  sandbox: null,
  unit: null,
  level: "container",
});

describe("containerKey", () => {
  test("needs both the pod UID and the container id", () => {
    expect(containerKey(identity(UID, CID))).toBe(`${UID}/${CID}`);
    expect(containerKey(identity(UID, null))).toBeNull();
    expect(containerKey(identity(null, CID))).toBeNull();
    expect(containerKey(null)).toBeNull();
  });
});

describe("WarningLinks", () => {
  const warning = (ms: number): PressureEvent => ({
    time: new Date(ms),
    node: "n",
    cgroupPath: "/kubepods",
    identity: identity(UID, CID),
    names: null,
    reasons: ["time_to_oom"],
    sample: sample(50 * MiB),
    estimate: est(30, 0.9),
  });
  const key = `${UID}/${CID}`;

  test("a kill after the warning finds it; a kill before it, or elsewhere, does not", () => {
    const links = new WarningLinks(60_000);
    const w = warning(10_000);
    links.started(key, w);
    expect(links.find(key, 20_000)).toBe(w);
    expect(links.find(key, 9_999)).toBeNull();
    expect(links.find(`${UID}/${"b".repeat(64)}`, 20_000)).toBeNull();
    expect(links.find(null, 20_000)).toBeNull();
  });

  test("after the episode ends the warning links for the grace time only, and is then pruned", () => {
    const links = new WarningLinks(60_000);
    const w = warning(10_000);
    links.started(key, w);
    links.ended(key, 30_000);
    links.ended(key, 50_000); // a second end does not extend it
    expect(links.find(key, 90_000)).toBe(w);
    expect(links.find(key, 90_001)).toBeNull();
    links.prune(80_000);
    expect(links.find(key, 80_000)).toBe(w);
    links.prune(90_001);
    expect(links.find(key, 40_000)).toBeNull();
  });

  test("a new episode's warning replaces the old one", () => {
    const links = new WarningLinks(60_000);
    links.started(key, warning(1_000));
    links.ended(key, 2_000);
    const second = warning(5_000);
    links.started(key, second);
    expect(links.find(key, 500_000)).toBe(second);
  });
});
