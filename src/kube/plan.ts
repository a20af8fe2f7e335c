// Which Kubernetes actions one kill calls for, from the options and what is known of its pod (pure).
import type { KubeConfig } from "../config/kube.ts";
import type { OomEvent } from "../types.ts";

export type Action = "annotation" | "condition" | "pod-event" | "node-event";

export function planActions(e: OomEvent, cfg: Pick<KubeConfig, "annotation" | "annotationKinds" | "condition" | "conditionKinds" | "events" | "eventKinds">): Action[] {
  const kind = e.kill.constraint;
  // Only a pod the kernel's cgroup path named and the API server confirmed is acted on.
  const pod = e.names !== null && e.identity?.pod?.uid === e.names.pod.uid;
  const out: Action[] = [];
  if (pod && cfg.annotation && cfg.annotationKinds.has(kind)) out.push("annotation");
  if (pod && cfg.condition && cfg.conditionKinds.has(kind)) out.push("condition");
  if (cfg.events && cfg.eventKinds.has(kind)) {
    if (pod) out.push("pod-event");
    if (kind === "global") out.push("node-event");
  }
  return out;
}

/** A kill is identified by the boot, its kernel timestamp and its pid: one key per killed task. */
export function killKey(bootId: string, e: OomEvent): string {
  return `${bootId}:${e.kill.kernelTimeNs}:${e.kill.victim.pid}`;
}

/** The event as stored in the state dir (bigint and Date made JSON-safe), and back. */
export function serializeEvent(e: OomEvent): string {
  return JSON.stringify(e, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

export function deserializeEvent(s: string): OomEvent {
  const e = JSON.parse(s) as OomEvent & { kill: { kernelTimeNs: string }; time: string };
  return { ...e, kill: { ...e.kill, kernelTimeNs: BigInt(e.kill.kernelTimeNs) }, time: new Date(e.time) } as OomEvent;
}
