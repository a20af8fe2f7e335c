// The resources this server serves: discovery metadata, selectable fields, strategic
// merge keys, create defaults, and the events.k8s.io/v1 <-> core/v1 conversion
// (both APIs are views of one stored event, as on a real cluster).
import { type MergeKeys, META_MERGE_KEYS, NODE_MERGE_KEYS, POD_MERGE_KEYS } from "./patch.ts";

type Obj = Record<string, any>;

export interface ResourceDef {
  group: string;
  version: string;
  resource: string;
  kind: string;
  singularName: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: string[];
  subresources: string[];
  /** Storage key; events of both API groups share one storage. */
  storage: string;
  mergeKeys: MergeKeys;
  /** Field selector attributes of a stored object (what the real server's GetAttrs offers). */
  fields(o: Obj): Record<string, string>;
  /** Stored shape -> this API version's wire shape (without kind/apiVersion). */
  toWire?(o: Obj): Obj;
  /** This API version's wire shape -> stored shape. */
  fromWire?(o: Obj): Obj;
  /** Field selector names of this version mapped to the stored ones. */
  fieldAliases?: Record<string, string>;
  /** Fills what Go always serializes (non-omitempty fields), so stored objects compare equal across round trips. */
  canonical?(o: Obj): Obj;
}

const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const meta = (o: Obj) => ({ "metadata.name": o.metadata?.name ?? "", "metadata.namespace": o.metadata?.namespace ?? "" });
const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));

export const pods: ResourceDef = {
  group: "",
  version: "v1",
  resource: "pods",
  kind: "Pod",
  singularName: "pod",
  namespaced: true,
  shortNames: ["po"],
  categories: ["all"],
  verbs: ALL_VERBS,
  subresources: ["status"],
  storage: "pods",
  mergeKeys: POD_MERGE_KEYS,
  fields: (o) => ({
    ...meta(o),
    "spec.nodeName": str(o.spec?.nodeName),
    "spec.restartPolicy": str(o.spec?.restartPolicy),
    "spec.schedulerName": str(o.spec?.schedulerName),
    "spec.serviceAccountName": str(o.spec?.serviceAccountName),
    "spec.hostNetwork": String(o.spec?.hostNetwork === true),
    "status.phase": str(o.status?.phase),
    "status.podIP": str(o.status?.podIP),
    "status.nominatedNodeName": str(o.status?.nominatedNodeName),
  }),
};

export const coreEvents: ResourceDef = {
  group: "",
  version: "v1",
  resource: "events",
  kind: "Event",
  singularName: "event",
  namespaced: true,
  shortNames: ["ev"],
  verbs: ALL_VERBS,
  subresources: [],
  storage: "events",
  mergeKeys: META_MERGE_KEYS,
  fields: (o) => ({
    ...meta(o),
    "involvedObject.kind": str(o.involvedObject?.kind),
    "involvedObject.namespace": str(o.involvedObject?.namespace),
    "involvedObject.name": str(o.involvedObject?.name),
    "involvedObject.uid": str(o.involvedObject?.uid),
    "involvedObject.apiVersion": str(o.involvedObject?.apiVersion),
    "involvedObject.resourceVersion": str(o.involvedObject?.resourceVersion),
    "involvedObject.fieldPath": str(o.involvedObject?.fieldPath),
    reason: str(o.reason),
    reportingComponent: str(o.reportingComponent),
    source: str(o.source?.component),
    type: str(o.type),
  }),
  // Go emits these even when empty: non-omitempty strings, structs, and zero times as null.
  canonical: (o) => ({
    involvedObject: {},
    source: {},
    firstTimestamp: null,
    lastTimestamp: null,
    eventTime: null,
    reportingComponent: "",
    reportingInstance: "",
    ...o,
  }),
};

/** events.k8s.io/v1 field -> stored core/v1 field. */
const EVENTS_V1_RENAMES: Record<string, string> = {
  regarding: "involvedObject",
  note: "message",
  reportingController: "reportingComponent",
  deprecatedSource: "source",
  deprecatedFirstTimestamp: "firstTimestamp",
  deprecatedLastTimestamp: "lastTimestamp",
  deprecatedCount: "count",
};
const EVENTS_V1_BACK = Object.fromEntries(Object.entries(EVENTS_V1_RENAMES).map(([a, b]) => [b, a]));

export const eventsV1: ResourceDef = {
  ...coreEvents,
  group: "events.k8s.io",
  version: "v1",
  fieldAliases: Object.fromEntries(
    ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"].map((f) => [`regarding.${f}`, `involvedObject.${f}`]),
  ),
  fromWire: (o) => {
    const out: Obj = {};
    for (const [k, v] of Object.entries(o)) {
      if (k in EVENTS_V1_BACK) continue; // core/v1-only names are unknown fields here (dropped, as the server does)
      out[EVENTS_V1_RENAMES[k] ?? k] = v;
    }
    return out;
  },
  toWire: (o) => {
    const out: Obj = { regarding: {}, deprecatedSource: {}, deprecatedFirstTimestamp: null, deprecatedLastTimestamp: null };
    for (const [k, v] of Object.entries(o)) {
      const name = EVENTS_V1_BACK[k] ?? k;
      if ((k === "reportingComponent" || k === "reportingInstance") && v === "") continue; // omitempty in events.k8s.io/v1
      if (k === "count" && !v) continue;
      out[name] = v;
    }
    return out;
  },
};

export const nodes: ResourceDef = {
  group: "",
  version: "v1",
  resource: "nodes",
  kind: "Node",
  singularName: "node",
  namespaced: false,
  shortNames: ["no"],
  verbs: ALL_VERBS,
  subresources: ["status"],
  storage: "nodes",
  mergeKeys: NODE_MERGE_KEYS,
  fields: (o) => ({ "metadata.name": o.metadata?.name ?? "", "spec.unschedulable": String(o.spec?.unschedulable === true) }),
};

export const namespaces: ResourceDef = {
  group: "",
  version: "v1",
  resource: "namespaces",
  kind: "Namespace",
  singularName: "namespace",
  namespaced: false,
  shortNames: ["ns"],
  verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
  subresources: ["status"],
  storage: "namespaces",
  mergeKeys: META_MERGE_KEYS,
  fields: (o) => ({ "metadata.name": o.metadata?.name ?? "", "status.phase": str(o.status?.phase) }),
};

/** group/version -> resource name -> definition. */
export const API: Record<string, Record<string, ResourceDef>> = {
  v1: { pods, events: coreEvents, nodes, namespaces },
  "events.k8s.io/v1": { events: eventsV1 },
};
export const groupVersion = (d: ResourceDef) => (d.group ? `${d.group}/${d.version}` : d.version);

/** The QoS class the API server computes on pod creation. */
export function podQosClass(pod: Obj): "Guaranteed" | "Burstable" | "BestEffort" {
  const containers: Obj[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const limits: Obj = c.resources?.limits ?? {};
    const requests: Obj = { ...limits, ...(c.resources?.requests ?? {}) };
    if (Object.keys(requests).length || Object.keys(limits).length) any = true;
    for (const r of ["cpu", "memory"]) if (limits[r] === undefined || String(requests[r]) !== String(limits[r])) guaranteed = false;
  }
  return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

/** Defaults the API server fills in on create (the subset clients commonly read). */
export function defaultPod(pod: Obj): void {
  const spec = (pod.spec ??= {});
  spec.restartPolicy ??= "Always";
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.enableServiceLinks ??= true;
  spec.securityContext ??= {};
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    c.terminationMessagePath ??= "/dev/termination-log";
    c.terminationMessagePolicy ??= "File";
    c.imagePullPolicy ??= /:latest$|^[^:]*$/.test(String(c.image ?? "")) ? "Always" : "IfNotPresent";
    c.resources ??= {};
  }
  const status = (pod.status ??= {});
  status.phase ??= "Pending";
  status.qosClass ??= podQosClass(pod);
}
