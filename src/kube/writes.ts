// The writes for one kill: annotation (merge patch, only if absent), pod condition (pods/status),
// Events (created once, then counted into a series). Each returns what happened or throws an ApiError.
import { apiError, type KubeClient } from "./client.ts";
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

/**
 * Sets the annotation unless the pod already has it (any value). The patch carries the resourceVersion
 * that was read, so a concurrent change gives 409 and is read again, and the uid, so a pod re-created
 * under the same name is never marked.
 */
export async function annotate(client: KubeClient, pod: PodKey, key: string, value: string): Promise<"applied" | "exists" | "gone"> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = await client.request("GET", podPath(pod));
    if (r.status === 404) return "gone";
    if (r.status !== 200) throw apiError(r, `get pod ${pod.namespace}/${pod.name}`);
    if (r.body.metadata?.uid !== pod.uid) return "gone";
    if (r.body.metadata?.annotations && key in r.body.metadata.annotations) return "exists";
    const patch = { metadata: { uid: pod.uid, resourceVersion: r.body.metadata.resourceVersion, annotations: { [key]: value } } };
    const w = await client.request("PATCH", podPath(pod), patch, MERGE);
    if (w.status === 200) return "applied";
    if (w.status === 404) return "gone";
    if (w.status !== 409) throw apiError(w, `annotate pod ${pod.namespace}/${pod.name}`);
  }
  // Changed under us five times running: someone else is busy with it; the next kill tries again.
  return "exists";
}

/** Sets the condition through pods/status. A uid precondition keeps it off a re-created pod. */
export async function setCondition(client: KubeClient, pod: PodKey, patch: Obj): Promise<"applied" | "gone"> {
  const w = await client.request("PATCH", `${podPath(pod)}/status`, { metadata: { uid: pod.uid }, ...patch }, STRATEGIC);
  if (w.status === 200) return "applied";
  // A uid that differs is refused as "metadata.uid: field is immutable": the pod of that name is another one now.
  const uidRefused = w.status === 422 && Array.isArray(w.body.details?.causes) && w.body.details.causes.some((c: Obj) => c?.field === "metadata.uid");
  if (w.status === 404 || w.status === 409 || uidRefused) return "gone";
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
