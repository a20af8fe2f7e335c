// Early warning's sampling cost (issue 8): N kubelet-shaped container cgroups with limits under
// our own memory cgroup, and the agent's own PressureMonitor timing one sampling pass over them.
// It runs in the benchmark's process (Bun, like the agent), so the pass is timed from inside.
import type { Subprocess } from "bun";
import { pressureArgs, resolvePressureConfig } from "../src/config/pressure.ts";
import { PressureMonitor } from "../src/sources/pressure/index.ts";
import { TestCgroups, randomHex } from "../test/helpers/cgroup.ts";
import { loadavg } from "./proc.ts";

/** The containers' limit: far above what they hold, so nothing is near its limit or warns. */
const CONTAINER_LIMIT = 256 << 20;
/** One container in this many holds a sleeping process (a little memory); the rest are empty, with the same files. */
const ONE_PROCESS_EVERY = 10;

export interface SamplingRun {
  containers: number;
  /** Containers holding a process. */
  busy: number;
  passes: number;
  limitBytes: number;
  /** Wall time of each timed pass, ms. */
  wallMs: number[];
  /** CPU (user + system, this whole process) of each timed pass, ms. */
  cpuMs: number[];
  /** Wall time of the search that finds the containers and reads their limits (every 5 s in the agent), ms. */
  discoverMs: number;
  intervalMs: number;
  load1: number;
}

/** The agent's defaults, as `run` resolves them with no flags. */
function defaults() {
  return resolvePressureConfig({ pressure: true }, (flag) => {
    const def = pressureArgs[flag as keyof typeof pressureArgs] as { default?: string };
    return def.default ?? "";
  });
}

/** Times `passes` sampling passes over `n` containers, after a window's worth of untimed passes. */
export async function samplingCost(n: number, passes: number): Promise<SamplingRun> {
  const cg = new TestCgroups();
  const base = `oomtrace-bench-pressure-${randomHex(8)}`;
  const sleepers: Subprocess[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const { dir } = cg.make(`${base}/kubepods/burstable/pod${crypto.randomUUID()}/${randomHex(64)}`, CONTAINER_LIMIT);
      if (i % ONE_PROCESS_EVERY === 0) {
        sleepers.push(Bun.spawn(["sh", "-c", 'echo $$ > "$1/cgroup.procs" && exec sleep 600', "sh", dir], { stdin: "ignore", stdout: "ignore", stderr: "ignore" }));
      }
    }
    await Bun.sleep(200); // Let the sleepers move into their cgroups.
    const cfg = defaults();
    let mono = performance.now();
    const monitor = new PressureMonitor({
      walkRoot: `${cg.root.dir}/${base}`,
      intervalMs: cfg.intervalMs,
      windowMs: cfg.windowMs,
      thresholds: cfg.thresholds,
      node: "bench-node",
      onWarning: () => {},
      onEstimate: () => {},
      onError: (c, e) => {
        throw new Error(`sampling ${c.dir}: ${e.message}`);
      },
    });
    const d0 = performance.now();
    monitor.discover();
    const discoverMs = performance.now() - d0;
    if (monitor.containers !== n) throw new Error(`the monitor found ${monitor.containers} of the ${n} containers made under ${cg.root.dir}/${base}`);
    // Each pass is stamped one interval after the last, as in the agent, so the fit runs on a full window.
    const pass = () => {
      mono += cfg.intervalMs;
      monitor.sampleAll({ wallMs: Date.now(), monoMs: mono });
    };
    const warmup = Math.ceil(cfg.windowMs / cfg.intervalMs) + 2;
    for (let i = 0; i < warmup; i++) pass();
    const wallMs: number[] = [];
    const cpuMs: number[] = [];
    for (let i = 0; i < passes; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      pass();
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      wallMs.push(wall);
      cpuMs.push((c.user + c.system) / 1000);
    }
    return { containers: n, busy: sleepers.length, passes, limitBytes: CONTAINER_LIMIT, wallMs, cpuMs, discoverMs, intervalMs: cfg.intervalMs, load1: loadavg()[0] };
  } finally {
    for (const s of sleepers) s.kill("SIGKILL");
    await Promise.all(sleepers.map((s) => s.exited));
    await cg.remove();
  }
}
