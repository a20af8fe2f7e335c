#!/usr/bin/env bun
// `bun run bench`: runs every benchmark against dist/oomtrace with real memcg OOM kills and
// writes BENCHMARKS.md. `--quick` (or OOMTRACE_BENCH_QUICK=1) runs each part briefly, to check
// the harness; its figures are not the ones to quote. `--out FILE` writes elsewhere; `--render
// FILE.json` rewrites the report from a run's saved figures. Needs root, like the e2e tests.
//
// bench/ is a top-level peer of test/: it uses the test helpers and the test API server, but it
// asserts nothing and no file here is a *.test.ts, so `bun test` never runs it.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BenchAgent } from "./agent.ts";
import { accountCpu, type AgentAccounts, footprint, idleCpu } from "./cost.ts";
import { bpftraceAloneLatency } from "./bpftrace-alone.ts";
import { KillLab } from "./kills.ts";
import { KubeLab, kubePart, type KubeResults } from "./kube.ts";
import { ndjsonLatency } from "./latency.ts";
import { samplingCost } from "./pressure.ts";
import { LoadWatch, machine } from "./machine.ts";
import { loadavg } from "./proc.ts";
import { AGENTS_START, renderReport, type Results } from "./report.ts";
import { startup } from "./startup.ts";
import { storm } from "./storm.ts";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick") || process.env.OOMTRACE_BENCH_QUICK === "1";
const outIdx = argv.indexOf("--out");
const out = outIdx >= 0 ? argv[outIdx + 1]! : join(import.meta.dir, "..", "BENCHMARKS.md");

/** How much of each part to run. */
const plan = quick
  ? { startupRuns: 2, latencyRuns: 1, latencyKills: 30, stormRuns: 1, stormSeconds: 5, stormPods: 12, sharedStormPods: [12], idleSeconds: 10, idleSettleSeconds: 5, kubeStartupRuns: 1, annotationKills: 20, restSeconds: 5, samplingPasses: 30 }
  : { startupRuns: 5, latencyRuns: 3, latencyKills: 200, stormRuns: 3, stormSeconds: 15, stormPods: 64, sharedStormPods: [64, 128], idleSeconds: 60, idleSettleSeconds: 120, kubeStartupRuns: 3, annotationKills: 200, restSeconds: 30, samplingPasses: 200 };
/** Early warning's sampling cost is measured over this many containers each (100 is the target's). */
const SAMPLING_CONTAINERS = quick ? [10, 100] : [10, 100, 300];
export type Plan = typeof plan;

const NODE = "bench-node";
const TRIXIE_WRAPPER = `${process.env.OOMTRACE_CACHE || "/var/cache/oomtrace"}/bpftrace-0.23`;
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);

// `--render FILE`: rewrite the report from the figures a run saved, without measuring again.
const renderIdx = argv.indexOf("--render");
if (renderIdx >= 0) {
  const saved = JSON.parse(readFileSync(argv[renderIdx + 1]!, "utf8")) as Results;
  writeFileSync(out, renderReport({ ...saved, started: new Date(saved.started) }));
  say(`wrote ${out} from ${argv[renderIdx + 1]}`);
  process.exit(0);
}

if (process.getuid?.() !== 0) {
  say("needs root (memory cgroups, bpftrace, /dev/kmsg): run it as root, after the README's setup (scripts/run.sh or scripts/setup.sh)");
  process.exit(2);
}

const started = new Date();
const t0 = performance.now();
const load = new LoadWatch();
const lab = new KillLab();
const agents: BenchAgent[] = [];
const accounts: AgentAccounts[] = [];
let kube: KubeLab | null = null;
const stopAll = async () => {
  await Promise.all(agents.map((a) => a.stop()));
  for (const a of accounts) for (const g of [a.agent, a.bpftrace]) g.remove();
  await kube?.stop();
  await lab.remove();
};
process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));

try {
  const m = await machine();
  say(`${quick ? "quick" : "full"} run on ${m.kernel}, ${m.cores} cores, load average ${loadavg().join(" ")}`);

  load.section("start-up");
  say(`start-up × ${plan.startupRuns}`);
  const startups = [];
  for (let i = 0; i < plan.startupRuns; i++) startups.push(await startup());
  // bpftrace 0.23 from the Debian trixie root the test suite builds (scripts/bpftrace-trixie.sh), when it is there.
  const bpftrace023 = process.env.OOMTRACE_BPFTRACE_023 || (existsSync(TRIXIE_WRAPPER) ? TRIXIE_WRAPPER : "");
  const startups023 = [];
  if (bpftrace023) {
    say(`start-up with bpftrace 0.23 (${bpftrace023}) × ${plan.startupRuns}`);
    for (let i = 0; i < plan.startupRuns; i++) startups023.push(await startup(["--bpftrace", bpftrace023]));
  }

  load.section("early-warning sampling");
  const sampling = [];
  for (const n of SAMPLING_CONTAINERS) {
    say(`early-warning sampling: ${plan.samplingPasses} passes over ${n} containers`);
    sampling.push(await samplingCost(n, plan.samplingPasses));
  }

  load.section(AGENTS_START);
  // The agent under test, and beside it the kmsg-only method: the same binary with no bpftrace,
  // so the same kmsg parser reads the same kernel log during the same storm. During the idle
  // window only, a third with early warning off shows what sampling adds at rest.
  const agent = new BenchAgent([]);
  const kmsgOnly = new BenchAgent(["--bpftrace", "/nonexistent/kmsg-only"]);
  const noPressure = new BenchAgent(["--no-pressure"]);
  agents.push(agent, kmsgOnly, noPressure);
  await Promise.all([agent.ready(), noPressure.ready()]);
  const readyAt = performance.now();
  load.section("idle");
  const [agentCpu, noPressureCpu] = [accountCpu(agent, "idle"), accountCpu(noPressure, "idle-no-pressure")];
  accounts.push(agentCpu, noPressureCpu);
  await kmsgOnly.waitFor("the kmsg-only agent to serve", () => kmsgOnly.logAt("serving"));
  // At rest means past start-up: Bun collects every second in its first half minute, and compiles the
  // code of each beat over the first minutes (measured by hand: 0.15 % in the first minute, 0.07 % after 150 s).
  say(`idle CPU over ${plan.idleSeconds} s from ${plan.idleSettleSeconds} s after ready, with and without early warning`);
  await Bun.sleep(plan.idleSettleSeconds * 1000);
  const [idle, idleNoPressure] = await Promise.all([idleCpu(agent, agentCpu, plan.idleSeconds, readyAt), idleCpu(noPressure, noPressureCpu, plan.idleSeconds, readyAt)]);
  await noPressure.stop();
  agents.splice(agents.indexOf(noPressure), 1);
  const watched = /^early warning: (\d+) containers/.exec(agent.logs.find((l) => l.value.msg.startsWith("early warning:"))?.value.msg ?? "")?.[1];
  const atRest = footprint(agent);
  const probe = /oomtrace_build_info\{[^}]*probe="([^"]+)"/.exec(await agent.metrics())?.[1] ?? "unknown";

  load.section("kill → NDJSON");
  const latency = [];
  for (let i = 0; i < plan.latencyRuns; i++) {
    say(`kill → NDJSON, run ${i + 1}/${plan.latencyRuns}: ${plan.latencyKills} kills`);
    latency.push(await ndjsonLatency(agent, lab, plan.latencyKills));
  }

  say(`kill → bpftrace's stdout, bpftrace alone: ${plan.latencyKills} kills`);
  const bpftraceAlone = await bpftraceAloneLatency(lab, plan.latencyKills);

  await Promise.all([agent.stop(), kmsgOnly.stop()]);
  agents.length = 0;

  load.section("Kubernetes");
  kube = await KubeLab.start().catch((e: Error) => {
    say(`the test API server did not start: ${e.message}`);
    return null;
  });
  const kubeResults: KubeResults = kube
    ? await kubePart(kube, lab, agents, plan, NODE, say)
    : { unavailable: "the test API server did not start (it makes its certificates with openssl: is it installed?)" };
  await Promise.all(agents.map((a) => a.stop()));
  agents.length = 0;
  await kube?.stop();
  kube = null;

  // The storms come last: the load they leave behind (the 1-minute average decays for minutes) would
  // otherwise weigh on the sections after them. Two fresh agents, as shipped and kmsg-only, see them.
  load.section("storm");
  const stormAgent = new BenchAgent([]);
  const stormKmsg = new BenchAgent(["--bpftrace", "/nonexistent/kmsg-only"]);
  agents.push(stormAgent, stormKmsg);
  await stormAgent.ready();
  await stormKmsg.waitFor("the kmsg-only agent to serve", () => stormKmsg.logAt("serving"));
  const storms = [];
  const cpuDir = lab.cpuGroup();
  if (cpuDir) {
    for (let i = 0; i < plan.stormRuns; i++) {
      say(`storm ${i + 1}/${plan.stormRuns}: ${plan.stormPods} pods in a BestEffort CPU cgroup for ${plan.stormSeconds} s`);
      storms.push(await storm(stormAgent, stormKmsg, lab, plan.stormPods, plan.stormSeconds, cpuDir));
    }
  } else say(`no BestEffort CPU cgroup (${lab.cpuGroupWhy}): the storms share the agent's CPU`);
  for (const pods of plan.sharedStormPods) {
    say(`storm: ${pods} pods sharing the agent's CPU for ${plan.stormSeconds} s`);
    storms.push(await storm(stormAgent, stormKmsg, lab, pods, plan.stormSeconds, null));
  }
  const afterStorm = footprint(stormAgent);
  const agentMetrics = await stormAgent.metrics();
  load.stop();

  const results: Results = {
    quick,
    command: `bun run bench${quick ? " --quick" : ""}`,
    started,
    durationS: (performance.now() - t0) / 1000,
    machine: m,
    probe,
    plan,
    load: load.sections,
    startups,
    startups023,
    idle,
    idleNoPressure,
    idleWatched: watched === undefined ? null : Number(watched),
    sampling,
    atRest,
    afterStorm,
    latency,
    bpftraceAlone,
    storms,
    stormCpuWhy: cpuDir ? "" : lab.cpuGroupWhy,
    agentMetrics,
    kube: kubeResults,
  };
  writeFileSync(out, renderReport(results));
  const figures = join(tmpdir(), "oomtrace-bench-results.json");
  writeFileSync(figures, JSON.stringify(results, null, 1));
  say(`wrote ${out} in ${results.durationS.toFixed(0)} s; the figures are in ${figures} (bun bench/index.ts --render ${figures})`);
} finally {
  load.stop();
  await stopAll();
}
