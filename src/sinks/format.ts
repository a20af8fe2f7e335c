// The NDJSON event and the one-line text form (pure). The README documents every field.
import type { CgroupIdentity, OomEvent, PressureEvent, WorkloadNames } from "../types.ts";

/** Who an event is about: the fields oom_kill and memory_pressure share, so consumers can join them. */
export function identityJson(id: CgroupIdentity | null, names: WorkloadNames | null): Record<string, unknown> {
  return {
    workload: { kind: id?.workload ?? null, unit: id?.unit ?? null },
    container: { id: id?.container?.id ?? null, runtime: id?.container?.runtime ?? null, name: id?.container?.name ?? null },
    pod: {
      uid: id?.pod?.uid ?? null,
      qos: id?.pod?.qos ?? null,
      namespace: id?.pod?.namespace ?? null,
      name: id?.pod?.name ?? null,
      named_by: names?.source ?? null,
    },
  };
}

/** Seconds to a millisecond; ratios to a thousandth. */
export const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** When a warning's estimate puts the OOM: its time plus the seconds left. */
export const oomTimeIso = (time: Date, seconds: number) => new Date(Math.round(time.getTime() + seconds * 1000)).toISOString();

/** The warning an oom_kill links to, in brief; `lead_seconds` is how long before the kill it came. */
function warningJson(w: PressureEvent, killTime: Date): Record<string, unknown> {
  return {
    time: w.time.toISOString(),
    reasons: w.reasons,
    time_to_oom_seconds: w.estimate ? round3(w.estimate.seconds) : null,
    confidence: w.estimate ? round3(w.estimate.confidence) : null,
    oom_time: w.estimate ? oomTimeIso(w.time, w.estimate.seconds) : null,
    lead_seconds: round3((killTime.getTime() - w.time.getTime()) / 1000),
  };
}

export function eventToJson(e: OomEvent): Record<string, unknown> {
  const { kill: k, identity: id } = e;
  const m = k.victim.memory;
  return {
    kind: "oom_kill",
    time: e.time.toISOString(),
    node: e.node,
    constraint: k.constraint,
    constraint_source: k.constraintFrom,
    scope: e.scope,
    victim: {
      pid: k.victim.pid,
      tid: k.victim.tid,
      comm: k.victim.comm,
      total_vm_kb: m.totalVmKb,
      anon_rss_kb: m.anonRssKb,
      file_rss_kb: m.fileRssKb,
      shmem_rss_kb: m.shmemRssKb,
      pgtables_kb: m.pgtablesKb,
      uid: m.uid,
      oom_score_adj: m.oomScoreAdj,
    },
    trigger: { pid: k.trigger.pid, tid: k.trigger.tid, comm: k.trigger.comm },
    cgroup: { path: k.cgroupPath, oom_path: k.oomCgroupPath },
    ...identityJson(id, e.names),
    attribution: e.attribution,
    total_pages: k.totalPages,
    decision: k.decision,
    kernel_time_ns: k.kernelTimeNs.toString(),
    source: k.source,
    probe: k.probe,
    warning: e.warning ? warningJson(e.warning, e.time) : null,
  };
}

/** JSON.stringify escapes quotes, backslashes and control characters: kernel strings cannot break a line. */
export function formatNdjson(e: OomEvent): string {
  return JSON.stringify(eventToJson(e));
}

const show = (s: string | null | undefined): string => (s == null ? "-" : JSON.stringify(s));

/** The workload in a text line: names when known, else ids, else the unit or cgroup. */
export function who(id: CgroupIdentity | null, cgroupPath: string | null): string {
  const pod = id?.pod;
  return pod?.name
    ? `pod=${show(`${pod.namespace}/${pod.name}`)} container=${show(id?.container?.name)}`
    : pod?.uid
      ? `pod=${pod.uid} container=${id?.container?.id?.slice(0, 12) ?? "-"}`
      : id?.unit
        ? `unit=${show(id.unit)}`
        : `cgroup=${show(cgroupPath)}`;
}

export function formatText(e: OomEvent): string {
  const k = e.kill;
  return [
    e.time.toISOString(),
    `OOM ${k.constraint}/${e.scope}`,
    `victim=${k.victim.pid}${show(k.victim.comm) === "-" ? "" : `(${show(k.victim.comm)})`}`,
    `trigger=${k.trigger.pid ?? "-"}${k.trigger.comm == null ? "" : `(${show(k.trigger.comm)})`}`,
    who(e.identity, k.cgroupPath),
    k.victim.memory.anonRssKb == null ? "" : `anon-rss=${k.victim.memory.anonRssKb}kB`,
    `source=${k.source}`,
    e.warning ? `warned=${round3((e.time.getTime() - e.warning.time.getTime()) / 1000)}s-before` : "",
  ]
    .filter(Boolean)
    .join(" ");
}
