// When to try a write again, and how long to wait (pure), plus the loop that does it.
import { ApiError, NetworkError } from "./client.ts";

/** 429, 5xx and broken connections are worth another try; everything else is an answer. */
export function retryable(e: unknown): boolean {
  if (e instanceof NetworkError) return true;
  if (e instanceof ApiError) return e.status === 429 || (e.status >= 500 && e.status <= 599);
  return false;
}

/** Exponential backoff from 500 ms up to 30 s with jitter; the server's Retry-After wins when it gives one. */
export function backoffMs(attempt: number, e: unknown, random: () => number = Math.random): number {
  if (e instanceof ApiError && e.retryAfterSeconds !== null) return Math.min(e.retryAfterSeconds, 300) * 1000;
  const base = Math.min(30_000, 500 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export interface RetryOptions {
  /** Give up at this time (Date.now() ms): a kill's action should not be applied hours late. */
  deadline: number;
  signal?: AbortSignal;
  onRetry?: (e: unknown, waitMs: number) => void;
}

/** Runs `op` until it succeeds, fails with a non-retryable error, the deadline comes, or `signal` aborts. */
export async function withRetry<T>(op: () => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      const wait = backoffMs(attempt, e);
      if (!retryable(e) || Date.now() + wait > o.deadline || o.signal?.aborted) throw e;
      o.onRetry?.(e, wait);
      await new Promise<void>((done) => {
        const t = setTimeout(done, wait);
        o.signal?.addEventListener("abort", () => (clearTimeout(t), done()), { once: true });
      });
      if (o.signal?.aborted) throw e;
    }
  }
}
