// The writes for one kill: annotation (merge patch, only if absent), pod condition (pods/status),
// Events (created once, then counted into a series). Each returns what happened or throws an ApiError.
import { ApiError, apiError, type ApiResult, type KubeClient } from "./client.ts";
import type { eventBody } from "./messages.ts";

type Obj = Record<string, any>;

export interface PodKey {
  namespace: string;
  name: string;
  uid: string;
}

const MERGE = "application/merge-patch+json";
const STRATEGIC = "application/strategic-merge-patch+json";
const podPath = (p: PodKey) => `/api/v1/namespaces/${encodeURIComponent(p.namespace)}/pods/${encodeURIComponent(p.name)}`;

/** What the pod cache last saw of a pod: its annotations at that resourceVersion. */
export interface KnownPod {
  resourceVersion: string;
  annotations: Record<string, string>;
}

/** A uid that differs is refused as "metadata.uid: field is immutable": the pod of that name is another one now. */
const uidRefused = (r: ApiResult) =>
  r.status === 422 && Array.isArray(r.body.details?.causes) && r.body.details.causes.some((c: Obj) => c?.field === "metadata.uid");

/**
 * Sets the annotation unless the pod already has it (any value). The patch carries the resourceVersion
 * its "absent" was seen at, so the API server applies it only to exactly that pod (409 otherwise), and
 * the uid, so a pod re-created under the same name is never marked. The first try uses what the pod
 * cache saw (one request); after a 409, or with nothing cached, the pod is read first.
 */
export async function annotate(client: KubeClient, pod: PodKey, key: string, value: string, cached: KnownPod | null): Promise<"applied" | "exists" | "gone"> {
  let seen = cached?.resourceVersion ? cached : null;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!seen) {
      const r = await client.request("GET", podPath(pod));
      if (r.status === 404) return "gone";
      if (r.status !== 200) throw apiError(r, `get pod ${pod.namespace}/${pod.name}`);
      if (r.body.metadata?.uid !== pod.uid) return "gone";
      const rv = r.body.metadata.resourceVersion;
      // Without it the patch would apply unconditionally, and "only if absent" would not hold.
      if (typeof rv !== "string" || rv === "") throw new ApiError(r.status, "", `get pod ${pod.namespace}/${pod.name}: the API server sent no resourceVersion; not annotating without one`, null);
      seen = { resourceVersion: rv, annotations: r.body.metadata.annotations ?? {} };
    }
    if (Object.hasOwn(seen.annotations, key)) return "exists";
    const patch = { metadata: { uid: pod.uid, resourceVersion: seen.resourceVersion, annotations: { [key]: value } } };
    const w = await client.request("PATCH", podPath(pod), patch, MERGE);
    if (w.status === 200) return "applied";
    if (w.status === 404 || uidRefused(w)) return "gone";
    if (w.status !== 409) throw apiError(w, `annotate pod ${pod.namespace}/${pod.name}`);
    seen = null;
  }
  // Changed under us five times running: someone else is busy with it; the next kill tries again.
  return "exists";
}

/**
 * Sets the condition through pods/status. A uid precondition keeps it off a re-created pod. No
 * resourceVersion precondition: the pod's version has usually just moved (our own annotation, kubelet
 * restarting the container), so a cached one would mostly cost a 409, a read and a second patch.
 */
export async function setCondition(client: KubeClient, pod: PodKey, patch: Obj): Promise<"applied" | "gone"> {
  const w = await client.request("PATCH", `${podPath(pod)}/status`, { metadata: { uid: pod.uid }, ...patch }, STRATEGIC);
  if (w.status === 200) return "applied";
  if (w.status === 404 || w.status === 409 || uidRefused(w)) return "gone";
  throw apiError(w, `set condition on pod ${pod.namespace}/${pod.name}`);
}

export interface SeriesRef {
  namespace: string;
  name: string;
  count: number;
}

const eventsPath = (ns: string) => `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/events`;

/** Creates the Event; a name taken already (409, our own retry after a lost answer) counts as created. */
export async function createEvent(client: KubeClient, body: ReturnType<typeof eventBody>): Promise<void> {
  const r = await client.request("POST", eventsPath(body.metadata.namespace), body);
  if (r.status === 201 || r.status === 200 || r.status === 409) return;
  throw apiError(r, `create Event ${body.metadata.namespace}/${body.metadata.name}`);
}

/**
 * Counts one more occurrence into an Event; false when the Event is gone (expired), so a new one is due.
 * The note stays the first kill's: the API server keeps an Event's note immutable.
 */
export async function bumpSeries(client: KubeClient, s: SeriesRef, time: string): Promise<boolean> {
  const r = await client.request("PATCH", `${eventsPath(s.namespace)}/${encodeURIComponent(s.name)}`, { series: { count: s.count, lastObservedTime: time } }, MERGE);
  if (r.status === 200) return true;
  if (r.status === 404) return false;
  throw apiError(r, `update Event series ${s.namespace}/${s.name}`);
}
