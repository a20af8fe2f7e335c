import { describe, expect, test } from "bun:test";
import { Metrics } from "../../../src/sinks/metrics.ts";

const series = async (m: Metrics) => (await m.registry.metrics()).split("\n").filter((l) => l.startsWith("oomtrace_time_to_oom_seconds{"));

describe("oomtrace_time_to_oom_seconds", () => {
  test("one series per container while it has an estimate; a rename moves it; an end removes it", async () => {
    const m = new Metrics({ podLabels: true });
    m.setTimeToOom("/a", { namespace: "", pod: "uid-1", container: "cid-1" }, 42.5);
    m.setTimeToOom("/b", { namespace: "", pod: "uid-2", container: "cid-2" }, 7);
    expect(await series(m)).toEqual([
      'oomtrace_time_to_oom_seconds{namespace="",pod="uid-1",container="cid-1"} 42.5',
      'oomtrace_time_to_oom_seconds{namespace="",pod="uid-2",container="cid-2"} 7',
    ]);
    // A name source learned the pod's names: the series with the ids goes, the named one stays.
    m.setTimeToOom("/a", { namespace: "team-a", pod: "web-0", container: "app" }, 40);
    m.setTimeToOom("/b", { namespace: "", pod: "uid-2", container: "cid-2" }, null);
    expect(await series(m)).toEqual(['oomtrace_time_to_oom_seconds{namespace="team-a",pod="web-0",container="app"} 40']);
    m.setTimeToOom("/a", { namespace: "team-a", pod: "web-0", container: "app" }, null);
    expect(await series(m)).toEqual([]);
  });

  test("--no-metrics-pod-labels: no per-container gauge at all", async () => {
    const m = new Metrics({ podLabels: false });
    m.setTimeToOom("/a", { namespace: "", pod: "uid-1", container: "cid-1" }, 42.5);
    expect(await m.registry.metrics()).not.toContain("oomtrace_time_to_oom_seconds");
  });
});
