// The client, pod cache, writes and access check against the in-process test API server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makePod } from "../../apiserver/fixtures.ts";
import { startApiServer, type ApiServer } from "../../apiserver/server.ts";
import { accessReport, checkAccess, requiredPermissions } from "../../../src/kube/access.ts";
import { KubeClient, NetworkError } from "../../../src/kube/client.ts";
import { fromKubeconfig } from "../../../src/kube/connection.ts";
import { PodCache } from "../../../src/kube/pod-cache.ts";
import { eventBody, microTime } from "../../../src/kube/messages.ts";
import { annotate, bumpSeries, createEvent, setCondition } from "../../../src/kube/writes.ts";
import type { CgroupIdentity } from "../../../src/types.ts";

type Obj = Record<string, any>;
let api: ApiServer;
const client = (who: "cert" | "token" | "bad-token" = "cert") => new KubeClient(fromKubeconfig(api.kubeconfigPath(who)), { qps: 1000, burst: 1000 });
const ident = (uid: string): CgroupIdentity => ({ workload: "kubernetes", pod: { uid, qos: null, namespace: null, name: null }, container: null, sandbox: null, unit: null, level: "pod" });

beforeAll(async () => {
  api = await startApiServer({ bookmarkIntervalMs: 200 });
});
afterAll(() => api.stop());

async function until(what: string, pred: () => boolean, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

describe("client", () => {
  test("private CA with a client certificate, and a token", async () => {
    expect((await client("cert").request("GET", "/version")).body.gitVersion).toBe("v1.32.4");
    const who = await client("token").request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" });
    expect(api.state.log.at(-1)!.user).toBe("system:serviceaccount:oomtrace:oomtrace");
    expect(who.status).toBeLessThan(500);
    expect((await client("bad-token").request("GET", "/api/v1/pods")).status).toBe(401);
  });

  test("a server whose certificate the CA does not sign is a network error, not an answer", async () => {
    const conn = fromKubeconfig(api.kubeconfigPath("cert"));
    const other = await startApiServer();
    try {
      const c = new KubeClient({ ...conn, tls: { ...conn.tls, ca: other.caPem } }, { qps: 100, burst: 100 });
      await expect(c.request("GET", "/version")).rejects.toBeInstanceOf(NetworkError);
    } finally {
      await other.stop();
    }
  });
});

describe("pod cache", () => {
  test("lists and watches only this node's pods, follows bookmarks, relists after 410, reconnects after an outage", async () => {
    const errors: string[] = [];
    let syncs = 0;
    const cache = new PodCache({ client: client(), node: "n-cache", onError: (_w, e) => errors.push((e as Error).message), onSynced: () => syncs++ });
    const mine = makePod({ name: "a-1", namespace: "ns1", nodeName: "n-cache" });
    const other = makePod({ name: "b-1", namespace: "ns1", nodeName: "elsewhere" });
    api.state.create(mine);
    api.state.create(other);
    cache.start();
    try {
      await until("synced", () => cache.hasSynced);
      expect(cache.lookup(ident(mine.metadata.uid))!.pod.name).toBe("a-1");
      expect(cache.lookup(ident(other.metadata.uid))).toBeNull();

      const watchPath = (r: { path: string; query: string }) => r.path === "/api/v1/pods" && r.query.includes("watch=true");
      await until("watching", () => api.state.log.some(watchPath));
      expect(api.state.log.find(watchPath)!.query).toContain(`fieldSelector=${encodeURIComponent("spec.nodeName=n-cache")}`);
      expect(api.state.log.find(watchPath)!.query).toContain("allowWatchBookmarks=true");

      const late = makePod({ name: "a-2", namespace: "ns2", nodeName: "n-cache" });
      api.state.create(late);
      await until("watched ADDED", () => cache.lookup(ident(late.metadata.uid)) !== null);

      // Expired watch: an ERROR 410 in the stream, then a relist that sees what changed meanwhile.
      api.inject.compact({ expireWatches: true });
      await until("relisted", () => syncs >= 2);
      expect(errors).toEqual([]);

      // Outage: the watch breaks and the next requests fail; the cache comes back by itself.
      api.inject.next(2, { status: 503 }, { pathIncludes: "/api/v1/pods" });
      api.inject.closeWatches();
      const afterOutage = makePod({ name: "a-3", namespace: "ns2", nodeName: "n-cache" });
      api.state.create(afterOutage);
      await until("back after the outage", () => cache.lookup(ident(afterOutage.metadata.uid)) !== null, 20_000);
      expect(errors.some((m) => m.includes("the server is currently unable to handle the request"))).toBe(true);

      api.state.remove("pods", "ns1", "a-1");
      await until("watched DELETED", () => cache.index.isGone(mine.metadata.uid));
      expect(cache.lookup(ident(mine.metadata.uid))!.pod.name).toBe("a-1");
    } finally {
      await cache.stop();
    }
  });

  test("a reconnecting watch resumes from the last bookmark, not from the list", async () => {
    const cache = new PodCache({ client: client(), node: "n-bookmark", onError: () => {} });
    const watchRvs = () =>
      api.state.log.filter((r) => r.query.includes("watch=true") && r.query.includes("n-bookmark")).map((r) => Number(new URLSearchParams(r.query).get("resourceVersion")));
    cache.start();
    try {
      await until("watching", () => watchRvs().length === 1);
      // Changes elsewhere move the resourceVersion; only bookmarks tell this watch about it.
      for (let i = 0; i < 3; i++) api.state.create(makePod({ name: `elsewhere-${i}`, namespace: "ns4", nodeName: "another-node" }));
      const moved = api.state.store.rv;
      api.inject.bookmark();
      // The client's resourceVersion is its own; time to read the bookmark, with room for a loaded machine.
      await Bun.sleep(500);
      api.inject.closeWatches();
      await until("watching again", () => watchRvs().length === 2);
      expect(watchRvs()[1]).toBeGreaterThanOrEqual(moved);
      expect(watchRvs()[0]).toBeLessThan(moved);
      // Resuming is not relisting.
      expect(api.state.log.filter((r) => r.path === "/api/v1/pods" && !r.query.includes("watch=true") && r.query.includes("n-bookmark"))).toHaveLength(1);
    } finally {
      await cache.stop();
    }
  });

  test("resolve waits for a pod that appears before the deadline, and gives up at it", async () => {
    const cache = new PodCache({ client: client(), node: "n-wait", onError: () => {} });
    cache.start();
    try {
      await until("synced", () => cache.hasSynced);
      const p = makePod({ name: "w-1", namespace: "ns1", nodeName: "n-wait" });
      const waiting = cache.resolve(ident(p.metadata.uid), Date.now() + 10_000);
      setTimeout(() => api.state.create(p), 100);
      expect((await waiting)!.pod.name).toBe("w-1");
      expect(await cache.resolve(ident(crypto.randomUUID()), Date.now() + 100)).toBeNull();
    } finally {
      await cache.stop();
    }
  });
});

describe("writes", () => {
  const requests = (name: string) => api.state.log.filter((r) => r.path.endsWith(`/pods/${name}`)).map((r) => `${r.method} ${r.code}`);
  const known = (ns: string, name: string) => {
    const o = api.state.get("pods", ns, name)!;
    return { resourceVersion: o.metadata.resourceVersion, annotations: { ...o.metadata.annotations } };
  };

  test("annotate from the cache: one merge patch with the cached resourceVersion, no read", async () => {
    const p = api.state.create(makePod({ name: "ann-c", namespace: "ns3", nodeName: "n" }));
    const key = { namespace: "ns3", name: "ann-c", uid: p.metadata.uid };
    expect(await annotate(client(), key, "example.com/evict", "yes", known("ns3", "ann-c"))).toBe("applied");
    expect(requests("ann-c")).toEqual(["PATCH 200"]);
    expect(api.state.get("pods", "ns3", "ann-c")!.metadata.annotations["example.com/evict"]).toBe("yes");
    // The cache already shows the key: nothing is sent.
    expect(await annotate(client(), key, "example.com/evict", "other", known("ns3", "ann-c"))).toBe("exists");
    expect(requests("ann-c")).toEqual(["PATCH 200"]);
  });

  test("annotate with a stale cache: 409, then read and patch again; only if absent stays exact", async () => {
    const p = api.state.create(makePod({ name: "ann-s", namespace: "ns3", nodeName: "n" }));
    const key = { namespace: "ns3", name: "ann-s", uid: p.metadata.uid };
    const stale = known("ns3", "ann-s");
    api.state.modify("pods", "ns3", "ann-s", (o: Obj) => (o.metadata.labels = { ...o.metadata.labels, touched: "yes" }));
    expect(await annotate(client(), key, "example.com/evict", "yes", stale)).toBe("applied");
    expect(requests("ann-s")).toEqual(["PATCH 409", "GET 200", "PATCH 200"]);
    // Someone else set the key after the cache saw the pod: the stale patch is refused, the read shows the key, it is left as it is.
    const before = known("ns3", "ann-s");
    api.state.modify("pods", "ns3", "ann-s", (o: Obj) => (o.metadata.annotations = { ...o.metadata.annotations, "example.com/other": "theirs" }));
    expect(await annotate(client(), key, "example.com/other", "ours", before)).toBe("exists");
    expect(api.state.get("pods", "ns3", "ann-s")!.metadata.annotations["example.com/other"]).toBe("theirs");
    expect(requests("ann-s").slice(3)).toEqual(["PATCH 409", "GET 200"]);
  });

  test("annotate with nothing cached: read, then patch; a change in between is read again; a re-created pod is gone", async () => {
    const p = api.state.create(makePod({ name: "ann-1", namespace: "ns3", nodeName: "n" }));
    const key = { namespace: "ns3", name: "ann-1", uid: p.metadata.uid };
    // A controller changes the pod between our read and our patch: the resourceVersion precondition fails with 409.
    let changed = false;
    const c = client();
    const orig = c.request.bind(c);
    c.request = async (method, path, body, type) => {
      if (method === "PATCH" && !changed) {
        changed = true;
        api.state.modify("pods", "ns3", "ann-1", (o: Obj) => (o.metadata.labels = { ...o.metadata.labels, touched: "yes" }));
      }
      return orig(method, path, body, type);
    };
    expect(await annotate(c, key, "example.com/evict", "yes", null)).toBe("applied");
    expect(requests("ann-1")).toEqual(["GET 200", "PATCH 409", "GET 200", "PATCH 200"]);
    expect(api.state.get("pods", "ns3", "ann-1")!.metadata.annotations["example.com/evict"]).toBe("yes");
    // A cache entry without a resourceVersion is no precondition: the pod is read.
    expect(await annotate(client(), key, "example.com/evict", "other", { resourceVersion: "", annotations: {} })).toBe("exists");
    const stale = known("ns3", "ann-1");
    api.state.remove("pods", "ns3", "ann-1");
    api.state.create(makePod({ name: "ann-1", namespace: "ns3", nodeName: "n" }));
    expect(await annotate(client(), key, "example.com/evict2", "yes", stale)).toBe("gone");
    expect(await annotate(client(), key, "example.com/evict2", "yes", null)).toBe("gone");
    expect(api.state.get("pods", "ns3", "ann-1")!.metadata.annotations?.["example.com/evict2"]).toBeUndefined();
    expect(await annotate(client(), { ...key, name: "never" }, "k", "v", null)).toBe("gone");
  });

  test("setCondition goes through pods/status and never onto a re-created pod", async () => {
    const p = api.state.create(makePod({ name: "cond-1", namespace: "ns3", nodeName: "n" }));
    const key = { namespace: "ns3", name: "cond-1", uid: p.metadata.uid };
    const patch = { status: { conditions: [{ type: "OOMVictim", status: "True", reason: "GlobalOOMKill", message: "m", lastTransitionTime: "2025-01-01T00:00:00Z", lastProbeTime: null }] } };
    expect(await setCondition(client(), key, patch)).toBe("applied");
    expect(api.state.log.at(-1)!.path).toBe("/api/v1/namespaces/ns3/pods/cond-1/status");
    const conds = api.state.get("pods", "ns3", "cond-1")!.status.conditions;
    expect(conds.find((c: Obj) => c.type === "OOMVictim")).toMatchObject({ status: "True", reason: "GlobalOOMKill" });
    expect(conds.some((c: Obj) => c.type === "Ready")).toBe(true);
    api.state.remove("pods", "ns3", "cond-1");
    api.state.create(makePod({ name: "cond-1", namespace: "ns3", nodeName: "n" }));
    expect(await setCondition(client(), key, patch)).toBe("gone");
  });
});

describe("Events", () => {
  test("Pod and Node Events pass the server's validation; a repeated create is not a second Event; a series counts on", async () => {
    const p = api.state.create(makePod({ name: "ev-1", namespace: "ns5", nodeName: "n" }));
    const t = new Date();
    const podEvent = eventBody({ name: "ev-1.aaaa", regarding: { kind: "Pod", namespace: "ns5", name: "ev-1", uid: p.metadata.uid }, reason: "ProcessOOMKilled", note: "n", node: "n", time: t });
    const nodeEvent = eventBody({ name: "n.bbbb", regarding: { kind: "Node", namespace: "", name: "n", uid: "n" }, reason: "GlobalOOMKill", note: "n", node: "n", time: t });
    await createEvent(client(), podEvent);
    await createEvent(client(), nodeEvent);
    await createEvent(client(), podEvent); // our retry after a lost answer: 409, taken as done
    expect(api.state.store.list("events").filter((e) => e.metadata.name === "ev-1.aaaa")).toHaveLength(1);
    expect(api.state.get("events", "default", "n.bbbb", "events.k8s.io/v1")).toMatchObject({ reason: "GlobalOOMKill", regarding: { kind: "Node", name: "n" } });
    expect(await bumpSeries(client(), { namespace: "ns5", name: "ev-1.aaaa", count: 2 }, microTime(new Date()))).toBe(true);
    expect(api.state.get("events", "ns5", "ev-1.aaaa", "events.k8s.io/v1")!.series.count).toBe(2);
    expect(await bumpSeries(client(), { namespace: "ns5", name: "expired.cccc", count: 2 }, microTime(new Date()))).toBe(false);
  });
});

describe("access check", () => {
  test("names exactly what is missing, only for the options in use", async () => {
    const user = api.state.tokenUser.user;
    api.state.rbac.set(user, [{ verbs: ["get", "list", "watch", "patch"], resources: ["pods"] }]);
    try {
      const perms = requiredPermissions({ annotation: { key: "k", value: "v" }, condition: "OOMVictim", events: true });
      const r = await checkAccess(client("token"), perms);
      expect(r.unchecked).toEqual([]);
      expect(accessReport(r).map((l) => l.replace(/, needed.*/, ""))).toEqual([
        "RBAC: the agent may not patch pods/status cluster-wide",
        "RBAC: the agent may not create events (apiGroup events.k8s.io) cluster-wide",
        "RBAC: the agent may not patch events (apiGroup events.k8s.io) cluster-wide",
      ]);
      const observeOnly = requiredPermissions({ annotation: null, condition: null, events: false });
      expect(observeOnly.map((p) => p.verb)).toEqual(["list", "watch"]);
      expect((await checkAccess(client("token"), observeOnly)).missing).toEqual([]);
    } finally {
      api.state.rbac.reset(user);
    }
  });
});
