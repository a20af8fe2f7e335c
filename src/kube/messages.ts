// What the agent writes into Kubernetes about one kill: Event bodies, condition and message text (pure).
// Never environment variables. The kernel's process name and numbers; a pod Event may add, when asked
// (--event-command-line), the container's command from the pod spec, built in command-line.ts.
import type { Constraint, OomEvent, PressureEvent, PressureReason } from "../types.ts";

type Obj = Record<string, any>;

/** Event reasons. kubelet uses OOMKilled (a container's termination reason) and SystemOOM (Node, OOM in "/");
 *  node-problem-detector uses OOMKilling (Node, from the kernel log): these do not collide with them. */
export const REASON_POD = "ProcessOOMKilled";
export const REASON_NODE = "GlobalOOMKill";
/** The early warning, before any kill; kubelet's MemoryPressure is a Node condition, so not that. */
export const REASON_PRESSURE = "OOMRisk";
export const REPORTING_CONTROLLER = "oomtrace";
export const EVENT_ACTION = "OOMKill";

/** Condition reason per kind: GlobalOOMKill, MemcgOOMKill, CpusetOOMKill, MempolicyOOMKill, UnknownOOMKill. */
export function conditionReason(kind: Constraint): string {
  return `${kind[0]!.toUpperCase()}${kind.slice(1)}OOMKill`;
}

const KIND_TEXT: Record<Constraint, string> = {
  global: "global OOM: the node ran out of memory",
  memcg: "memcg OOM: a memory cgroup limit was reached",
  cpuset: "cpuset OOM: the memory nodes of its cpuset ran out",
  mempolicy: "mempolicy OOM: the memory nodes of its NUMA policy ran out",
  unknown: "OOM of unknown kind",
};

const SCOPE_TEXT: Record<string, string> = {
  container: "the container's limit",
  pod: "the pod's limit",
  kubepods: "the node allocatable (kubepods) limit",
  cgroup: "a cgroup limit",
};

const mib = (kb: number | null) => (kb === null ? null : `${(kb / 1024).toFixed(1)} MiB`);
/** Process names come from the kernel and may hold anything: quoted, control characters escaped. */
const quote = (s: string | null) => (s === null ? "(unknown)" : JSON.stringify(s));

/** The API server refuses an Event note over 1024 characters (names from pods are long and untrusted). */
const cut = (msg: string) => (msg.length > 1024 ? `${msg.slice(0, 1021)}...` : msg);

/**
 * Who died, what killed it, the kind and the memory facts, then `more` (a sentence, already safe to
 * show); at most 1024 characters (the API's limit for a note).
 */
export function killMessage(e: OomEvent, more = ""): string {
  const k = e.kill;
  const container = e.identity?.container?.name ?? (e.identity?.container?.id ? e.identity.container.id.slice(0, 12) : null);
  const where = container ? ` in container ${quote(container)}` : "";
  const kind = k.constraint === "memcg" && SCOPE_TEXT[e.scope] ? `memcg OOM: ${SCOPE_TEXT[e.scope]} was reached` : KIND_TEXT[k.constraint];
  const trigger =
    k.trigger.pid === null ? "" : k.trigger.pid === k.victim.pid ? "; it was allocating itself" : `; the allocation that ran out was by ${quote(k.trigger.comm)} (pid ${k.trigger.pid})`;
  const m = k.victim.memory;
  const facts = [
    ["anon-rss", mib(m.anonRssKb)],
    ["file-rss", mib(m.fileRssKb)],
    ["shmem-rss", mib(m.shmemRssKb)],
    ["total-vm", mib(m.totalVmKb)],
    ["oom_score_adj", m.oomScoreAdj === null ? null : String(m.oomScoreAdj)],
  ]
    .filter(([, v]) => v !== null)
    .map(([n, v]) => `${n} ${v}`)
    .join(", ");
  return cut(`The kernel OOM killer killed process ${quote(k.victim.comm)} (pid ${k.victim.pid})${where} (${kind})${trigger}.${facts ? ` ${facts}.` : ""}${more ? ` ${more}` : ""}`);
}

/** The same kill as told on the Node: which pod's process it was. */
export function nodeMessage(e: OomEvent): string {
  const p = e.identity?.pod;
  const who = p?.name ? `pod ${p.namespace}/${p.name}: ` : p?.uid ? `pod uid ${p.uid}: ` : "";
  return cut(`${who}${killMessage(e)}`);
}

const seconds = (s: number) => (s >= 120 ? `${Math.round(s / 60)} min` : `${Math.max(0, Math.round(s))} s`);

const PRESSURE_TEXT: Record<PressureReason, string> = {
  time_to_oom: "at its growth it will reach its limit soon",
  usage: "its working set is close to its limit",
  psi: "its tasks stall waiting for memory (PSI)",
};

/** The early warning: which container, how full, how fast it grows and when the OOM killer is expected. */
export function pressureMessage(w: PressureEvent): string {
  const container = w.identity.container?.name ?? (w.identity.container?.id ? w.identity.container.id.slice(0, 12) : null);
  const s = w.sample;
  const pct = s.limitBytes > 0 ? Math.round((100 * s.workingSetBytes) / s.limitBytes) : null;
  const parts = [
    `Container ${quote(container)} may be OOM-killed: ${w.reasons.map((r) => PRESSURE_TEXT[r]).join("; ")}.`,
    `Working set ${mib(s.workingSetBytes / 1024)} of its ${mib(s.limitBytes / 1024)} limit${pct === null ? "" : ` (${pct}%)`}.`,
  ];
  const est = w.estimate;
  if (est) {
    parts.push(
      `Growing ${mib(est.growthBytesPerSecond / 1024)}/s: the limit is expected in about ${seconds(est.seconds)} (90% interval ${seconds(est.lowSeconds)} to ${seconds(est.highSeconds)}, confidence ${est.confidence.toFixed(2)}).`,
    );
  }
  if (s.psi) parts.push(`PSI full avg10 ${s.psi.fullAvg10.toFixed(1)}%.`);
  return cut(parts.join(" "));
}

/** `2026-01-02T03:04:05.678000Z`: events.k8s.io/v1 eventTime is a MicroTime and the server rejects milliseconds. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export interface Regarding {
  kind: "Pod" | "Node";
  namespace: string;
  name: string;
  uid: string;
}

/** A new events.k8s.io/v1 Event; `series` is added later by a patch when the same thing happens again. */
export function eventBody(o: { name: string; regarding: Regarding; reason: string; note: string; node: string; time: Date }): Obj {
  const ns = o.regarding.kind === "Node" ? "default" : o.regarding.namespace;
  return {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    metadata: { name: o.name, namespace: ns },
    eventTime: microTime(o.time),
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: `${REPORTING_CONTROLLER}-${o.node}`.slice(0, 128),
    action: EVENT_ACTION,
    reason: o.reason,
    type: "Warning",
    note: o.note,
    regarding: { apiVersion: "v1", kind: o.regarding.kind, name: o.regarding.name, uid: o.regarding.uid, ...(o.regarding.kind === "Pod" ? { namespace: o.regarding.namespace } : {}) },
  };
}

/** The pod condition set on a victim, as a strategic merge patch of pods/status (conditions merge by type). */
export function conditionPatch(type: string, kind: Constraint, message: string, now: Date): Obj {
  return {
    status: {
      conditions: [{ type, status: "True", reason: conditionReason(kind), message, lastTransitionTime: now.toISOString().replace(/\.\d{3}Z$/, "Z"), lastProbeTime: null }],
    },
  };
}
