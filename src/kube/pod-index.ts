// The node's pods indexed by pod UID and container ID (pure: no I/O, the clock is passed in).
// Pod objects come from the API server and are treated as untrusted: malformed ones are skipped.
import type { CgroupIdentity, WorkloadNames } from "../types.ts";
import { specCommandLine } from "./command-line.ts";

type Obj = Record<string, any>;

export interface PodContainer {
  name: string;
  image: string | null;
}

export interface PodSummary {
  uid: string;
  namespace: string;
  name: string;
  /** The resourceVersion these fields were read at ("" when the object had none): a write precondition. */
  resourceVersion: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Condition types with their status, to tell whether a condition is already set. */
  conditions: Record<string, string>;
  /** Runtime container id (prefix stripped) → container. */
  containers: Map<string, PodContainer>;
  /** Container name → image, for containers whose id is not known yet. */
  images: Map<string, string>;
  /** Container name → its command and args as the spec writes them, shown (`specCommandLine`); never env. */
  commands: Map<string, string>;
}

/** Replaced containers of one pod still named after they are gone. */
const KEEP_REPLACED = 16;

const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^[0-9a-f]{32}$/;

/** `containerd://<id>`, `cri-o://<id>`, `docker://<id>` → `<id>`; null when it is not a runtime id. */
export function stripRuntime(containerID: unknown): string | null {
  if (typeof containerID !== "string") return null;
  const m = /^[a-z0-9.-]+:\/\/([0-9a-f]{12,64})$/.exec(containerID);
  return m ? m[1]! : null;
}

const strings = (o: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (o && typeof o === "object") for (const [k, v] of Object.entries(o)) if (typeof v === "string") out[k] = v;
  return out;
};

/** The parts of a Pod the agent uses; null when the object lacks a uid, name or namespace. */
export function summarize(pod: unknown): PodSummary | null {
  if (!pod || typeof pod !== "object") return null;
  const p = pod as Obj;
  const md = p.metadata;
  if (!md || typeof md.uid !== "string" || typeof md.name !== "string" || typeof md.namespace !== "string") return null;
  const uid = md.uid.toLowerCase();
  if (!UID.test(uid)) return null;
  const containers = new Map<string, PodContainer>();
  const images = new Map<string, string>();
  const specs = [p.spec?.containers, p.spec?.initContainers, p.spec?.ephemeralContainers];
  const commands = new Map<string, string>();
  for (const list of specs) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (typeof c?.name !== "string") continue;
      if (typeof c.image === "string") images.set(c.name, c.image);
      const line = specCommandLine(c);
      if (line !== null) commands.set(c.name, line);
    }
  }
  const statuses = [p.status?.containerStatuses, p.status?.initContainerStatuses, p.status?.ephemeralContainerStatuses];
  for (const list of statuses) {
    if (!Array.isArray(list)) continue;
    for (const s of list) {
      if (typeof s?.name !== "string") continue;
      // The id of the running container and of the one before it (a kill just restarted it).
      for (const raw of [s.containerID, s.lastState?.terminated?.containerID]) {
        const id = stripRuntime(raw);
        if (id) containers.set(id, { name: s.name, image: typeof s.image === "string" ? s.image : (images.get(s.name) ?? null) });
      }
    }
  }
  const conditions: Record<string, string> = {};
  if (Array.isArray(p.status?.conditions)) for (const c of p.status.conditions) if (typeof c?.type === "string") conditions[c.type] = String(c.status ?? "");
  const resourceVersion = typeof md.resourceVersion === "string" ? md.resourceVersion : "";
  return { uid, namespace: md.namespace, name: md.name, resourceVersion, labels: strings(md.labels), annotations: strings(md.annotations), conditions, containers, images, commands };
}

interface Entry {
  pod: PodSummary;
  /** When the pod left the API server (ms); null while it exists. */
  goneAt: number | null;
}

export class PodIndex {
  private readonly byUid = new Map<string, Entry>();
  private readonly byContainer = new Map<string, string>();

  /** `keepGoneMs`: how long a deleted pod still names kills (a kill during deletion arrives after the DELETE). */
  constructor(private readonly keepGoneMs = 5 * 60_000) {}

  /** Pods that exist, and deleted ones still kept. */
  counts(): { live: number; deleted: number } {
    let deleted = 0;
    for (const e of this.byUid.values()) if (e.goneAt !== null) deleted++;
    return { live: this.byUid.size - deleted, deleted };
  }

  get size(): number {
    return this.byUid.size;
  }

  /** Adds or replaces a pod; false when the object was malformed and skipped. */
  upsert(obj: unknown): boolean {
    const pod = summarize(obj);
    if (!pod) return false;
    const prev = this.byUid.get(pod.uid);
    // Ids of earlier containers stay, the latest few: a kill may be reported after the container was
    // replaced, and a crash-looping pod must not grow the index without end.
    if (prev) {
      // Oldest first, so that the slice keeps the latest.
      const earlier = [...prev.pod.containers].filter(([id]) => !pod.containers.has(id)).slice(-KEEP_REPLACED);
      pod.containers = new Map([...earlier, ...pod.containers]);
      for (const id of prev.pod.containers.keys()) if (!pod.containers.has(id) && this.byContainer.get(id) === pod.uid) this.byContainer.delete(id);
    }
    this.byUid.set(pod.uid, { pod, goneAt: null });
    for (const id of pod.containers.keys()) this.byContainer.set(id, pod.uid);
    return true;
  }

  /** The pod was deleted: it keeps naming kills for `keepGoneMs`. */
  remove(obj: unknown, now: number): void {
    const pod = summarize(obj);
    if (!pod) return;
    this.upsert(obj);
    this.byUid.get(pod.uid)!.goneAt = now;
  }

  /** A full list replaces what is known: pods missing from it count as deleted now. */
  replace(objs: unknown[], now: number): number {
    const seen = new Set<string>();
    let skipped = 0;
    for (const o of objs) {
      if (this.upsert(o)) seen.add(summarize(o)!.uid);
      else skipped++;
    }
    for (const [uid, e] of this.byUid) if (!seen.has(uid) && e.goneAt === null) e.goneAt = now;
    return skipped;
  }

  /** Forgets pods deleted longer than `keepGoneMs` ago. */
  expire(now: number): void {
    for (const [uid, e] of this.byUid) {
      if (e.goneAt === null || now - e.goneAt < this.keepGoneMs) continue;
      this.byUid.delete(uid);
      for (const id of e.pod.containers.keys()) if (this.byContainer.get(id) === uid) this.byContainer.delete(id);
    }
  }

  get(uid: string): PodSummary | null {
    return this.byUid.get(uid.toLowerCase())?.pod ?? null;
  }

  isGone(uid: string): boolean {
    return (this.byUid.get(uid.toLowerCase())?.goneAt ?? null) !== null;
  }

  /** Names for a cgroup identity: by pod UID when the path has one, else by container id. */
  lookup(id: CgroupIdentity): WorkloadNames | null {
    const cid = id.container?.id ?? null;
    const uid = id.pod?.uid?.toLowerCase() ?? (cid ? this.byContainer.get(cid) : undefined);
    const pod = uid ? this.get(uid) : null;
    if (!pod) return null;
    const c = cid ? pod.containers.get(cid) : undefined;
    // A container id the pod does not list yet (just started) still names the pod, not the container.
    return {
      source: "apiserver",
      pod: { uid: pod.uid, namespace: pod.namespace, name: pod.name, labels: pod.labels },
      container: cid || c ? { id: cid, name: c?.name ?? null, image: c?.image ?? null } : null,
    };
  }
}
