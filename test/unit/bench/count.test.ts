// The benchmark's pure parts: quantiles, and how a storm's events are counted against the kernel's.
import { describe, expect, test } from "bun:test";
import { seen } from "../../../bench/storm.ts";
import { fmtSpread, quantile, spread } from "../../../bench/stats.ts";
import type { NdjsonEvent } from "../../helpers/agent.ts";

describe("quantile (nearest rank)", () => {
  test("p50 and p99 of 1..200, in any order", () => {
    const xs = Array.from({ length: 200 }, (_, i) => 200 - i);
    expect(quantile(xs, 0.5)).toBe(100);
    expect(quantile(xs, 0.99)).toBe(198);
    expect(quantile(xs, 1)).toBe(200);
  });
  test("few samples: p99 is the maximum; none is NaN", () => {
    expect(quantile([3, 1, 2], 0.99)).toBe(3);
    expect(quantile([], 0.5)).toBeNaN();
  });
  test("spread ignores runs that measured nothing", () => {
    expect(spread([4, NaN, 2, 9])).toEqual({ median: 4, min: 2, max: 9, runs: 3 });
    expect(fmtSpread(spread([4, 2, 9]), 1, " ms")).toBe("4.0 ms (2.0 ms–9.0 ms, 3 runs)");
    expect(fmtSpread(spread([4]), 0)).toBe("4");
  });
});

const event = (pid: number, comm: string, containerId: string | null, podUid: string | null, source = "bpftrace") =>
  ({ value: { victim: { pid, comm }, container: { id: containerId }, pod: { uid: podUid }, source } as unknown as NdjsonEvent, atNs: 0n });

describe("storm counting", () => {
  const pods = [
    { uid: "u1", containerId: "c1", dir: "/x/1" },
    { uid: "u2", containerId: "c2", dir: "/x/2" },
  ];
  test("a kill counts once; attributed only with the pod UID that owns the container id", () => {
    const s = seen(
      [
        event(1, "oomb", "c1", "u1"),
        event(1, "oomb", "c1", "u1", "kmsg"), // the same victim twice
        event(2, "oomb", "c2", "u1"), // container of one pod, UID of another: wrong
        event(3, "oomb", null, null, "kmsg"), // seen without a cgroup
        event(4, "tail", "c1", "u1"), // not ours
        event(5, "oomb", "c9", "u9"), // a container that is not in the storm
      ],
      "oomb",
      pods,
    );
    expect(s).toEqual({ captured: 4, attributed: 1, duplicates: 1, bySource: { bpftrace: 3, kmsg: 2 } });
  });
});
