// Summary statistics for the benchmark figures (pure).

/** Nearest-rank quantile (q in 0..1) of unsorted numbers; NaN for none. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil(q * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/** Median of repeated runs and the range they spread over. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function spread(xs: readonly number[]): Spread {
  const ok = xs.filter((x) => Number.isFinite(x));
  return { median: median(ok), min: Math.min(...ok), max: Math.max(...ok), runs: ok.length };
}

/** "4.1 (3.9–4.6, 3 runs)"; one run prints only its value. */
export function fmtSpread(s: Spread, digits = 1, unit = ""): string {
  if (s.runs === 0) return "n/a";
  const f = (x: number) => `${x.toFixed(digits)}${unit}`;
  return s.runs === 1 ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)}, ${s.runs} runs)`;
}
