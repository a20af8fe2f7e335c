// The remaining pure parts of the test API server: RBAC, protobuf decoding, tables,
// resource conversions and the store's resourceVersion/compaction bookkeeping.
import { describe, expect, test } from "bun:test";
import { type Attributes, forbiddenReason, identityFromToken, Rbac } from "../../apiserver/auth.ts";
import { decodeEnvelope, decodeSelfSubjectAccessReview, encodeSelfSubjectAccessReview } from "../../apiserver/protobuf.ts";
import { defaultPod, eventsV1, podQosClass } from "../../apiserver/resources.ts";
import { errors } from "../../apiserver/status.ts";
import { type Change, Store } from "../../apiserver/store.ts";
import { humanDuration, wantsTable } from "../../apiserver/table.ts";

const attrs = (a: Partial<Attributes>): Attributes => ({ verb: "get", apiGroup: "", resource: "pods", subresource: "", namespace: "ns", name: "", ...a });

describe("RBAC table", () => {
  const id = { user: "u", groups: ["system:authenticated"] };

  test("rules match verb, resource/subresource, group and namespace", () => {
    const rbac = new Rbac([]);
    rbac.set("u", [
      { verbs: ["get", "list", "watch"], resources: ["pods"] },
      { verbs: ["patch"], resources: ["pods/status"], namespaces: ["ns"] },
      { verbs: ["create"], resources: ["events"], apiGroups: ["events.k8s.io"] },
    ]);
    expect(rbac.allowed(id, attrs({ verb: "list", namespace: "" }))).toBe(true);
    expect(rbac.allowed(id, attrs({ verb: "patch", subresource: "status" }))).toBe(true);
    expect(rbac.allowed(id, attrs({ verb: "patch", subresource: "status", namespace: "other" }))).toBe(false);
    expect(rbac.allowed(id, attrs({ verb: "patch" }))).toBe(false); // pods/status does not grant pods
    expect(rbac.allowed(id, attrs({ verb: "get", subresource: "status" }))).toBe(false); // nor pods pods/status
    expect(rbac.allowed(id, attrs({ verb: "create", resource: "events", apiGroup: "events.k8s.io" }))).toBe(true);
    expect(rbac.allowed(id, attrs({ verb: "create", resource: "events", apiGroup: "" }))).toBe(false);
  });

  test("defaults, resets, system:masters and self reviews", () => {
    const rbac = new Rbac();
    expect(rbac.allowed(id, attrs({ verb: "delete" }))).toBe(true);
    rbac.set("u", []);
    expect(rbac.allowed(id, attrs({ verb: "get" }))).toBe(false);
    expect(rbac.allowed(id, attrs({ verb: "create", apiGroup: "authorization.k8s.io", resource: "selfsubjectaccessreviews", namespace: "" }))).toBe(true);
    expect(rbac.allowed({ user: "u", groups: ["system:masters"] }, attrs({ verb: "delete" }))).toBe(true);
    rbac.reset("u");
    expect(rbac.allowed(id, attrs({ verb: "get" }))).toBe(true);
  });

  test("forbidden messages as the real server words them", () => {
    expect(forbiddenReason(id, attrs({ verb: "patch", name: "x" }))).toBe('User "u" cannot patch resource "pods" in API group "" in the namespace "ns"');
    expect(forbiddenReason(id, attrs({ verb: "list", namespace: "" }))).toBe('User "u" cannot list resource "pods" in API group "" at the cluster scope');
    expect(forbiddenReason(id, attrs({ verb: "patch", subresource: "status" }))).toContain('resource "pods/status"');
    expect(errors.forbidden({ group: "", resource: "pods" }, "x", "why").message).toBe('pods "x" is forbidden: why');
    expect(errors.forbidden({ group: "events.k8s.io", resource: "events" }, "", "why")).toMatchObject({
      message: "events.events.k8s.io is forbidden: why",
      details: { group: "events.k8s.io", kind: "events" },
    });
  });

  test("bearer tokens", () => {
    const tokens = new Map([["t0k", { user: "sa", groups: ["g"] }]]);
    expect(identityFromToken("Bearer t0k", tokens)).toEqual({ user: "sa", groups: ["g", "system:authenticated"] });
    expect(identityFromToken("Bearer nope", tokens)).toBeUndefined();
    expect(identityFromToken("Basic t0k", tokens)).toBeUndefined();
    expect(identityFromToken(undefined, tokens)).toBeUndefined();
  });
});

describe("protobuf SelfSubjectAccessReview", () => {
  test("round trip through the k8s envelope", () => {
    const bytes = encodeSelfSubjectAccessReview({ namespace: "ns", verb: "patch", resource: "pods", subresource: "status" });
    const env = decodeEnvelope(bytes);
    expect(env.apiVersion).toBe("authorization.k8s.io/v1");
    expect(env.kind).toBe("SelfSubjectAccessReview");
    expect(decodeSelfSubjectAccessReview(env.raw).spec).toEqual({ resourceAttributes: { namespace: "ns", verb: "patch", resource: "pods", subresource: "status" } });
  });

  test("rejects bodies without the magic prefix or truncated", () => {
    expect(() => decodeEnvelope(new TextEncoder().encode('{"kind":"x"}'))).toThrow("k8s");
    const bytes = encodeSelfSubjectAccessReview({ verb: "get" });
    expect(() => decodeEnvelope(bytes.subarray(0, bytes.length - 10))).toThrow("truncated");
  });
});

describe("server-side printing helpers", () => {
  test.each([
    [0, "0s"],
    [59_000, "59s"],
    [119_000, "119s"],
    [150_000, "2m30s"],
    [600_000, "10m"],
    [3 * 3600_000, "3h"],
    [3 * 3600_000 + 25 * 60_000, "3h25m"],
    [30 * 3600_000, "30h"],
    [50 * 3600_000, "2d2h"],
    [10 * 86400_000, "10d"],
    [800 * 86400_000, "2y70d"],
    [-5000, "<invalid>"],
  ])("humanDuration(%p) = %p", (ms, s) => {
    expect(humanDuration(ms)).toBe(s);
  });

  test("wantsTable recognizes kubectl's Accept header only", () => {
    expect(wantsTable("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")).toBe(true);
    expect(wantsTable("application/json")).toBe(false);
    expect(wantsTable(undefined)).toBe(false);
  });
});

describe("resources", () => {
  test("events.k8s.io/v1 <-> stored core/v1 event", () => {
    const wire = {
      metadata: { name: "e" },
      regarding: { kind: "Pod", name: "p" },
      note: "n",
      reportingController: "c",
      reportingInstance: "i",
      deprecatedCount: 0,
      eventTime: "2025-01-02T03:04:05.000001Z",
    };
    const stored = eventsV1.canonical!(eventsV1.fromWire!(wire));
    expect(stored).toMatchObject({ involvedObject: { kind: "Pod", name: "p" }, message: "n", reportingComponent: "c", reportingInstance: "i", source: {}, firstTimestamp: null });
    expect(stored).not.toHaveProperty("note");
    const back = eventsV1.toWire!(stored);
    expect(back).toMatchObject({ regarding: { kind: "Pod", name: "p" }, note: "n", reportingController: "c", deprecatedSource: {}, deprecatedFirstTimestamp: null });
    expect(back).not.toHaveProperty("deprecatedCount");
    expect(back).not.toHaveProperty("involvedObject");
  });

  test("QoS class as the API server computes it", () => {
    const pod = (resources: object[]) => ({ spec: { containers: resources.map((r, i) => ({ name: `c${i}`, resources: r })) } });
    expect(podQosClass(pod([{}]))).toBe("BestEffort");
    expect(podQosClass(pod([{ limits: { cpu: "1", memory: "1Gi" } }]))).toBe("Guaranteed");
    expect(podQosClass(pod([{ limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "1Gi" } }]))).toBe("Burstable");
    expect(podQosClass(pod([{ limits: { cpu: "1", memory: "1Gi" } }, {}]))).toBe("Burstable");
  });

  test("create defaults leave given values alone", () => {
    const p: Record<string, any> = { spec: { restartPolicy: "Never", containers: [{ name: "a", image: "x:1" }] }, status: { phase: "Running" } };
    defaultPod(p);
    expect(p.spec).toMatchObject({ restartPolicy: "Never", dnsPolicy: "ClusterFirst", schedulerName: "default-scheduler", terminationGracePeriodSeconds: 30 });
    expect(p.spec.containers[0]).toMatchObject({ imagePullPolicy: "IfNotPresent", terminationMessagePath: "/dev/termination-log" });
    expect(p.status).toEqual({ phase: "Running", qosClass: "BestEffort" });
  });
});

describe("store", () => {
  const obj = (name: string, ns = "a") => ({ metadata: { name, namespace: ns } });

  test("every write takes the next resourceVersion; lists are in key order", () => {
    const s = new Store({ startResourceVersion: 100 });
    const b = s.create("pods", obj("b"));
    const a = s.create("pods", obj("a"));
    s.create("pods", obj("c", "z"));
    expect([b.metadata.resourceVersion, a.metadata.resourceVersion]).toEqual(["101", "102"]);
    expect(s.list("pods").map((o) => o.metadata.name)).toEqual(["a", "b", "c"]);
    expect(s.list("pods", "z").map((o) => o.metadata.name)).toEqual(["c"]);
    const gone = s.delete("pods", "a", "a")!;
    expect(gone.metadata.resourceVersion).toBe("104"); // a delete is a write too
    expect(s.get("pods", "a", "a")).toBeUndefined();
  });

  test("history replays changes after a resourceVersion, per storage", () => {
    const s = new Store({ startResourceVersion: 0 });
    const p = s.create("pods", obj("p"));
    s.create("events", obj("e"));
    s.update("pods", { ...p, spec: { x: 1 } }, p);
    const since = s.since("pods", 1) as Change[];
    expect(since.map((c) => [c.type, c.rv])).toEqual([["MODIFIED", 3]]);
    expect(since[0]!.prev!.metadata.resourceVersion).toBe("1");
  });

  test("the history window and compact() expire older resourceVersions", () => {
    const s = new Store({ startResourceVersion: 0, historySize: 2 });
    for (const n of ["a", "b", "c"]) s.create("pods", obj(n));
    expect(s.since("pods", 0)).toEqual({ expired: "too old resource version: 0 (1)" });
    expect((s.since("pods", 1) as Change[]).length).toBe(2);
    s.compact();
    expect(s.since("pods", 2)).toEqual({ expired: "too old resource version: 2 (3)" });
    expect(s.since("pods", 3)).toEqual([]);
  });

  test("watchers of a storage hear its changes", () => {
    const s = new Store();
    const heard: string[] = [];
    s.watchers.add({ storage: "pods", onChange: (c) => heard.push(`${c.type} ${c.obj.metadata.name}`), expire() {}, bookmark() {}, close() {} });
    s.create("pods", obj("p"));
    s.create("events", obj("e"));
    s.delete("pods", "a", "p");
    expect(heard).toEqual(["ADDED p", "DELETED p"]);
  });
});
