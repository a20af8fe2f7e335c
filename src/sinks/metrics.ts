// Prometheus metrics. The Metrics object is handed to each stage; the kill counter is a sink.
import { Counter, Gauge, Registry } from "prom-client";
import type { OomEvent, Sink } from "../types.ts";

export type Stage = "decode" | "assemble" | "merge" | "attribute" | "filter" | "sink" | "source";
export type Outcome = "observed" | "attributed" | "skipped" | "error";
type ContainerLabel = "namespace" | "pod" | "container";

export class Metrics {
  readonly registry = new Registry();
  private readonly kills: Counter<"constraint" | "scope" | "source">;
  private readonly podKills: Counter<"namespace" | "pod" | "pod_uid" | "container"> | null;
  private readonly pipelineEvents: Counter<"stage" | "outcome" | "reason">;
  private readonly lost: Counter<"source">;
  private readonly restarts: Counter<"mode" | "reason">;
  private readonly probeUp: Gauge<"mode">;
  private readonly buildInfo: Gauge<"version" | "bpftrace_version" | "probe">;
  private readonly confirmations: Counter<"result">;
  private readonly timeToOom: Gauge<ContainerLabel> | null;
  /** The labels each container's time-to-OOM series has now, so a rename or an end removes it. */
  private readonly timeToOomSeries = new Map<string, Record<ContainerLabel, string>>();

  constructor(opts: { podLabels: boolean }) {
    const registers = [this.registry];
    this.kills = new Counter({
      name: "oomtrace_oom_kills_total",
      help: "Tasks killed by the OOM killer, by kind of OOM, scope that ran out, and source that saw it.",
      labelNames: ["constraint", "scope", "source"],
      registers,
    });
    this.podKills = opts.podLabels
      ? new Counter({
          name: "oomtrace_oom_kills_by_container_total",
          help: "OOM-killed tasks by namespace, pod and container (names empty until known).",
          labelNames: ["namespace", "pod", "pod_uid", "container"],
          registers,
        })
      : null;
    this.pipelineEvents = new Counter({
      name: "oomtrace_pipeline_events_total",
      help: "Records and events through each pipeline stage, by outcome and reason.",
      labelNames: ["stage", "outcome", "reason"],
      registers,
    });
    this.lost = new Counter({
      name: "oomtrace_lost_events_total",
      help: "Events the kernel dropped before a source could read them (bpftrace lost_events, kmsg overruns).",
      labelNames: ["source"],
      registers,
    });
    this.restarts = new Counter({
      name: "oomtrace_probe_restarts_total",
      help: "Times bpftrace died or failed to attach and was started again.",
      labelNames: ["mode", "reason"],
      registers,
    });
    this.probeUp = new Gauge({
      name: "oomtrace_probe_up",
      help: "1 while the bpftrace probe is attached.",
      labelNames: ["mode"],
      registers,
    });
    this.buildInfo = new Gauge({
      name: "oomtrace_build_info",
      help: "Always 1: the agent's version, the bpftrace version and the probe chosen.",
      labelNames: ["version", "bpftrace_version", "probe"],
      registers,
    });
    this.confirmations = new Counter({
      name: "oomtrace_source_confirmations_total",
      help: "Kills seen by both bpftrace and kmsg, by whether they agree on the kind of OOM.",
      labelNames: ["result"],
      registers,
    });
    this.timeToOom = opts.podLabels
      ? new Gauge({
          name: "oomtrace_time_to_oom_seconds",
          help: "Estimated seconds until a growing container reaches its memory limit; only while an estimate is confident.",
          labelNames: ["namespace", "pod", "container"],
          registers,
        })
      : null;
  }

  pipeline(stage: Stage, outcome: Outcome, reason = ""): void {
    this.pipelineEvents.inc({ stage, outcome, reason });
  }

  lostEvents(source: string, n: number): void {
    this.lost.inc({ source }, n);
  }

  probeRestart(mode: string, reason: "crash" | "attach_failed"): void {
    this.restarts.inc({ mode, reason });
  }

  setProbeUp(mode: string, up: boolean): void {
    this.probeUp.reset();
    this.probeUp.set({ mode }, up ? 1 : 0);
  }

  setBuildInfo(version: string, bpftraceVersion: string, probe: string): void {
    this.buildInfo.reset();
    this.buildInfo.set({ version, bpftrace_version: bpftraceVersion, probe }, 1);
  }

  confirmation(agree: boolean): void {
    this.confirmations.inc({ result: agree ? "agree" : "disagree" });
  }

  /** Sets (seconds) or removes (null) the time-to-OOM series of the container known by `key`. */
  setTimeToOom(key: string, labels: Record<ContainerLabel, string>, seconds: number | null): void {
    if (!this.timeToOom) return;
    const old = this.timeToOomSeries.get(key);
    if (old && (seconds === null || old.namespace !== labels.namespace || old.pod !== labels.pod || old.container !== labels.container)) {
      this.timeToOom.remove(old);
      this.timeToOomSeries.delete(key);
    }
    if (seconds === null) return;
    this.timeToOom.set(labels, seconds);
    this.timeToOomSeries.set(key, labels);
  }

  /** The sink that counts kills. */
  sink(): Sink {
    return {
      name: "metrics",
      write: (e: OomEvent) => {
        this.kills.inc({ constraint: e.kill.constraint, scope: e.scope, source: e.kill.source });
        const pod = e.identity?.pod;
        this.podKills?.inc({
          namespace: pod?.namespace ?? "",
          pod: pod?.name ?? "",
          pod_uid: pod?.uid ?? "",
          container: e.identity?.container?.name ?? "",
        });
      },
    };
  }
}
