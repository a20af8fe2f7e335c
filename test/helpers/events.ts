// OomEvents for unit tests, named the way the agent names them (withNames), so tests see the real shape.
import { parseCgroupPath } from "../../src/attribute/cgroup-path.ts";
import { withNames } from "../../src/attribute/names.ts";
import type { Constraint, KernelKill, OomEvent, WorkloadNames } from "../../src/types.ts";

export const POD_UID = "0b2c7e4a-58c1-4a3e-9d1f-2f3b6c7d8e9f";
export const CONTAINER_ID = "abfbf277763b4ba2b4f6d1e7c0f3a9e2d5c8b1a4f7e0d3c6b9a2f5e8d1c4b7a0";
export const POD_PATH = `/kubepods/burstable/pod${POD_UID}/${CONTAINER_ID}`;

export function kernelKill(over: Partial<KernelKill> = {}): KernelKill {
  return {
    source: "bpftrace",
    probe: "tracepoint",
    kernelTimeNs: 512418896215n,
    victim: {
      pid: 4042,
      tid: 4042,
      comm: "python3",
      memory: { totalVmKb: 78008, anonRssKb: 68200, fileRssKb: 6312, shmemRssKb: 0, pgtablesKb: 196, uid: 1000, oomScoreAdj: 1000 },
    },
    trigger: { pid: 4084, tid: 4084, comm: "java" },
    constraint: "memcg",
    constraintFrom: "stack",
    cgroupPath: POD_PATH,
    oomCgroupPath: POD_PATH,
    totalPages: 25600,
    decision: "512418896215-4084",
    ...over,
  };
}

/** A kill in the pod at `cgroupPath`; named when `names` is given (its uid and container id follow the path). */
export function oomEvent(
  opts: { constraint?: Constraint; cgroupPath?: string | null; names?: { namespace: string; name: string; labels?: Record<string, string>; container?: string | null } } = {},
): OomEvent {
  const kill = kernelKill({ constraint: opts.constraint ?? "memcg", cgroupPath: opts.cgroupPath === undefined ? POD_PATH : opts.cgroupPath });
  const identity = kill.cgroupPath === null ? null : parseCgroupPath(kill.cgroupPath);
  const event: OomEvent = {
    kill,
    identity,
    names: null,
    scope: "container",
    attribution: identity ? "exact" : "unresolved",
    node: "worker-1",
    time: new Date(Date.UTC(2026, 10, 21, 9, 14, 3)),
  };
  const n = opts.names;
  if (!n || !identity?.pod?.uid) return event;
  const names: WorkloadNames = {
    source: "apiserver",
    pod: { uid: identity.pod.uid, namespace: n.namespace, name: n.name, labels: n.labels ?? {} },
    container: { id: identity.container?.id ?? null, name: n.container === undefined ? "app" : n.container, image: null },
  };
  return withNames(event, names);
}
