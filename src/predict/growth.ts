// Growth of a container's working set and when it reaches the limit (pure).
//
// The fit is robust to single odd samples (a burst, a freed cache) because it takes medians, not
// sums: the growth rate is the median slope between samples half a window apart (a Theil–Sen
// estimator on n/2 pairs, so a sample costs O(n log n) on a small n), the level the median of what
// is left. The same line through the recent half of the window is used instead when it is clearly steeper.
// Its confidence is the smaller of two numbers:
//  - precision: 1 − (half-width of the rate's 90% interval) / rate. The interval comes from the
//    residuals' robust spread (1.4826 × median absolute residual), the standard error of a median of
//    the m pair slopes (√(π/2m) times one slope's), and Student's t with m − 1 degrees of freedom:
//    few or scattered samples give a wide interval and low confidence;
//  - steadiness: the slower half of the window's rate over the faster half's. A single step up
//    (one allocation, then flat) fits a line well but grows in one half only, and gets near 0.
import type { TimeToOom } from "../types.ts";

/** Fewer samples say nothing about a trend: the halves need three each. */
export const MIN_SAMPLES = 6;

/** Spread below one page is rounding in the kernel's counters, not noise. */
const NOISE_FLOOR_BYTES = 4096;

/** MAD × this estimates the standard deviation of normal noise. */
const MAD_TO_SD = 1.4826;

/** One-sided 95% Student's t by degrees of freedom (a 90% two-sided interval); between rows the smaller df's (wider) value is used. */
const T95: readonly (readonly [number, number])[] = [
  [1, 6.314], [2, 2.92], [3, 2.353], [4, 2.132], [5, 2.015], [6, 1.943], [7, 1.895], [8, 1.86], [9, 1.833],
  [10, 1.812], [12, 1.782], [15, 1.753], [20, 1.725], [30, 1.697], [60, 1.671], [120, 1.658],
];
const Z95 = 1.645;

export function t95(df: number): number {
  let v = T95[0]![1];
  for (const [d, t] of T95) if (d <= df) v = t;
  return df > 1000 ? Z95 : v;
}

/** A sliding window of (seconds, bytes) samples in fixed arrays: pushing never allocates. */
export class SampleWindow {
  private readonly t: Float64Array;
  private readonly y: Float64Array;
  private start = 0;
  private n = 0;

  constructor(
    readonly capacity: number,
    readonly spanSeconds: number,
  ) {
    this.t = new Float64Array(capacity);
    this.y = new Float64Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  /** Adds a sample and drops those older than the window; a time that goes backwards starts over. */
  push(seconds: number, bytes: number): void {
    if (this.n > 0 && seconds <= this.timeAt(this.n - 1)) this.clear();
    if (this.n === this.capacity) this.drop();
    const i = (this.start + this.n) % this.capacity;
    this.t[i] = seconds;
    this.y[i] = bytes;
    this.n++;
    while (this.n > 1 && seconds - this.timeAt(0) > this.spanSeconds) this.drop();
  }

  clear(): void {
    this.start = 0;
    this.n = 0;
  }

  timeAt(k: number): number {
    return this.t[(this.start + k) % this.capacity]!;
  }

  valueAt(k: number): number {
    return this.y[(this.start + k) % this.capacity]!;
  }

  private drop(): void {
    this.start = (this.start + 1) % this.capacity;
    this.n--;
  }
}

/** Scratch space shared by every fit; a fit is synchronous, so one is enough. */
let scratch = new Float64Array(256);

function median(a: Float64Array, n: number): number {
  const s = a.subarray(0, n).sort();
  return n % 2 === 1 ? s[n >> 1]! : (s[(n >> 1) - 1]! + s[n >> 1]!) / 2;
}

/** Median slope between samples `gap` apart, over samples [from, to). NaN when there is no pair. */
function medianSlope(w: SampleWindow, from: number, to: number, gap: number): number {
  let m = 0;
  // Times only increase in a window (push starts over otherwise), so every pair has dt > 0.
  for (let i = from; i + gap < to; i++) scratch[m++] = (w.valueAt(i + gap) - w.valueAt(i)) / (w.timeAt(i + gap) - w.timeAt(i));
  return m === 0 ? NaN : median(scratch, m);
}

export interface Fit {
  /** Bytes per second. */
  rate: number;
  /** Fitted level at the last sample. */
  level: number;
  /** Half-width of the rate's 90% interval. */
  halfWidth: number;
  /** Slower half's rate over the faster half's, 0 when either does not grow. */
  steadiness: number;
  samples: number;
  spanSeconds: number;
}

/** The robust line through samples [from, to): its rate, its level at the window's last sample, and the rate's 90% half-width. */
function line(w: SampleWindow, from: number, to: number): Pick<Fit, "rate" | "level" | "halfWidth"> | null {
  const n = to - from;
  const gap = n >> 1;
  const rate = medianSlope(w, from, to, gap);
  if (Number.isNaN(rate)) return null;
  // The pairs medianSlope took: how many, and how far apart on average.
  const m = n - gap;
  let dtSum = 0;
  for (let i = from; i + gap < to; i++) dtSum += w.timeAt(i + gap) - w.timeAt(i);
  const dt = dtSum / m;
  const tLast = w.timeAt(w.size - 1);
  for (let i = from; i < to; i++) scratch[i - from] = w.valueAt(i) - rate * (w.timeAt(i) - tLast);
  const level = median(scratch, n);
  for (let i = from; i < to; i++) scratch[i - from] = Math.abs(w.valueAt(i) - level - rate * (w.timeAt(i) - tLast));
  const spread = Math.max(MAD_TO_SD * median(scratch, n), NOISE_FLOOR_BYTES);
  // Each pair's slope has standard error spread·√2/dt; the median of m of them √(π/2m) times that.
  return { rate, level, halfWidth: (t95(m - 1) * spread * Math.sqrt(Math.PI / m)) / dt };
}

/**
 * The line through the window, or through its recent half when that grows clearly faster: growth that
 * has just started or is speeding up is not averaged down with older, slower samples (the estimate
 * errs early). Null with fewer than MIN_SAMPLES samples, or over less than half the window.
 */
export function fitGrowth(w: SampleWindow): Fit | null {
  const n = w.size;
  // A trend needs time as well as samples: a container that is still allocating at start, for a
  // few seconds, is not a leak. Until half the window is seen there is no fit.
  if (n < MIN_SAMPLES || w.timeAt(n - 1) - w.timeAt(0) < w.spanSeconds / 2) return null;
  if (scratch.length < n) scratch = new Float64Array(n * 2);
  const half = n >> 1;
  const whole = line(w, 0, n);
  if (!whole) return null;
  const early = medianSlope(w, 0, half, half >> 1);
  const late = medianSlope(w, n - half, n, half >> 1);
  const steadiness = early > 0 && late > 0 ? Math.min(early, late) / Math.max(early, late) : 0;
  // The recent half alone needs as many samples as a whole fit, and counts as faster only beyond
  // its own 90% interval: picking the larger of two noisy rates would bias the rate up.
  const recent = half >= MIN_SAMPLES ? line(w, n - half, n) : null;
  const chosen = recent && recent.rate - recent.halfWidth > whole.rate ? recent : whole;
  return { ...chosen, steadiness, samples: n, spanSeconds: w.timeAt(n - 1) - w.timeAt(0) };
}

/**
 * When the fitted level reaches `limitBytes`, with its 90% interval and confidence. Null when the
 * window does not show growth distinguishable from none (the rate's interval reaches zero).
 */
export function timeToOom(fit: Fit, limitBytes: number): TimeToOom | null {
  const { rate, halfWidth } = fit;
  if (!(rate > halfWidth) || !Number.isFinite(limitBytes)) return null;
  const headroom = Math.max(0, limitBytes - fit.level);
  const precision = 1 - halfWidth / rate;
  return {
    seconds: headroom / rate,
    lowSeconds: headroom / (rate + halfWidth),
    highSeconds: headroom / (rate - halfWidth),
    confidence: Math.min(precision, fit.steadiness),
    growthBytesPerSecond: rate,
    samples: fit.samples,
    spanSeconds: fit.spanSeconds,
  };
}
