// Early warning on real memory pressure: the compiled agent, real bpftrace, real memcg OOM kills.
// A container filled at a known rate must be warned about before the kernel kills it, with a
// predicted time close to the real one, and its kill must link to the warning; containers that hold
// steady (still or swinging) below their limit over the same time must not be warned about.
// Every OOM happens inside a child cgroup with a limit: never a global OOM on the host.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AgentProcess, type NdjsonEvent, type PressureNdjson } from "../helpers/agent.ts";
import { TestCgroups, randomHex } from "../helpers/cgroup.ts";
import { filler, holder, swinger, waitForLine } from "../helpers/hog.ts";

const MiB = 1 << 20;
const LIMIT = 192 * MiB;
// 4 MiB every 500 ms: 8 MiB/s, so about 22 s from an empty cgroup to the limit.
const STEP_MIB = 4;
const STEP_MS = 500;
const RATE = (STEP_MIB * MiB) / (STEP_MS / 1000);

/** cgroupfs-driver Burstable container dir under `base`. */
function container(cg: TestCgroups, base: string) {
  const uid = crypto.randomUUID();
  const id = randomHex(64);
  return { uid, id, ...cg.make(`${base}/kubepods/burstable/pod${uid}/${id}`, LIMIT) };
}

describe("early warning on real memory pressure (compiled agent, bpftrace 0.17)", () => {
  const cg = new TestCgroups();
  const base = `oomtrace-pressure-${randomHex(8)}`;
  let agent: AgentProcess;
  const gauge = new Map<string, number[]>();
  let filled: ReturnType<typeof container>;
  let still: ReturnType<typeof container>;
  let swinging: ReturnType<typeof container>;
  let fillPid = 0;
  let fillSignal: unknown;
  let kill: NdjsonEvent;

  beforeAll(async () => {
    filled = container(cg, base);
    still = container(cg, base);
    swinging = container(cg, base);
    // The steady containers hold their memory before the agent starts: an allocation in progress is growth.
    const steady = [holder({ cgroupDir: still.dir, mib: 64 }), swinger({ cgroupDir: swinging.dir, mib: 40, swingMib: 32, periodMs: 1000 })];
    try {
      for (const p of steady) await waitForLine(p, "held");
      // The walk starts at the test's own subtree, so other tests' cgroups on this machine are not watched.
      agent = new AgentProcess([
        "--pressure-cgroup-root", cg.make(base).dir,
        "--pressure-interval", "250",
        "--pressure-window", "8000",
        "--pressure-time-to-oom", "120",
      ]);
      await agent.attached();
      const fill = filler({ cgroupDir: filled.dir, stepMib: STEP_MIB, stepMs: STEP_MS });
      fillPid = fill.pid;
      // Read the gauge while the container fills.
      const polling = (async () => {
        while (fill.exitCode === null && fill.signalCode === null) {
          const text = await agent.metrics();
          for (const m of text.matchAll(/^oomtrace_time_to_oom_seconds\{namespace="",pod="([^"]+)",container="([^"]+)"\} (\S+)$/gm)) {
            const key = `${m[1]}/${m[2]}`;
            gauge.set(key, [...(gauge.get(key) ?? []), Number(m[3])]);
          }
          await Bun.sleep(500);
        }
      })();
      await fill.exited;
      fillSignal = fill.signalCode;
      await polling;
      kill = await agent.waitFor("the kill of the filled container", () => agent.eventFor(fillPid));
      // The steady containers keep running a few more samples after the kill.
      await Bun.sleep(2000);
    } finally {
      for (const p of steady) p.kill("SIGKILL");
      await Promise.all(steady.map((p) => p.exited));
    }
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await cg.remove();
  });

  const warningsFor = (c: { path: string }): PressureNdjson[] => agent.pressure.filter((p) => p.cgroup.path === c.path);

  test("the kernel killed the filled container, and the agent reported that kill", () => {
    expect(fillSignal).toBe("SIGKILL");
    expect(cg.oomKills(filled.dir)).toBe(1);
    expect(kill.constraint).toBe("memcg");
    expect(kill.scope).toBe("container");
    expect(kill.cgroup.path).toBe(filled.path);
    expect(kill.pod.uid).toBe(filled.uid);
    expect(kill.container.id).toBe(filled.id);
  });

  test("one warning came before the kill, for the growth, sharing the kill's identity fields", () => {
    const warnings = warningsFor(filled);
    expect(warnings).toHaveLength(1);
    const w = warnings[0]!;
    expect(w.reasons).toContain("time_to_oom");
    expect(Date.parse(w.time)).toBeLessThan(Date.parse(kill.time));
    // It was printed before the kill too: a consumer reading the stream sees it first.
    const lines = agent.rawStdout.map((l) => JSON.parse(l));
    expect(lines.findIndex((l) => l.kind === "memory_pressure" && l.cgroup.path === filled.path)).toBeLessThan(
      lines.findIndex((l) => l.kind === "oom_kill" && l.victim.pid === fillPid),
    );
    for (const field of ["node", "pod", "container", "workload"] as const) expect(w[field]).toEqual(kill[field]);
    expect(w.memory.limit_bytes).toBe(LIMIT);
  });

  test("the estimate was within the stated error of the real time", () => {
    const w = warningsFor(filled)[0]!;
    const t = w.time_to_oom!;
    expect(t.confidence).toBeGreaterThanOrEqual(0.6); // the default --pressure-confidence
    // The filler keeps its average rate by its own clock however busy the machine is.
    expect(t.growth_bytes_per_second / RATE).toBeGreaterThan(0.7);
    expect(t.growth_bytes_per_second / RATE).toBeLessThan(1.3);
    const killed = Date.parse(kill.time);
    const lead = killed - Date.parse(w.time);
    // > 0: the kill came after the predicted time, the estimate erred early.
    const late = killed - Date.parse(t.oom_time);
    console.log(`warning ${(lead / 1000).toFixed(1)} s before the kill; predicted ${t.oom_time}, killed ${kill.time}: ${(late / 1000).toFixed(2)} s later`);
    // A kill well before the predicted time would be a warning that came too late: at most a quarter of the lead, or 2 s.
    expect(late).toBeGreaterThan(-Math.max(2000, lead / 4));
    // Near the limit the kernel reclaims the filler's file pages and it faults them back, which slows
    // it, more so on a busy machine (measured here: 0.2 to 2.9 s): at most half the lead, or 5 s.
    expect(late).toBeLessThan(Math.max(5000, lead / 2));
  });

  test("the kill links to the warning", () => {
    const w = warningsFor(filled)[0]!;
    expect(kill.warning).not.toBeNull();
    expect(kill.warning!.time).toBe(w.time);
    expect(kill.warning!.reasons).toEqual(w.reasons);
    expect(kill.warning!.oom_time).toBe(w.time_to_oom!.oom_time);
    expect(kill.warning!.time_to_oom_seconds).toBe(w.time_to_oom!.seconds);
    expect(kill.warning!.lead_seconds).toBeCloseTo((Date.parse(kill.time) - Date.parse(w.time)) / 1000, 2);
    expect(kill.warning!.lead_seconds).toBeGreaterThan(0);
  });

  test("the time-to-OOM gauge followed the filled container, and only it", () => {
    const values = gauge.get(`${filled.uid}/${filled.id}`) ?? [];
    expect(values.length).toBeGreaterThan(0);
    expect(values.every((v) => v >= 0 && v < 120)).toBe(true);
    expect(gauge.has(`${still.uid}/${still.id}`)).toBe(false);
    expect(gauge.has(`${swinging.uid}/${swinging.id}`)).toBe(false);
  });

  test("no warning for the containers that held steady, or swung, below their limit over the same time", () => {
    expect(warningsFor(still)).toEqual([]);
    expect(warningsFor(swinging)).toEqual([]);
  });

  test("the log says what is watched", () => {
    const line = agent.logs.find((l) => String(l.msg).startsWith("early warning:"));
    expect(String(line?.msg)).toMatch(/cgroup v1.*sampled every 250 ms/);
  });
});
