// Prometheus metrics of the Kubernetes side, on the agent's registry.
import { Counter, Gauge, type Registry } from "prom-client";

export class KubeMetrics {
  private readonly marked: Counter<"stage" | "reason">;
  private readonly events: Counter<"regarding" | "outcome">;
  private readonly apiErrors: Counter<"verb" | "resource" | "code">;
  private readonly pods: Gauge<"state">;
  private readonly malformed: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.marked = new Counter({
      name: "oomtrace_marked_victims_total",
      help: "Victim pods marked for eviction (annotation or condition), by stage (marked, skipped, error) and reason, as OOM Tracer counts them.",
      labelNames: ["stage", "reason"],
      registers,
    });
    this.events = new Counter({
      name: "oomtrace_kube_events_total",
      help: "Kubernetes Events written about kills, by object (Pod, Node) and outcome (created, series_updated, error).",
      labelNames: ["regarding", "outcome"],
      registers,
    });
    this.apiErrors = new Counter({
      name: "oomtrace_kube_api_errors_total",
      help: "Failed API requests, by verb, resource and HTTP code (network: no answer).",
      labelNames: ["verb", "resource", "code"],
      registers,
    });
    this.pods = new Gauge({
      name: "oomtrace_kube_pods_cached",
      help: "Pods of this node in the cache: live, and deleted ones kept a few minutes to name late kills.",
      labelNames: ["state"],
      registers,
    });
    this.malformed = new Counter({ name: "oomtrace_kube_malformed_pods_total", help: "Pod objects from the API server skipped for lacking a valid uid, name or namespace.", registers });
  }

  markedVictim(stage: "marked" | "skipped" | "error", reason: string): void {
    this.marked.inc({ stage, reason });
  }

  event(regarding: "Pod" | "Node", outcome: "created" | "series_updated" | "error"): void {
    this.events.inc({ regarding, outcome });
  }

  apiError(verb: string, resource: string, code: number | "network"): void {
    this.apiErrors.inc({ verb, resource, code: String(code) });
  }

  podsCached(n: { live: number; deleted: number }): void {
    this.pods.set({ state: "live" }, n.live);
    this.pods.set({ state: "deleted" }, n.deleted);
  }

  malformedPod(): void {
    this.malformed.inc();
  }
}
