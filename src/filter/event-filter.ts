// Which kills the acting sinks see (`-n`, `--pod`, `--container`, `-l`, `--kind`): pure matching on a named OomEvent.
//
// A filter acts only on what is known. A condition that picks kills (`-n prod`, `--pod`, `--container`, `-l`)
// passes a kill only when its names are known and satisfy it; an exclusion (`-n '!kube-system'`) drops a kill
// only when it is known to be in that namespace. So a kill whose pod has no names yet (no name source knew it
// within --name-wait, or it is not in a pod at all) is never counted into or out of a namespace on a guess:
// it is left out by a picking filter and kept by an exclusion. Its reason is "unnamed", so it can be counted.
import type { Constraint, OomEvent } from "../types.ts";
import { type Selector, selectorMatches } from "./selector.ts";

export const CONSTRAINTS: readonly Constraint[] = ["global", "memcg", "cpuset", "mempolicy", "unknown"];

export interface EventFilter {
  /** Kills in these namespaces only; empty = any namespace. */
  namespaces: readonly string[];
  /** Kills known to be in these namespaces are left out. */
  excludeNamespaces: readonly string[];
  /** Pod names; empty = any pod. */
  pods: readonly string[];
  /** Container names; empty = any container. */
  containers: readonly string[];
  /** Label selector on the pod's labels, or null. */
  selector: Selector | null;
  /** Kinds of OOM; empty = every kind. */
  kinds: readonly Constraint[];
}

export const MATCH_ALL: EventFilter = { namespaces: [], excludeNamespaces: [], pods: [], containers: [], selector: null, kinds: [] };

export type FilterReason = "kind" | "namespace" | "pod" | "container" | "selector" | "unnamed";
export type FilterVerdict = { pass: true } | { pass: false; reason: FilterReason };

const PASS: FilterVerdict = { pass: true };
const drop = (reason: FilterReason): FilterVerdict => ({ pass: false, reason });

/** True when the filter needs names from a name source (the API server or CRI) to pass anything. */
export function needsNames(f: EventFilter): boolean {
  return f.namespaces.length > 0 || f.pods.length > 0 || f.containers.length > 0 || (f.selector !== null && f.selector.length > 0);
}

export function filterEvent(f: EventFilter, e: OomEvent): FilterVerdict {
  if (f.kinds.length && !f.kinds.includes(e.kill.constraint)) return drop("kind");
  return filterWorkload(f, e);
}

/** The namespace, pod, container and label part of the filter, also for early warnings (which have no kind). */
export function filterWorkload(f: EventFilter, e: Pick<OomEvent, "identity" | "names">): FilterVerdict {
  const pod = e.identity?.pod;
  const namespace = pod?.namespace ?? null;
  if (namespace !== null && f.excludeNamespaces.includes(namespace)) return drop("namespace");
  if (f.namespaces.length) {
    if (namespace === null) return drop("unnamed");
    if (!f.namespaces.includes(namespace)) return drop("namespace");
  }
  if (f.pods.length) {
    if (!pod?.name) return drop("unnamed");
    if (!f.pods.includes(pod.name)) return drop("pod");
  }
  if (f.containers.length) {
    const name = e.identity?.container?.name ?? null;
    if (name === null) return drop("unnamed");
    if (!f.containers.includes(name)) return drop("container");
  }
  if (f.selector && f.selector.length) {
    // Labels come only with names from a name source whose pod UID matched the kernel's (withNames).
    const labels = e.names?.pod.labels;
    if (!labels) return drop("unnamed");
    if (!selectorMatches(f.selector, labels)) return drop("selector");
  }
  return PASS;
}

/** One line for the log: what the filter lets through. */
export function describeFilter(f: EventFilter): string {
  const parts: string[] = [];
  if (f.kinds.length) parts.push(`kind ${f.kinds.join("|")}`);
  if (f.namespaces.length) parts.push(`namespace ${f.namespaces.join("|")}`);
  if (f.excludeNamespaces.length) parts.push(`namespace not ${f.excludeNamespaces.join("|")}`);
  if (f.pods.length) parts.push(`pod ${f.pods.join("|")}`);
  if (f.containers.length) parts.push(`container ${f.containers.join("|")}`);
  if (f.selector?.length) parts.push(`labels ${f.selector.map(showRequirement).join(",")}`);
  return parts.length ? parts.join(", ") : "every kill";
}

function showRequirement(r: Selector[number]): string {
  if (!("values" in r)) return r.op === "exists" ? r.key : `!${r.key}`;
  if (r.values.length === 1) return `${r.key}${r.op === "in" ? "=" : "!="}${r.values[0]}`;
  return `${r.key} ${r.op} (${r.values.join(",")})`;
}
