import { expect, test } from "bun:test";
import { BpftraceSupervisor, type Child, type SupervisorState } from "../../../src/sources/bpftrace/supervisor.ts";

/** A fake bpftrace: prints the given stdout lines, then exits with `code` (or waits to be killed, `deafTo` signals ignored first). */
function fakeChild(stdout: string[], stderr: string[], exit: number | "until-killed", deafTo = 0): Child {
  let kill!: () => void;
  const killed = new Promise<void>((r) => (kill = r));
  const signals: string[] = [];
  const lines = async function* (ls: string[]) {
    for (const l of ls) {
      await Bun.sleep(1);
      yield l;
    }
  };
  return {
    pid: 4242,
    lines: (from) => lines(from === "stdout" ? stdout : stderr),
    exited: (exit === "until-killed" ? killed : Bun.sleep(5)).then(() => ({ code: exit === "until-killed" ? 0 : exit, signal: null })),
    kill: (signal) => {
      signals.push(signal);
      if (signals.length > deafTo) kill();
    },
  };
}

const ATTACHED = '{"type": "attached_probes", "data": {"probes": 3}}';

function harness(plan: ((script: string) => Child)[]) {
  const spawned: string[] = [];
  const states: [SupervisorState, string][] = [];
  const fallbacks: [string, string][] = [];
  const restarts: string[] = [];
  const sup = new BpftraceSupervisor({
    bpftrace: "bpftrace",
    scripts: [
      { mode: "fentry", text: "F", announcesReady: false },
      { mode: "kprobe", text: "K", announcesReady: false },
      { mode: "tracepoint", text: "T", announcesReady: false },
    ],
    backoff: { initialMs: 5, maxMs: 20 },
    onLine: (l) => (l === ATTACHED ? "attached" : undefined),
    onStderr: () => {},
    onState: (s, d) => states.push([s, d.mode]),
    onFallback: (from, to) => fallbacks.push([from, to]),
    onRestart: (mode) => restarts.push(mode),
    spawn: (_bin, script) => {
      spawned.push(script);
      // Past the plan, a child that just runs until stopped.
      const next = plan.shift() ?? (() => fakeChild([], [], "until-killed"));
      return next(script);
    },
  });
  return { sup, spawned, states, fallbacks, restarts };
}

test("a probe that cannot attach falls back to the next mode, richest first", async () => {
  const h = harness([
    () => fakeChild([], ["ERROR: fentry not supported"], 1),
    () => fakeChild([], ["ERROR: kprobe failed"], 1),
    () => fakeChild([ATTACHED], [], "until-killed"),
  ]);
  h.sup.start();
  for (let i = 0; i < 200 && !h.states.some(([s]) => s === "attached"); i++) await Bun.sleep(5);
  expect(h.spawned).toEqual(["F", "K", "T"]);
  expect(h.fallbacks).toEqual([
    ["fentry", "kprobe"],
    ["kprobe", "tracepoint"],
  ]);
  expect(h.sup.currentMode).toBe("tracepoint");
  expect(h.restarts).toEqual([]);
  await h.sup.stop();
  expect(h.states.at(-1)).toEqual(["stopped", "tracepoint"]);
});

test("a probe that attached and then died is restarted in the same mode, not downgraded", async () => {
  const h = harness([
    () => fakeChild([ATTACHED], [], 1),
    () => fakeChild([ATTACHED], [], "until-killed"),
  ]);
  h.sup.start();
  for (let i = 0; i < 200 && h.spawned.length < 2; i++) await Bun.sleep(5);
  for (let i = 0; i < 200 && h.states.filter(([s]) => s === "attached").length < 2; i++) await Bun.sleep(5);
  expect(h.spawned).toEqual(["F", "F"]);
  expect(h.restarts).toEqual(["fentry"]);
  expect(h.fallbacks).toEqual([]);
  await h.sup.stop();
});

test("the last mode failing to attach is retried with backoff, and stop() ends the wait", async () => {
  const h = harness([
    () => fakeChild([], ["no"], 1),
    () => fakeChild([], ["no"], 1),
    () => fakeChild([], ["no"], 1),
    () => fakeChild([], ["no"], 1),
    () => fakeChild([], ["no"], 1),
  ]);
  h.sup.start();
  for (let i = 0; i < 400 && h.spawned.length < 5; i++) await Bun.sleep(5);
  expect(h.spawned).toEqual(["F", "K", "T", "T", "T"]);
  expect(h.restarts.length).toBeGreaterThanOrEqual(2);
  await h.sup.stop();
});

test("stop() asks again when bpftrace misses its SIGTERM", async () => {
  // bpftrace 0.17 loses a SIGTERM that comes just after it attached: without a second one stop() would wait forever here.
  const h = harness([() => fakeChild([ATTACHED], [], "until-killed", 1)]);
  h.sup.start();
  for (let i = 0; i < 200 && !h.states.some(([s]) => s === "attached"); i++) await Bun.sleep(5);
  expect(h.spawned).toEqual(["F"]);
  await h.sup.stop();
  expect(h.states.at(-1)).toEqual(["stopped", "fentry"]);
});
