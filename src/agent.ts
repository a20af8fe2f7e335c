// Wiring only: config → sources (bpftrace, kmsg) → decode → merge → attribute → sinks.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConsolaInstance } from "consola";
import type { RunConfig } from "./config/run.ts";
import { kernelTimeToDate, sampleClock, type ClockSample } from "./clock.ts";
import { parseCgroupPath, oomScope } from "./attribute/cgroup-path.ts";
import { resolveNames, withNames } from "./attribute/names.ts";
import { criResolver } from "./cri/index.ts";
import { KillAssembler } from "./decode/assemble.ts";
import { SourceMerger } from "./decode/merge.ts";
import { detectFeatures } from "./probe/detect.ts";
import { chooseProbe } from "./probe/choose.ts";
import { renderProbe } from "./probe/render.ts";
import { bpftraceLineHandler } from "./sources/bpftrace/lines.ts";
import { BpftraceSupervisor, PROBE_ENV, type ProbeScript } from "./sources/bpftrace/supervisor.ts";
import { kmsgKills } from "./sources/kmsg/index.ts";
import { startPressure } from "./sources/pressure/index.ts";
import { Heartbeat } from "./heartbeat.ts";
import { Metrics } from "./sinks/metrics.ts";
import { describeFilter, type EventFilter, filterEvent, filterWorkload, needsNames } from "./filter/event-filter.ts";
import { startServer } from "./server.ts";
import { startKube } from "./kube/index.ts";
import type { KernelKill, NameResolver, OomEvent, Sink } from "./types.ts";
import { VERSION } from "./version.ts";

/** Attribution of one kill (pure): names from the victim's cgroup path and the scope that ran out. */
export function attribute(k: KernelKill, node: string, clock: ClockSample): OomEvent {
  const identity = k.cgroupPath === null ? null : parseCgroupPath(k.cgroupPath);
  return {
    kill: k,
    identity,
    names: null,
    scope: oomScope({ constraint: k.constraint, oomCgroupPath: k.oomCgroupPath }),
    attribution: identity ? "exact" : "unresolved",
    node,
    time: kernelTimeToDate(k.kernelTimeNs, clock),
  };
}

/** Builds the scripts to try, richest first: a user script alone, or the built-in probe per mode. */
export async function probeScripts(cfg: RunConfig, log: ConsolaInstance): Promise<{ scripts: ProbeScript[]; bpftraceVersion: string }> {
  const features = await detectFeatures({ hostRoot: cfg.hostRoot, bpftrace: cfg.bpftrace });
  const bpftraceVersion = features.bpftrace.version?.join(".") ?? "unknown";
  if (cfg.probeFile) {
    let text: string;
    try {
      text = readFileSync(cfg.probeFile, "utf8");
    } catch (e) {
      throw new Error(`cannot read --probe ${cfg.probeFile}: ${(e as Error).message}`);
    }
    return { scripts: [{ mode: `user:${cfg.probeFile}`, text, announcesReady: false }], bpftraceVersion };
  }
  const choice = chooseProbe(features, cfg.probeMode === "auto" ? undefined : cfg.probeMode);
  log.info(`probe: ${choice.modes.join(" → ")} (kernel ${features.kernelRelease}, bpftrace ${bpftraceVersion})`, { reasons: choice.reasons });
  for (const r of choice.reasons) log.debug(r);
  return { scripts: choice.modes.map((mode) => ({ mode, text: renderProbe(features, mode), announcesReady: true })), bpftraceVersion };
}

export interface Agent {
  stop(): Promise<void>;
  metricsPort: number | null;
}

export interface AgentOptions {
  /**
   * The sinks that show a kill (stdout, watch's table), built by the command that runs the agent.
   * They, and the Kubernetes writers, see only what `filter` passes.
   */
  outputs: Sink[];
  filter: EventFilter;
  /** Whether the Kubernetes writers (annotation, condition, Events) may run; `watch` says no, and only reads pods. */
  writeToCluster: boolean;
}

export async function startAgent(cfg: RunConfig, log: ConsolaInstance, opts: AgentOptions): Promise<Agent> {
  const metrics = new Metrics({ podLabels: cfg.metricsPodLabels });
  // Metrics count every kill, filtered or not: the node's OOM rate must not depend on who is watching.
  const counters: Sink[] = [metrics.sink()];
  const sinks = [...counters, ...opts.outputs];
  log.info(`acting on: ${describeFilter(opts.filter)}`);
  const now = () => Date.now();
  let clock = sampleClock();
  let up = false;
  let supervisor: BpftraceSupervisor | null = null;

  // Name sources beyond the cgroup path, most trusted first (API server pod cache, then CRI).
  const resolvers: NameResolver[] = [];
  const kube = startKube({ cfg: cfg.kube, node: cfg.nodeName, hostRoot: cfg.hostRoot, log, registry: metrics.registry, env: process.env, write: opts.writeToCluster });
  if (kube) {
    resolvers.push(kube.resolver);
    if (kube.sink) sinks.push(kube.sink);
  }
  const cri = criResolver(cfg, metrics, log);
  if (cri) resolvers.push(cri);
  if (needsNames(opts.filter) && resolvers.length === 0) {
    log.warn("the filter picks kills by namespace, pod, container or labels, but no name source is configured: only named kills pass, so none will");
  }

  // Events waiting for names; stop() lets them go out before the sinks close.
  const naming = new Set<Promise<void>>();
  const deliver = (kills: KernelKill[]) => {
    for (const k of kills) {
      const event = attribute(k, cfg.nodeName, clock);
      event.warning = pressure?.warningFor(event.identity, event.time) ?? null;
      waitFor(name(event));
    }
  };
  const waitFor = (p: Promise<void>) => {
    naming.add(p);
    void p.finally(() => naming.delete(p));
  };
  const name = async (event: OomEvent) => {
    metrics.pipeline("attribute", event.attribution === "exact" ? "attributed" : "skipped", event.attribution === "exact" ? "" : "no_cgroup");
    const names = await resolveNames(event.identity, resolvers, Date.now() + cfg.nameWaitMs);
    if (event.identity?.pod?.uid) metrics.pipeline("attribute", names ? "attributed" : "skipped", names ? `named_${names.source}` : "unnamed");
    publish(withNames(event, names));
  };
  const publish = (event: OomEvent) => {
    const verdict = filterEvent(opts.filter, event);
    if (!verdict.pass) metrics.pipeline("filter", "skipped", verdict.reason);
    fanOut(verdict.pass ? sinks : counters, (s) => s.write(event));
  };
  const fanOut = (targets: Sink[], call: (s: Sink) => void | Promise<void>) => {
    for (const s of targets) {
      try {
        const r = call(s);
        if (r instanceof Promise) r.catch((e) => sinkFailed(s, e));
      } catch (e) {
        sinkFailed(s, e);
      }
    }
  };
  const sinkFailed = (s: Sink, e: unknown) => {
    metrics.pipeline("sink", "error", s.name);
    log.warn(`sink ${s.name} failed: ${(e as Error).message}`);
  };

  const heartbeat = new Heartbeat(1000);
  // Early warning: a container's warning is named like a kill, then goes to the sinks that take it.
  const pressure = startPressure({
    heartbeat,
    cfg: cfg.pressure,
    hostRoot: cfg.hostRoot,
    node: cfg.nodeName,
    log,
    metrics,
    resolvers,
    onWarning: (w) =>
      waitFor(
        resolveNames(w.identity, resolvers, Date.now() + cfg.nameWaitMs).then((n) => {
          const named = withNames(w, n);
          const verdict = filterWorkload(opts.filter, named);
          fanOut(verdict.pass ? sinks : counters, (s) => s.pressure?.(named));
        }),
      ),
  });

  const assembler = new KillAssembler({
    probe: () => supervisor?.currentMode ?? "none",
    now,
    onDrop: (reason) => metrics.pipeline("assemble", "skipped", reason),
  });
  const merger = new SourceMerger({
    now,
    bpftraceUp: () => up,
    bpftracePending: (tid) => assembler.isPending(tid),
    bpftraceSeenNs: () => assembler.latestNs(),
    onConfirm: (kmsg, bpf, agree) => {
      metrics.confirmation(agree);
      if (!agree) log.warn(`kmsg says constraint ${kmsg.constraint} for pid ${kmsg.victim.pid}, bpftrace said ${bpf.constraint}`);
    },
    onDuplicate: () => metrics.pipeline("merge", "skipped", "late_duplicate"),
  });
  const intake = (kills: KernelKill[]) => {
    for (const k of kills) metrics.pipeline("merge", "observed", k.source);
    deliver(kills.flatMap((k) => merger.push(k)));
  };

  const onLine = bpftraceLineHandler({ metrics, log, onRecord: (r) => intake(assembler.push(r)) });

  let probes: Awaited<ReturnType<typeof probeScripts>> | null = null;
  let noProbe = "";
  try {
    probes = await probeScripts(cfg, log);
  } catch (e) {
    // Startup fails only when nothing at all can run: kmsg alone still sees every kill.
    if (!cfg.kmsg) throw e;
    noProbe = (e as Error).message;
    log.error(`${noProbe}; running on /dev/kmsg alone: kills are reported, but without a cgroup once the kernel rate-limits its report`);
  }
  metrics.setBuildInfo(VERSION, probes?.bpftraceVersion ?? "none", probes?.scripts[0]!.mode ?? "kmsg");
  if (probes) {
    const { scripts, bpftraceVersion } = probes;
    supervisor = new BpftraceSupervisor({
      bpftrace: cfg.bpftrace,
      scripts,
      env: PROBE_ENV,
      onLine,
      onStderr: (line, mode) => {
        if (/RLIMIT_MEMLOCK/.test(line)) return;
        log.debug(`bpftrace (${mode}): ${line}`);
      },
      onState: (state, d) => {
        up = state === "attached";
        metrics.setProbeUp(d.mode, up);
        if (state === "attached") metrics.setBuildInfo(VERSION, bpftraceVersion, d.mode);
      },
      onFallback: (from, to, reason) => {
        metrics.probeRestart(from, "attach_failed");
        log.warn(`probe ${from} could not attach, falling back to ${to}: ${reason}`);
      },
      onRestart: (mode, reason, delayMs) => {
        metrics.probeRestart(mode, "crash");
        log.error(`probe ${mode} is down, restarting in ${delayMs} ms; kmsg covers the gap: ${reason}`);
      },
    });
    supervisor.start();
  }

  const abort = new AbortController();
  let kmsgDone: Promise<void> = Promise.resolve();
  if (cfg.kmsg) {
    kmsgDone = (async () => {
      try {
        const path = join(cfg.hostRoot, "/dev/kmsg");
        const idle = (signal?: AbortSignal) => heartbeat.next(signal);
        for await (const kill of kmsgKills({ path, signal: abort.signal, onOverrun: (n) => metrics.lostEvents("kmsg", n), idle })) {
          intake([kill]);
        }
      } catch (e) {
        if (!abort.signal.aborted) log.warn(`kmsg source stopped: ${(e as Error).message}; bpftrace alone reports kills`);
      }
    })();
  }

  // Once a second: its waits are seconds long, and each wake-up costs idle CPU on every node (bench/).
  heartbeat.every(() => {
    clock = sampleClock();
    intake(assembler.flush());
    deliver(merger.flush());
  });

  const server = cfg.metricsBindAddress
    ? startServer(cfg.metricsBindAddress, metrics, {
        ready: () =>
          supervisor
            ? { ok: up, detail: `probe ${supervisor.currentMode} ${up ? "attached" : "not attached"}` }
            : { ok: false, detail: `no probe: ${noProbe}` },
      })
    : null;
  if (server) log.info(`serving /metrics, /healthz, /readyz on ${cfg.metricsBindAddress} (port ${server.port})`);

  return {
    metricsPort: server?.port ?? null,
    async stop() {
      pressure?.stop();
      abort.abort();
      heartbeat.stop();
      await supervisor?.stop();
      await kmsgDone;
      // What was still waiting goes out now rather than being lost.
      intake(assembler.flush(true));
      deliver(merger.flush(true));
      await Promise.all(naming);
      server?.stop();
      cri?.stop();
      for (const s of sinks) if (s !== kube?.sink) await s.close?.();
      await kube?.stop();
    },
  };
}
