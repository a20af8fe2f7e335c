import { describe, expect, test } from "bun:test";
import { Heartbeat } from "../../src/heartbeat.ts";

describe("Heartbeat", () => {
  test("tasks and waiters run on the same beat; a removed task stops", async () => {
    const hb = new Heartbeat(20);
    const beats: string[] = [];
    const stopA = hb.every(() => beats.push("a"));
    hb.every(() => beats.push("b"));
    await hb.next();
    beats.push("woke");
    expect(beats.slice(0, 2)).toEqual(["a", "b"]);
    stopA();
    const n = beats.length;
    await hb.next();
    await Bun.sleep(5);
    // A loaded machine may fit more beats into the sleep; every one of them runs only b.
    expect(beats.slice(n).length).toBeGreaterThan(0);
    expect(beats.slice(n).filter((b) => b !== "b")).toEqual([]);
    hb.stop();
  });

  test("an abort wakes a waiter at once; an aborted signal does not wait", async () => {
    const hb = new Heartbeat(60_000);
    const ac = new AbortController();
    const t0 = performance.now();
    const waiting = hb.next(ac.signal);
    setTimeout(() => ac.abort(), 10);
    await waiting;
    await hb.next(ac.signal);
    expect(performance.now() - t0).toBeLessThan(1000);
    hb.stop();
  });

  test("stop wakes every waiter and runs no task again", async () => {
    const hb = new Heartbeat(60_000);
    let ran = 0;
    hb.every(() => ran++);
    const a = hb.next();
    const b = hb.next();
    hb.stop();
    await Promise.all([a, b]);
    expect(ran).toBe(0);
  });
});
