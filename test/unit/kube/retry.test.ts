import { describe, expect, test } from "bun:test";
import { ApiError, NetworkError, RateLimiter } from "../../../src/kube/client.ts";
import { backoffMs, retryable, withRetry } from "../../../src/kube/retry.ts";

describe("retry policy", () => {
  test("429, 5xx and broken connections are retried; 403, 404, 409, 422 are answers", () => {
    expect(retryable(new NetworkError("reset"))).toBe(true);
    for (const s of [429, 500, 502, 503, 504]) expect(retryable(new ApiError(s, "", "", null))).toBe(true);
    for (const s of [400, 401, 403, 404, 409, 410, 422]) expect(retryable(new ApiError(s, "", "", null))).toBe(false);
    expect(retryable(new Error("bug"))).toBe(false);
  });

  test("Retry-After wins; otherwise exponential from 500 ms to 30 s with ±20% jitter", () => {
    expect(backoffMs(0, new ApiError(429, "", "", 7))).toBe(7000);
    expect(backoffMs(0, null, () => 0.5)).toBe(500);
    expect(backoffMs(3, null, () => 0.5)).toBe(4000);
    expect(backoffMs(20, null, () => 0.5)).toBe(30_000);
    expect(backoffMs(0, null, () => 0)).toBe(400);
    expect(backoffMs(0, null, () => 1)).toBe(600);
  });

  test("withRetry stops at success, at a final answer, or at the deadline", async () => {
    let n = 0;
    expect(await withRetry(async () => (++n < 3 ? Promise.reject(new ApiError(429, "", "", 0)) : "ok"), { deadline: Date.now() + 10_000 })).toBe("ok");
    expect(n).toBe(3);
    n = 0;
    await expect(withRetry(async () => (n++, Promise.reject(new ApiError(403, "", "no", null))), { deadline: Date.now() + 10_000 })).rejects.toThrow("no");
    expect(n).toBe(1);
    n = 0;
    await expect(withRetry(async () => (n++, Promise.reject(new ApiError(503, "", "down", 60))), { deadline: Date.now() + 1000 })).rejects.toThrow("down");
    expect(n).toBe(1);
  });

  // Without the abort the wait would be 30 s, past the test's timeout.
  test("an abort ends the waiting at once", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(withRetry(async () => Promise.reject(new ApiError(503, "", "down", 30)), { deadline: Date.now() + 60_000, signal: ac.signal })).rejects.toThrow("down");
  });
});

describe("RateLimiter", () => {
  test("a burst goes at once, then qps per second", () => {
    let now = 0;
    const rl = new RateLimiter(2, 3, () => now);
    expect([rl.reserve(), rl.reserve(), rl.reserve()]).toEqual([0, 0, 0]);
    expect(rl.reserve()).toBe(500);
    expect(rl.reserve()).toBe(1000);
    now = 5000;
    expect(rl.reserve()).toBe(0);
  });
});
