import { describe, expect, test } from "bun:test";
import { fitGrowth, MIN_SAMPLES, SampleWindow, t95, timeToOom } from "../../../src/predict/growth.ts";

const MiB = 1 << 20;

/** A fixed-seed generator, so a noisy case is the same case on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** Samples `every` seconds from 0 for `span` seconds of `f(t)`. */
function windowOf(f: (t: number) => number, span: number, every = 1, capacity = 1000): SampleWindow {
  const w = new SampleWindow(capacity, span);
  for (let t = 0; t <= span + 1e-9; t += every) w.push(t, f(t));
  return w;
}

describe("fitGrowth and timeToOom", () => {
  test("steady linear growth: the rate, the time to the limit and full confidence", () => {
    // 100 MiB + 2 MiB/s, limit 200 MiB: at t=30 the level is 160 MiB, 20 s left.
    const fit = fitGrowth(windowOf((t) => 100 * MiB + 2 * MiB * t, 30))!;
    expect(fit.rate).toBeCloseTo(2 * MiB, 0);
    expect(fit.level).toBeCloseTo(160 * MiB, 0);
    const est = timeToOom(fit, 200 * MiB)!;
    expect(est.seconds).toBeCloseTo(20, 3);
    expect(est.lowSeconds).toBeLessThanOrEqual(est.seconds);
    expect(est.highSeconds).toBeGreaterThanOrEqual(est.seconds);
    expect(est.confidence).toBeGreaterThan(0.99);
    expect(est.samples).toBe(31);
    expect(est.spanSeconds).toBe(30);
  });

  test("growth in steps between samples (an allocation every 2 s): still the mean rate", () => {
    const fit = fitGrowth(windowOf((t) => 50 * MiB + 8 * MiB * Math.floor(t / 2), 40, 0.5))!;
    expect(fit.rate / (4 * MiB)).toBeGreaterThan(0.9);
    expect(fit.rate / (4 * MiB)).toBeLessThan(1.1);
    expect(timeToOom(fit, 400 * MiB)!.confidence).toBeGreaterThan(0.5);
  });

  test("noisy growth: the 90% interval holds the true time about 90% of the time; more noise, less confidence", () => {
    // Truth at t=60: level 160 MiB, 140 s left at 1 MiB/s.
    const runs = (sd: number) =>
      Array.from({ length: 200 }, (_, seed) => {
        const rand = rng(seed + 1);
        return timeToOom(fitGrowth(windowOf((t) => 100 * MiB + MiB * t + (rand() - 0.5) * 2 * sd, 60))!, 300 * MiB)!;
      });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const quiet = runs(0.5 * MiB);
    const loud = runs(4 * MiB);
    for (const r of [quiet, loud]) {
      const covered = r.filter((e) => e.lowSeconds <= 140 && e.highSeconds >= 140).length / r.length;
      expect(covered).toBeGreaterThan(0.8);
    }
    expect(mean(quiet.map((e) => e.confidence))).toBeGreaterThan(mean(loud.map((e) => e.confidence)));
    expect(mean(loud.map((e) => e.highSeconds - e.lowSeconds))).toBeGreaterThan(mean(quiet.map((e) => e.highSeconds - e.lowSeconds)));
  });

  test("growth that started late in the window is measured by the recent half, not averaged with the flat past", () => {
    // Flat at 50 MiB for 6 s, then 4 MiB/s: at t=30 the level is 146 MiB, 10 s left to 186 MiB.
    const w = windowOf((t) => 50 * MiB + 4 * MiB * Math.max(0, t - 6), 30);
    const est = timeToOom(fitGrowth(w)!, 186 * MiB)!;
    expect(est.growthBytesPerSecond / (4 * MiB)).toBeCloseTo(1, 2);
    expect(est.seconds).toBeCloseTo(10, 1);
    expect(est.confidence).toBeGreaterThan(0.5);
  });

  test("a steady container with noise shows no growth", () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const rand = rng(seed);
      const fit = fitGrowth(windowOf(() => 100 * MiB + (rand() - 0.5) * 20 * MiB, 30))!;
      const est = timeToOom(fit, 128 * MiB);
      // Either no estimate at all, or one nobody should act on.
      expect(est === null || est.confidence < 0.5).toBe(true);
    }
  });

  test("a flat container has no estimate", () => {
    expect(timeToOom(fitGrowth(windowOf(() => 100 * MiB, 30))!, 128 * MiB)).toBeNull();
  });

  test("a shrinking container has no estimate", () => {
    expect(timeToOom(fitGrowth(windowOf((t) => 100 * MiB - MiB * t, 30))!, 128 * MiB)).toBeNull();
  });

  test("one step up, then flat (an app loading its data), is not steady growth", () => {
    for (const at of [5, 10, 15, 20, 25]) {
      const fit = fitGrowth(windowOf((t) => (t < at ? 40 * MiB : 70 * MiB), 30))!;
      const est = timeToOom(fit, 128 * MiB);
      expect(est === null || est.confidence < 0.2).toBe(true);
    }
  });

  test("one wild sample does not move the rate", () => {
    const w = windowOf((t) => (t === 12 ? 500 * MiB : 100 * MiB + MiB * t), 30);
    expect(fitGrowth(w)!.rate).toBeCloseTo(MiB, 0);
  });

  test("already at the limit: zero seconds left", () => {
    const est = timeToOom(fitGrowth(windowOf((t) => 100 * MiB + MiB * t, 30))!, 120 * MiB)!;
    expect(est.seconds).toBe(0);
  });

  test("no limit: nothing to reach", () => {
    expect(timeToOom(fitGrowth(windowOf((t) => MiB * t, 30))!, Infinity)).toBeNull();
  });

  test(`fewer than ${MIN_SAMPLES} samples: no fit`, () => {
    expect(fitGrowth(windowOf((t) => MiB * t, MIN_SAMPLES - 2))).toBeNull();
    expect(fitGrowth(windowOf((t) => MiB * t, MIN_SAMPLES - 1))).not.toBeNull();
  });

  test("no fit before half the window is seen: a start-up allocation of a few seconds is no trend", () => {
    const w = new SampleWindow(100, 30);
    for (let t = 0; t < 15; t += 0.5) w.push(t, MiB * 10 * t);
    expect(w.size).toBeGreaterThan(MIN_SAMPLES);
    expect(fitGrowth(w)).toBeNull();
    w.push(15, MiB * 150);
    expect(fitGrowth(w)).not.toBeNull();
  });

  test("few samples give less confidence than many for the same noise", () => {
    const rand = rng(3);
    const f = (t: number) => MiB * t + (rand() - 0.5) * MiB;
    const few = timeToOom(fitGrowth(windowOf(f, 6))!, 200 * MiB);
    const many = timeToOom(fitGrowth(windowOf(f, 60))!, 200 * MiB)!;
    expect(few === null || few.confidence < many.confidence).toBe(true);
  });
});

describe("SampleWindow", () => {
  test("keeps only the last `span` seconds", () => {
    const w = windowOf((t) => t, 100, 1, 1000);
    const short = new SampleWindow(1000, 10);
    for (let t = 0; t <= 100; t++) short.push(t, t);
    expect(w.size).toBe(101);
    expect(short.size).toBe(11);
    expect(short.timeAt(0)).toBe(90);
    expect(short.valueAt(short.size - 1)).toBe(100);
  });

  test("a full ring drops the oldest sample", () => {
    const w = new SampleWindow(4, 1000);
    for (let t = 0; t < 10; t++) w.push(t, t * 10);
    expect(w.size).toBe(4);
    expect([0, 1, 2, 3].map((k) => w.timeAt(k))).toEqual([6, 7, 8, 9]);
    expect(w.valueAt(3)).toBe(90);
  });

  test("a time that does not move forward starts the window over", () => {
    const w = windowOf((t) => t, 20);
    w.push(5, 1);
    expect(w.size).toBe(1);
    expect(w.timeAt(0)).toBe(5);
  });
});

test("t95 widens for few degrees of freedom and tends to the normal's 1.645", () => {
  expect(t95(1)).toBeCloseTo(6.314, 3);
  expect(t95(11)).toBe(t95(10));
  expect(t95(10)).toBeGreaterThan(t95(30));
  expect(t95(5000)).toBe(1.645);
});
