// The NDJSON event and the one-line text form (pure). The README documents every field.
import type { OomEvent } from "../types.ts";

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
    workload: { kind: id?.workload ?? null, unit: id?.unit ?? null },
    container: {
      id: id?.container?.id ?? null,
      runtime: id?.container?.runtime ?? null,
      name: id?.container?.name ?? null,
      image: e.names?.container?.image ?? null,
      started_at: e.names?.container?.startedAt?.toISOString() ?? null,
    },
    pod: {
      uid: id?.pod?.uid ?? null,
      qos: id?.pod?.qos ?? null,
      namespace: id?.pod?.namespace ?? null,
      name: id?.pod?.name ?? null,
      named_by: e.names?.source ?? null,
    },
    attribution: e.attribution,
    total_pages: k.totalPages,
    decision: k.decision,
    kernel_time_ns: k.kernelTimeNs.toString(),
    source: k.source,
    probe: k.probe,
  };
}

/** JSON.stringify escapes quotes, backslashes and control characters: kernel strings cannot break a line. */
export function formatNdjson(e: OomEvent): string {
  return JSON.stringify(eventToJson(e));
}

const show = (s: string | null | undefined): string => (s == null ? "-" : JSON.stringify(s));

export function formatText(e: OomEvent): string {
  const k = e.kill;
  const pod = e.identity?.pod;
  const who = pod?.name
    ? `pod=${show(`${pod.namespace}/${pod.name}`)} container=${show(e.identity?.container?.name)}`
    : pod?.uid
    ? `pod=${pod.uid} container=${e.identity?.container?.id?.slice(0, 12) ?? "-"}`
    : e.identity?.unit
      ? `unit=${show(e.identity.unit)}`
      : `cgroup=${show(k.cgroupPath)}`;
  return [
    e.time.toISOString(),
    `OOM ${k.constraint}/${e.scope}`,
    `victim=${k.victim.pid}${show(k.victim.comm) === "-" ? "" : `(${show(k.victim.comm)})`}`,
    `trigger=${k.trigger.pid ?? "-"}${k.trigger.comm == null ? "" : `(${show(k.trigger.comm)})`}`,
    who,
    k.victim.memory.anonRssKb == null ? "" : `anon-rss=${k.victim.memory.anonRssKb}kB`,
    `source=${k.source}`,
  ]
    .filter(Boolean)
    .join(" ");
}
