// The test API server over HTTPS with a plain client: the behaviours our agent depends on
// that kubectl does not exercise (watch details, patch semantics, events, fault injection).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { apiClient } from "./client.ts";
import { makeCoreEvent, makeEventV1, makePod } from "./fixtures.ts";
import { type ApiServer, startApiServer } from "./server.ts";
import { createPki } from "./tls.ts";

setDefaultTimeout(30_000); // generous for loaded machines; a run takes a few seconds
let srv: ApiServer;
let api: ReturnType<typeof apiClient>;
const MERGE = "application/merge-patch+json";
const SMP = "application/strategic-merge-patch+json";
const JSONPATCH = "application/json-patch+json";

beforeAll(async () => {
  srv = await startApiServer({ bookmarkIntervalMs: 100 });
  api = apiClient(srv);
});
afterAll(() => srv.stop());

const seed = (name: string, namespace = "t", over: Parameters<typeof makePod>[0] = { name }) => srv.state.create(makePod({ ...over, name, namespace }));

describe("authentication and authorization", () => {
  test("no credentials or an unknown token: 401 Status", async () => {
    const r = await apiClient(srv, "bad-token").get("/api/v1/pods");
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 });
    const anon = await fetch(`${srv.url}/version`, { tls: { ca: srv.caPem } });
    expect(anon.status).toBe(401);
  });

  test("a client certificate from another CA is not an identity", async () => {
    const other = createPki();
    const { certPem, keyPem } = other.issueClientCert(srv.state.certUser.user, ["system:masters"]);
    rmSync(other.dir, { recursive: true, force: true });
    const r = await fetch(`${srv.url}/api/v1/pods`, { tls: { ca: srv.caPem, cert: certPem, key: keyPem } });
    expect(r.status).toBe(401);
  });

  test("client certificate and token identities reach the authorizer", async () => {
    const review = { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: { verb: "get", resource: "pods", namespace: "t" } } };
    const byCert = await api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review);
    expect(byCert.status).toBe(201);
    expect(byCert.body.status.reason).toContain(srv.state.certUser.user);
    const byToken = await apiClient(srv, "token").post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review);
    expect(byToken.body.status.reason).toContain("system:serviceaccount:oomtrace:oomtrace");
  });

  test("403 carries the real message and details", async () => {
    seed("locked");
    srv.state.rbac.set(srv.state.tokenUser.user, [{ verbs: ["get"], resources: ["pods"] }]);
    try {
      const r = await apiClient(srv, "token").patch("/api/v1/namespaces/t/pods/locked/status", { status: {} }, MERGE);
      expect(r.status).toBe(403);
      expect(r.body).toEqual({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: 'pods "locked" is forbidden: User "system:serviceaccount:oomtrace:oomtrace" cannot patch resource "pods/status" in API group "" in the namespace "t"',
        reason: "Forbidden",
        details: { name: "locked", kind: "pods" },
        code: 403,
      });
    } finally {
      srv.state.rbac.reset();
    }
  });
});

describe("discovery and negotiation", () => {
  test("aggregated discovery only when asked for, with its content type", async () => {
    const agg = await fetch(`${srv.url}/apis`, {
      tls: { ca: srv.caPem, cert: srv.clientCertPem, key: srv.clientKeyPem },
      headers: { Accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json" },
    });
    expect(agg.headers.get("content-type")).toBe("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
    const body = (await agg.json()) as any;
    expect(body.items.map((g: any) => g.metadata.name)).toEqual(["events.k8s.io", "authorization.k8s.io"]);
    const plain = await api.get("/apis");
    expect(plain.body.kind).toBe("APIGroupList");
    const v1 = await api.get("/api/v1");
    expect(v1.body.resources.map((r: any) => r.name)).toEqual(["pods", "pods/status", "events", "nodes", "nodes/status", "namespaces", "namespaces/status"]);
  });

  test("protobuf-only Accept is 406; a non-JSON body is 415; an unknown path is 404", async () => {
    const r = await fetch(`${srv.url}/api/v1/pods`, {
      tls: { ca: srv.caPem, cert: srv.clientCertPem, key: srv.clientKeyPem },
      headers: { Accept: "application/vnd.kubernetes.protobuf" },
    });
    expect(r.status).toBe(406);
    expect((await api.request("POST", "/api/v1/namespaces/t/pods", "a: b", "application/yaml")).status).toBe(415);
    expect((await api.get("/api/v1/configmaps")).body).toMatchObject({ code: 404, reason: "NotFound", message: "the server could not find the requested resource" });
  });
});

describe("pods: list, get, create, delete", () => {
  test("list: resourceVersion, field and label selectors, items without kind", async () => {
    seed("l-1", "list", { name: "l-1", nodeName: "n1", labels: { app: "a" } });
    seed("l-2", "list", { name: "l-2", nodeName: "n2", labels: { app: "b" } });
    const r = await api.get("/api/v1/namespaces/list/pods?fieldSelector=spec.nodeName%3Dn1");
    expect(r.body.kind).toBe("PodList");
    expect(r.body.metadata.resourceVersion).toBe(String(srv.state.store.rv));
    expect(r.body.items.map((p: any) => p.metadata.name)).toEqual(["l-1"]);
    expect(r.body.items[0]).not.toHaveProperty("kind");
    const byLabel = await api.get(`/api/v1/pods?labelSelector=${encodeURIComponent("app in (b,c)")}`);
    expect(byLabel.body.items.map((p: any) => p.metadata.name)).toEqual(["l-2"]);
    const byName = await api.get("/api/v1/pods?fieldSelector=metadata.name%3Dl-2");
    expect(byName.body.items).toHaveLength(1);
  });

  test("pagination with limit/continue and remainingItemCount", async () => {
    for (const n of ["p-1", "p-2", "p-3"]) seed(n, "page");
    const first = await api.get("/api/v1/namespaces/page/pods?limit=2");
    expect(first.body.items.map((p: any) => p.metadata.name)).toEqual(["p-1", "p-2"]);
    expect(first.body.metadata.remainingItemCount).toBe(1);
    const second = await api.get(`/api/v1/namespaces/page/pods?limit=2&continue=${encodeURIComponent(first.body.metadata.continue)}`);
    expect(second.body.items.map((p: any) => p.metadata.name)).toEqual(["p-3"]);
    expect(second.body.metadata.continue).toBeUndefined();
    expect(second.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
  });

  test("create fills server fields; 409 on a duplicate; 422 without containers; generateName", async () => {
    const pod = makePod({ name: "c-1", namespace: "crt" });
    const r = await api.post("/api/v1/namespaces/crt/pods", pod);
    expect(r.status).toBe(201);
    expect(r.body.metadata).toMatchObject({ uid: pod.metadata.uid, namespace: "crt" });
    expect(r.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(r.body.status.qosClass).toBe("Burstable");
    const dup = await api.post("/api/v1/namespaces/crt/pods", pod);
    expect(dup.body).toMatchObject({ code: 409, reason: "AlreadyExists", message: 'pods "c-1" already exists', details: { name: "c-1", kind: "pods" } });
    const bad = await api.post("/api/v1/namespaces/crt/pods", { metadata: { name: "c-2" }, spec: {} });
    expect(bad.body).toMatchObject({ code: 422, reason: "Invalid", message: 'Pod "c-2" is invalid: spec.containers: Required value' });
    const gen = await api.post("/api/v1/namespaces/crt/pods", { metadata: { generateName: "gen-" }, spec: { containers: [{ name: "a", image: "b" }] } });
    expect(gen.body.metadata.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect((await api.get("/api/v1/namespaces/crt")).body.status.phase).toBe("Active");
    const nsStatus = await api.patch("/api/v1/namespaces/crt/status", { metadata: { labels: { team: "a" } } }, MERGE);
    expect(nsStatus.body.metadata.labels).toEqual({ "kubernetes.io/metadata.name": "crt", team: "a" });
  });

  test("deletecollection honours selectors", async () => {
    seed("dc-1", "dc", { name: "dc-1", nodeName: "n1" });
    seed("dc-2", "dc", { name: "dc-2", nodeName: "n2" });
    const r = await api.delete("/api/v1/namespaces/dc/pods?fieldSelector=spec.nodeName%3Dn1");
    expect(r.body.items.map((p: any) => p.metadata.name)).toEqual(["dc-1"]);
    expect((await api.get("/api/v1/namespaces/dc/pods")).body.items.map((p: any) => p.metadata.name)).toEqual(["dc-2"]);
  });

  test("get and delete: 404 wording, the deleted pod returned", async () => {
    seed("d-1", "del");
    const gone = await api.delete("/api/v1/namespaces/del/pods/d-1");
    expect(gone.status).toBe(200);
    expect(gone.body.kind).toBe("Pod");
    const missing = await api.get("/api/v1/namespaces/del/pods/d-1");
    expect(missing.body).toEqual({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: 'pods "d-1" not found', reason: "NotFound", details: { name: "d-1", kind: "pods" }, code: 404 });
  });
});

describe("PATCH and PUT", () => {
  test("merge, strategic and JSON patches on pods/status; the main resource keeps .status", async () => {
    seed("s-1", "patch");
    const path = "/api/v1/namespaces/patch/pods/s-1";
    const cond = { type: "oomtrace.io/OOMKilled", status: "True", reason: "OOMKilled", lastTransitionTime: "2025-01-01T00:00:00Z" };
    const smp = await api.patch(`${path}/status`, { status: { conditions: [cond] } }, SMP);
    expect(smp.status).toBe(200);
    expect(smp.body.status.conditions.map((c: any) => c.type)).toEqual(["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled", "oomtrace.io/OOMKilled"]);
    const jp = await api.patch(`${path}/status`, [{ op: "replace", path: "/status/phase", value: "Failed" }], JSONPATCH);
    expect(jp.body.status.phase).toBe("Failed");
    const main = await api.patch(path, { metadata: { annotations: { a: "1" } }, status: { phase: "Running" } }, MERGE);
    expect(main.body.metadata.annotations).toEqual({ a: "1" });
    expect(main.body.status.phase).toBe("Failed");
  });

  test("pods/status ignores spec and ownerReferences but, like the real server, applies label changes", async () => {
    seed("s-2", "patch", { name: "s-2", nodeName: "n1", ownerReplicaSet: "rs" });
    const r = await api.patch("/api/v1/namespaces/patch/pods/s-2/status", { spec: { nodeName: "n9" }, metadata: { labels: { l: "v" }, ownerReferences: null } }, MERGE);
    expect(r.body.spec.nodeName).toBe("n1");
    expect(r.body.metadata.ownerReferences).toHaveLength(1);
    expect(r.body.metadata.labels.l).toBe("v");
  });

  test("a patch that changes nothing keeps the resourceVersion and emits no watch event", async () => {
    const pod = seed("noop", "patch");
    const w = await api.watch(`/api/v1/namespaces/patch/pods?watch=1&resourceVersion=${pod.metadata.resourceVersion}`);
    const r = await api.patch("/api/v1/namespaces/patch/pods/noop", { metadata: { labels: pod.metadata.labels } }, MERGE);
    expect(r.body.metadata.resourceVersion).toBe(pod.metadata.resourceVersion);
    await api.patch("/api/v1/namespaces/patch/pods/noop", { metadata: { labels: { changed: "1" } } }, MERGE);
    await w.until((e) => e.length >= 1);
    expect(w.events.map((e) => e.type)).toEqual(["MODIFIED"]);
    expect(w.events[0]!.object.metadata.labels).toEqual({ changed: "1", ...pod.metadata.labels });
    w.close();
  });

  test("optimistic concurrency: a stale resourceVersion in a patch or PUT is 409 Conflict", async () => {
    const pod = seed("occ", "patch");
    await api.patch("/api/v1/namespaces/patch/pods/occ", { metadata: { labels: { x: "1" } } }, MERGE);
    const stale = await api.patch("/api/v1/namespaces/patch/pods/occ", { metadata: { resourceVersion: pod.metadata.resourceVersion, labels: { x: "2" } } }, MERGE);
    expect(stale.body).toMatchObject({
      code: 409,
      reason: "Conflict",
      message: 'Operation cannot be fulfilled on pods "occ": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: "occ", kind: "pods" },
    });
    expect(stale.body).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure" });
    expect(srv.state.get("pods", "patch", "occ")!.metadata.labels.x).toBe("1");
    const put = await api.put("/api/v1/namespaces/patch/pods/occ/status", pod);
    expect(put.body.code).toBe(409);
    const fresh = srv.state.get("pods", "patch", "occ")!;
    fresh.status.phase = "Succeeded";
    const ok = await api.put("/api/v1/namespaces/patch/pods/occ/status", fresh);
    expect(ok.body.status.phase).toBe("Succeeded");
  });

  test("pod spec is immutable (422); other content types are 415", async () => {
    seed("imm", "patch");
    const r = await api.patch("/api/v1/namespaces/patch/pods/imm", { spec: { nodeName: "other" } }, MERGE);
    expect(r.body.code).toBe(422);
    expect(r.body.message).toStartWith('Pod "imm" is invalid: spec: Forbidden: pod updates may not change fields other than');
    const bad = await api.patch("/api/v1/namespaces/patch/pods/imm", "{}", "application/json");
    expect(bad.body).toMatchObject({ code: 415, reason: "UnsupportedMediaType" });
    expect(bad.body.message).toBe(
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json",
    );
  });
});

describe("events", () => {
  const pod = makePod({ name: "ev-pod", namespace: "ev" });

  test("core/v1: create, patch count and lastTimestamp, list; namespace mismatch is 422", async () => {
    const ev = makeCoreEvent(pod);
    const r = await api.post("/api/v1/namespaces/ev/events", ev);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: "Event", apiVersion: "v1", count: 1, eventTime: null, reportingComponent: "" });
    const p = await api.patch(`/api/v1/namespaces/ev/events/${ev.metadata.name}`, { count: 2, lastTimestamp: "2030-01-01T00:00:00.5Z" }, SMP);
    expect(p.body).toMatchObject({ count: 2, lastTimestamp: "2030-01-01T00:00:00Z" });
    const bad = await api.post("/api/v1/namespaces/ev/events", { ...makeCoreEvent(pod), involvedObject: { kind: "Pod", name: "x", namespace: "elsewhere" } });
    expect(bad.body.details.causes).toEqual([{ type: "FieldValueInvalid", message: 'Invalid value: "elsewhere": does not match event.namespace', field: "involvedObject.namespace" }]);
    const list = await api.get("/api/v1/namespaces/ev/events?fieldSelector=involvedObject.name%3Dev-pod,reason%3DOOMKilled");
    expect(list.body.items.map((e: any) => e.metadata.name)).toEqual([ev.metadata.name]);
  });

  test("events.k8s.io/v1: 422 with causes, 400 for a millisecond eventTime, series updates via patch", async () => {
    const ev = makeEventV1(pod);
    const { reportingInstance: _, ...noInstance } = ev;
    const invalid = await api.post("/apis/events.k8s.io/v1/namespaces/ev/events", { ...noInstance, type: "Info" });
    expect(invalid.body).toMatchObject({
      code: 422,
      reason: "Invalid",
      details: {
        group: "events.k8s.io",
        kind: "Event",
        causes: [
          { type: "FieldValueRequired", field: "reportingInstance" },
          { type: "FieldValueInvalid", field: "type" },
        ],
      },
    });
    const millis = await api.post("/apis/events.k8s.io/v1/namespaces/ev/events", { ...ev, eventTime: new Date().toISOString() });
    expect(millis.body).toMatchObject({ code: 400, reason: "BadRequest" });
    const created = await api.post("/apis/events.k8s.io/v1/namespaces/ev/events", ev);
    expect(created.status).toBe(201);
    const path = `/apis/events.k8s.io/v1/namespaces/ev/events/${ev.metadata.name}`;
    const series = await api.patch(path, { series: { count: 2, lastObservedTime: ev.eventTime } }, MERGE);
    expect(series.body.series).toEqual({ count: 2, lastObservedTime: ev.eventTime });
    const immutable = await api.patch(path, { reason: "Changed" }, MERGE);
    expect(immutable.body.message).toBe(`Event.events.k8s.io "${ev.metadata.name}" is invalid: reason: Invalid value: "Changed": field is immutable`);
    const asCore = await api.get(`/api/v1/namespaces/ev/events/${ev.metadata.name}`);
    expect(asCore.body).toMatchObject({ apiVersion: "v1", message: ev.note, involvedObject: ev.regarding, series: { count: 2 } });
    const dup = await api.post("/apis/events.k8s.io/v1/namespaces/ev/events", ev);
    expect(dup.body.message).toBe(`events.events.k8s.io "${ev.metadata.name}" already exists`);
    const del = await api.delete(path);
    expect(del.body).toMatchObject({ kind: "Status", status: "Success", details: { name: ev.metadata.name, group: "events.k8s.io", kind: "events" } });
  });
});

describe("watch", () => {
  test("replays from a resourceVersion, then streams ADDED/MODIFIED/DELETED", async () => {
    const rv = srv.state.store.rv;
    seed("w-1", "watch");
    const w = await api.watch(`/api/v1/namespaces/watch/pods?watch=1&resourceVersion=${rv}`);
    expect(w.status).toBe(200);
    expect(w.response.headers.get("content-type")).toBe("application/json");
    srv.state.modify("pods", "watch", "w-1", (p) => (p.status.phase = "Failed"));
    srv.state.remove("pods", "watch", "w-1");
    await w.until((e) => e.length === 3);
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["ADDED w-1", "MODIFIED w-1", "DELETED w-1"]);
    expect(w.events[0]!.object).toMatchObject({ kind: "Pod", apiVersion: "v1" });
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    w.close();
  });

  test("with a field selector, objects leaving or entering it are DELETED/ADDED", async () => {
    seed("move", "sel", { name: "move", nodeName: "n1" });
    const w = await api.watch(`/api/v1/pods?watch=1&resourceVersion=${srv.state.store.rv}&fieldSelector=spec.nodeName%3Dn1,status.phase%3DRunning`);
    srv.state.modify("pods", "sel", "move", (p) => (p.status.phase = "Failed"));
    srv.state.modify("pods", "sel", "move", (p) => (p.status.phase = "Running"));
    await w.until((e) => e.length === 2);
    expect(w.events.map((e) => e.type)).toEqual(["DELETED", "ADDED"]);
    w.close();
  });

  test("no resourceVersion: synthetic ADDED for what exists; sendInitialEvents ends with the annotated BOOKMARK", async () => {
    seed("i-1", "init");
    seed("i-2", "init");
    const w = await api.watch("/api/v1/namespaces/init/pods?watch=1&timeoutSeconds=1");
    await w.done;
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["ADDED i-1", "ADDED i-2"]);
    const wl = await api.watch("/api/v1/namespaces/init/pods?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan");
    await wl.until((e) => e.length >= 3);
    expect(wl.events.slice(0, 3).map((e) => e.type)).toEqual(["ADDED", "ADDED", "BOOKMARK"]);
    expect(wl.events[2]!.object.metadata.annotations).toEqual({ "k8s.io/initial-events-end": "true" });
    wl.close();
  });

  test("allowWatchBookmarks: periodic BOOKMARKs shaped like the real server's", async () => {
    const w = await api.watch(`/api/v1/namespaces/none/pods?watch=1&resourceVersion=${srv.state.store.rv}&allowWatchBookmarks=true`);
    await w.until((e) => e.length >= 2, 2000);
    expect(w.events[0]).toEqual({
      type: "BOOKMARK",
      object: { kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: String(srv.state.store.rv), creationTimestamp: null }, spec: { containers: null }, status: {} },
    });
    w.close();
    const without = await api.watch(`/api/v1/namespaces/none/pods?watch=1&resourceVersion=${srv.state.store.rv}&timeoutSeconds=1`);
    srv.inject.bookmark();
    await without.done;
    expect(without.events).toEqual([]);
  });

  test("timeoutSeconds ends the stream cleanly", async () => {
    const t0 = Date.now();
    const w = await api.watch(`/api/v1/pods?watch=1&resourceVersion=${srv.state.store.rv}&timeoutSeconds=1`);
    await w.done;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(srv.state.store.watchers.size).toBe(0);
  });

  test("compaction: a too-old resourceVersion gets an ERROR 410 event; open watches can be expired too", async () => {
    const old = srv.state.store.rv;
    seed("c-1", "cmp");
    srv.inject.compact();
    const w = await api.watch(`/api/v1/namespaces/cmp/pods?watch=1&resourceVersion=${old}`);
    await w.done;
    expect(w.status).toBe(200);
    expect(w.events).toEqual([
      {
        type: "ERROR",
        object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `too old resource version: ${old} (${srv.state.store.compactedRv})`, reason: "Expired", code: 410 },
      },
    ]);
    const open = await api.watch(`/api/v1/namespaces/cmp/pods?watch=1&resourceVersion=${srv.state.store.rv}`);
    srv.inject.compact({ expireWatches: true });
    await open.done;
    expect(open.events.map((e) => [e.type, e.object.code])).toEqual([["ERROR", 410]]);
    const closing = await api.watch(`/api/v1/namespaces/cmp/pods?watch=1&resourceVersion=${srv.state.store.rv}`);
    srv.inject.closeWatches();
    await closing.done;
    expect(closing.events).toEqual([]);
  });

  test("a client that hangs up is forgotten", async () => {
    const w = await api.watch(`/api/v1/pods?watch=1&resourceVersion=${srv.state.store.rv}`);
    expect(srv.state.store.watchers.size).toBe(1);
    w.close();
    const end = Date.now() + 2000;
    while (srv.state.store.watchers.size > 0 && Date.now() < end) await Bun.sleep(10);
    expect(srv.state.store.watchers.size).toBe(0);
  });
});

describe("fault injection and request counting", () => {
  test("429 with Retry-After, 500, 503, matched by method and path, then normal answers", async () => {
    srv.inject.next(1, { status: 429, retryAfterSeconds: 3 }, { method: "GET", pathIncludes: "/namespaces/fault/" });
    srv.inject.next(1, { status: 500 }, { pathIncludes: "/namespaces/fault/" });
    srv.inject.next(1, { status: 503 }, { pathIncludes: "/namespaces/fault/" });
    const path = "/api/v1/namespaces/fault/pods";
    const r429 = await api.get(path);
    expect(r429.status).toBe(429);
    expect(r429.headers.get("retry-after")).toBe("3");
    expect(r429.body).toMatchObject({ reason: "TooManyRequests", details: { retryAfterSeconds: 3 } });
    expect((await api.get("/api/v1/namespaces/other/pods")).status).toBe(200); // not matched
    expect((await api.get(path)).body).toMatchObject({ code: 500, reason: "InternalError" });
    expect((await api.get(path)).body).toMatchObject({ code: 503, reason: "ServiceUnavailable" });
    expect((await api.get(path)).status).toBe(200);
    expect(srv.state.requests.get(`GET ${path}`)).toBe(4);
    expect(srv.state.count({ method: "GET", pathIncludes: "/namespaces/fault/" })).toBe(4);
    expect(srv.state.log.filter((l) => l.path === path).map((l) => l.code)).toEqual([429, 500, 503, 200]);
  });

  test("reset destroys the connection", async () => {
    // Two: a client (Bun's fetch, Go's net/http) retries once when a reused keep-alive connection dies.
    srv.inject.next(2, { reset: true }, { pathIncludes: "/reset-me" });
    await expect(api.get("/api/v1/namespaces/reset-me/pods")).rejects.toThrow("ECONNRESET");
    expect(srv.state.log.filter((l) => l.path.includes("/reset-me")).every((l) => l.code === -1)).toBe(true);
    srv.inject.clear();
    expect((await api.get("/api/v1/namespaces/reset-me/pods")).status).toBe(200);
  });

  test("clear() drops pending faults", async () => {
    srv.inject.next(5, { status: 503 });
    srv.inject.clear();
    expect((await api.get("/version")).status).toBe(200);
  });
});
