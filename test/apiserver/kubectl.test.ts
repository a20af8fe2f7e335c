// Fidelity: the real kubectl, with only a kubeconfig pointing at the test API server,
// must see a Kubernetes API server. Each test names the wire behaviour it proves.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiClient } from "./client.ts";
import { makeEventV1, makePod } from "./fixtures.ts";
import { type ApiServer, type ApiServerOptions, startApiServer } from "./server.ts";

// Debian's kubectl (kubernetes-client 1.32 from the trixie root: `scripts/bpftrace-trixie.sh kubectl`);
// KUBECTL=/path/to/kubectl runs the same tests with another one.
const DEBIAN_KUBECTL = process.env.OOMTRACE_KUBECTL_DEBIAN || null;
const KUBECTL = process.env.KUBECTL || DEBIAN_KUBECTL;
// Each kubectl run is a fresh Go process: fast alone (~80 ms), seconds on a loaded machine.
setDefaultTimeout(60_000);
type User = "cert" | "token" | "bad-token";

function kubectlMinor(): number {
  if (!KUBECTL) return 0;
  const out = Bun.spawnSync([KUBECTL, "version", "--client", "-o", "json"]).stdout.toString();
  return Number(/"minor":\s*"(\d+)/.exec(out)?.[1] ?? 0);
}
const MINOR = kubectlMinor();
// Before server-side field validation (1.25), kubectl create validates with the OpenAPI v2 protobuf schema, which this server does not serve.
const CREATE = MINOR >= 25 ? ["create", "-f", "-"] : ["create", "--validate=false", "-f", "-"];

describe("Debian's kubectl is available for the tests", () => {
  test("scripts/bpftrace-trixie.sh kubectl gave a wrapper (OOMTRACE_KUBECTL_DEBIAN) that runs kubectl 1.32", () => {
    expect(DEBIAN_KUBECTL).not.toBeNull();
    const out = Bun.spawnSync([DEBIAN_KUBECTL!, "version", "--client", "-o", "json"]).stdout.toString();
    expect(JSON.parse(out).clientVersion).toMatchObject({ major: "1", minor: "32" });
  });
});

const home = mkdtempSync(join(tmpdir(), "oomtrace-kubectl-"));

/** Runs kubectl asynchronously (the server lives in this process) with no config but --kubeconfig. */
async function kubectl(server: ApiServer, user: User, args: string[], stdin?: string) {
  const proc = Bun.spawn([KUBECTL!, "--kubeconfig", server.kubeconfigPath(user), "--cache-dir", join(home, "cache"), ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home },
    stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

async function until(pred: () => boolean, what: string, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

describe.skipIf(!KUBECTL)(`kubectl (${KUBECTL}, 1.${MINOR}) against the test API server`, () => {
  let srv: ApiServer;
  const k = (user: User, ...args: string[]) => kubectl(srv, user, args);
  const pods = [
    makePod({ name: "web-1", namespace: "shop", nodeName: "n1" }),
    makePod({ name: "web-2", namespace: "shop", nodeName: "n2" }),
    makePod({ name: "db-1", namespace: "data", nodeName: "n1", qos: "Guaranteed" }),
  ];

  beforeAll(async () => {
    srv = await startApiServer();
    for (const p of pods) srv.state.create(p);
  });
  afterAll(async () => {
    await srv.stop();
    rmSync(home, { recursive: true, force: true });
  });

  test("version: kubectl reads the server's /version", async () => {
    const r = await k("cert", "version", "-o", "json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).serverVersion).toMatchObject({ major: "1", minor: "32", gitVersion: "v1.32.4" });
  });

  test.each<User>(["cert", "token"])("get pods -A as the %s user: discovery, server-side Table printing", async (user) => {
    const r = await k(user, "get", "pods", "-A");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4).join(" "))).toEqual(["data db-1 1/1 Running", "shop web-1 1/1 Running", "shop web-2 1/1 Running"]);
  });

  test("get pods --field-selector spec.nodeName=n1 -o json: only that node's pods", async () => {
    const r = await k("cert", "get", "pods", "-n", "shop", "--field-selector", "spec.nodeName=n1", "-o", "json");
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout);
    expect(list.items.map((p: any) => p.metadata.name)).toEqual(["web-1"]);
    const pod = list.items[0];
    expect(pod).toMatchObject({ kind: "Pod", apiVersion: "v1", spec: { nodeName: "n1" } });
    expect(pod.metadata.uid).toBe(pods[0]!.metadata.uid);
    expect(pod.status.containerStatuses[0].containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    const all = JSON.parse((await k("cert", "get", "pods", "-A", "--field-selector", "spec.nodeName=n1,metadata.name!=web-1", "-o", "json")).stdout);
    expect(all.items.map((p: any) => p.metadata.name)).toEqual(["db-1"]);
    const bad = await k("cert", "get", "pods", "-A", "--field-selector", "spec.bogus=1");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("field label not supported: spec.bogus");
  });

  test("annotate (a merge patch) then read it back; the resourceVersion moves", async () => {
    const before = srv.state.get("pods", "shop", "web-1")!.metadata.resourceVersion;
    const r = await k("cert", "annotate", "pod", "web-1", "-n", "shop", "oomtrace.io/last-oom=2025-01-01T00:00:00Z");
    expect(r.stdout.trim()).toBe("pod/web-1 annotated");
    const back = await k("cert", "get", "pod", "web-1", "-n", "shop", "-o", "jsonpath={.metadata.annotations.oomtrace\\.io/last-oom} {.metadata.resourceVersion}");
    const [value, rv] = back.stdout.split(" ");
    expect(value).toBe("2025-01-01T00:00:00Z");
    expect(Number(rv)).toBeGreaterThan(Number(before));
    expect(srv.state.log.some((l) => l.method === "PATCH" && l.path === "/api/v1/namespaces/shop/pods/web-1" && l.query.includes("fieldManager=kubectl-annotate"))).toBe(true);
  });

  test("annotate --resource-version: a merge patch carrying a stale metadata.resourceVersion is 409 Conflict, a current one applies", async () => {
    const stale = srv.state.get("pods", "shop", "web-2")!.metadata.resourceVersion;
    srv.state.modify("pods", "shop", "web-2", (p) => (p.metadata.labels = { ...p.metadata.labels, moved: "yes" }));
    const refused = await k("cert", "annotate", "pod", "web-2", "-n", "shop", "--resource-version", stale, "example.com/evict=yes");
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      'Error from server (Conflict): Operation cannot be fulfilled on pods "web-2": the object has been modified; please apply your changes to the latest version and try again',
    );
    expect(srv.state.get("pods", "shop", "web-2")!.metadata.annotations?.["example.com/evict"]).toBeUndefined();
    const current = srv.state.get("pods", "shop", "web-2")!.metadata.resourceVersion;
    const ok = await k("cert", "annotate", "pod", "web-2", "-n", "shop", "--resource-version", current, "example.com/evict=yes");
    expect(ok.stdout.trim()).toBe("pod/web-2 annotated");
    expect(srv.state.get("pods", "shop", "web-2")!.metadata.annotations["example.com/evict"]).toBe("yes");
  });

  test("get events after creating one through events.k8s.io/v1; kubectl reads it as core/v1", async () => {
    const api = apiClient(srv);
    const ev = makeEventV1(pods[0]!, { note: "Container app was OOM killed (pid 4242, python3)" });
    const created = await api.post("/apis/events.k8s.io/v1/namespaces/shop/events", ev);
    expect(created.status).toBe(201);
    const r = await k("cert", "get", "events", "-n", "shop");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(r.stdout).toMatch(/Warning\s+OOMKilled\s+pod\/web-1\s+Container app was OOM killed \(pid 4242, python3\)/);
    const json = JSON.parse((await k("cert", "get", "events", "-n", "shop", "-o", "json")).stdout);
    expect(json.items[0]).toMatchObject({
      apiVersion: "v1",
      involvedObject: { kind: "Pod", name: "web-1", uid: pods[0]!.metadata.uid },
      reportingComponent: "oomtrace.io/agent",
      message: ev.note,
      eventTime: ev.eventTime,
      firstTimestamp: null,
    });
  });

  test("create -f an events.k8s.io/v1 Event: MicroTime enforced (400), duplicates 409, missing fields 422", async () => {
    const ev = makeEventV1(pods[1]!, { metadata: { name: "web-2.oom", namespace: "shop" } });
    const ok = await kubectl(srv, "cert", CREATE, JSON.stringify(ev));
    expect(ok.stdout.trim()).toBe("event.events.k8s.io/web-2.oom created");
    const again = await kubectl(srv, "cert", CREATE, JSON.stringify(ev));
    expect(again.stderr).toContain('Error from server (AlreadyExists): error when creating "STDIN": events.events.k8s.io "web-2.oom" already exists');
    const millis = { ...ev, metadata: { name: "web-2.ms", namespace: "shop" }, eventTime: "2025-01-01T00:00:00.123Z" };
    const bad = await kubectl(srv, "cert", CREATE, JSON.stringify(millis));
    expect(bad.stderr).toContain("Error from server (BadRequest)");
    expect(bad.stderr).toContain('parsing time "2025-01-01T00:00:00.123Z" as "2006-01-02T15:04:05.000000Z07:00"');
    const partial: Record<string, unknown> = { ...ev, metadata: { name: "web-2.partial", namespace: "shop" } };
    delete partial.reportingController;
    delete partial.action;
    const missing = await kubectl(srv, "cert", CREATE, JSON.stringify(partial));
    expect(missing.stderr).toContain('The Event "web-2.partial" is invalid:');
    expect(missing.stderr).toContain("reportingController: Required value");
    expect(missing.stderr).toContain("action: Required value");
  });

  test.skipIf(MINOR < 24)("patch --subresource=status --type=merge sets a condition; spec and the main resource are protected", async () => {
    const cond = { type: "oomtrace.io/OOMKilled", status: "True", reason: "OOMKilled", message: "app: python3 (pid 4242)", lastTransitionTime: "2025-01-01T00:00:00Z" };
    const r = await k("cert", "patch", "pod", "web-2", "-n", "shop", "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { conditions: [cond] }, spec: { nodeName: "elsewhere" } }));
    expect(r.stdout.trim()).toBe("pod/web-2 patched");
    const back = JSON.parse((await k("cert", "get", "pod", "web-2", "-n", "shop", "-o", "json")).stdout);
    expect(back.status.conditions).toEqual([cond]); // merge patch replaces the list
    expect(back.spec.nodeName).toBe("n2"); // the status subresource ignores spec
    // Status through the main resource is ignored: the server changes nothing and kubectl says so.
    const main = await k("cert", "patch", "pod", "web-2", "-n", "shop", "--type=merge", "-p", '{"status":{"phase":"Failed"}}');
    expect(main.stdout.trim()).toBe("pod/web-2 patched (no change)");
    // A strategic merge patch (kubectl's default type) merges conditions by type.
    const ready = { type: "Ready", status: "False", reason: "OOMKilled" };
    await k("cert", "patch", "pod", "web-2", "-n", "shop", "--subresource=status", "-p", JSON.stringify({ status: { conditions: [ready] } }));
    const merged = srv.state.get("pods", "shop", "web-2")!.status.conditions;
    expect(merged.map((c: any) => c.type)).toEqual(["oomtrace.io/OOMKilled", "Ready"]);
    expect(merged[1]).toEqual(ready);
    // A JSON patch whose test fails is rejected with 422.
    const jp = await k("cert", "patch", "pod", "web-2", "-n", "shop", "--type=json", "-p", '[{"op":"test","path":"/metadata/name","value":"nope"}]');
    expect(jp.code).toBe(1);
    expect(jp.stderr.trim()).toBe("The request is invalid: the server rejected our request due to an error in our request");
  });

  test("auth can-i answers from the RBAC table (SelfSubjectAccessReview sent as protobuf)", async () => {
    const user = srv.state.tokenUser.user;
    srv.state.rbac.set(user, [
      { verbs: ["get", "list", "watch"], resources: ["pods"] },
      { verbs: ["patch"], resources: ["pods", "pods/status"], namespaces: ["shop"] },
    ]);
    try {
      const yes = await k("token", "auth", "can-i", "patch", "pods", "-n", "shop");
      expect([yes.code, yes.stdout.trim()]).toEqual([0, "yes"]);
      const status = await k("token", "auth", "can-i", "patch", "pods", "--subresource=status", "-n", "shop");
      expect(status.stdout.trim()).toBe("yes");
      const no = await k("token", "auth", "can-i", "patch", "pods", "-n", "data");
      expect([no.code, no.stdout.trim()]).toEqual([1, "no"]);
      const del = await k("token", "auth", "can-i", "delete", "pods", "-n", "shop");
      expect(del.stdout.trim()).toBe("no");
    } finally {
      srv.state.rbac.reset(user);
    }
  });

  test("403 for a user without rights: the real server's Forbidden message", async () => {
    const user = srv.state.tokenUser.user;
    srv.state.rbac.set(user, [{ verbs: ["get", "list"], resources: ["pods"], namespaces: ["shop"] }]);
    try {
      const patch = await k("token", "annotate", "pod", "web-1", "-n", "shop", "x=y");
      expect(patch.code).toBe(1);
      expect(patch.stderr.trim()).toBe(
        `Error from server (Forbidden): pods "web-1" is forbidden: User "${user}" cannot patch resource "pods" in API group "" in the namespace "shop"`,
      );
      const list = await k("token", "get", "pods", "-A");
      expect(list.stderr).toContain(`pods is forbidden: User "${user}" cannot list resource "pods" in API group "" at the cluster scope`);
      expect(list.stderr).toContain("forbidden");
    } finally {
      srv.state.rbac.reset(user);
    }
  });

  test("401 with a bad token", async () => {
    const r = await k("bad-token", "get", "pods", "-n", "shop");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: You must be logged in to the server (Unauthorized)");
  });

  test("get pods --watch sees ADDED then MODIFIED then DELETED", async () => {
    const proc = Bun.spawn(
      [KUBECTL!, "--kubeconfig", srv.kubeconfigPath("cert"), "--cache-dir", join(home, "cache"), "get", "pods", "-n", "live", "--watch-only", "--output-watch-events", "--request-timeout=10s"],
      { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home }, stdout: "pipe", stderr: "pipe" },
    );
    let out = "";
    const pump = (async () => {
      for await (const c of proc.stdout) out += new TextDecoder().decode(c);
    })();
    try {
      await until(() => srv.state.log.some((l) => l.path === "/api/v1/namespaces/live/pods" && /[?&]watch=true/.test(l.query)), "kubectl's watch request");
      const api = apiClient(srv);
      const pod = makePod({ name: "w-1", namespace: "live", nodeName: "n1" });
      expect((await api.post("/api/v1/namespaces/live/pods", pod)).status).toBe(201);
      await api.patch("/api/v1/namespaces/live/pods/w-1", { metadata: { labels: { seen: "yes" } } }, "application/merge-patch+json");
      await api.delete("/api/v1/namespaces/live/pods/w-1");
      await until(() => /DELETED/.test(out), "the DELETED line");
      const events = out
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(/\s+/).slice(0, 2).join(" "));
      expect(events).toEqual(["ADDED w-1", "MODIFIED w-1", "DELETED w-1"]);
    } finally {
      proc.kill();
      await proc.exited;
      await pump;
    }
  });

  test("a watch from a compacted resourceVersion gets 410 Expired inside the stream", async () => {
    const list = JSON.parse((await k("cert", "get", "--raw", "/api/v1/namespaces/shop/pods")).stdout);
    const rv = list.metadata.resourceVersion;
    await k("cert", "label", "pod", "web-1", "-n", "shop", "compacted=yes");
    srv.inject.compact();
    const r = await k("cert", "get", "--raw", `/api/v1/namespaces/shop/pods?watch=1&resourceVersion=${rv}`);
    const event = JSON.parse(r.stdout.trim());
    expect(event).toEqual({
      type: "ERROR",
      object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `too old resource version: ${rv} (${srv.state.store.compactedRv})`, reason: "Expired", code: 410 },
    });
    // A list continuation from before the compaction is a plain 410.
    srv.state.create(makePod({ name: "web-3", namespace: "shop" }));
    const page = JSON.parse((await k("cert", "get", "--raw", "/api/v1/namespaces/shop/pods?limit=1")).stdout);
    srv.state.modify("pods", "shop", "web-3", (p) => (p.metadata.labels.after = "page"));
    srv.inject.compact();
    const cont = await k("cert", "get", "--raw", `/api/v1/namespaces/shop/pods?limit=1&continue=${encodeURIComponent(page.metadata.continue)}`);
    expect(cont.code).toBe(1);
    expect(cont.stderr).toContain("Error from server (Expired): The provided continue parameter is too old");
  });

  test("429 with Retry-After: kubectl retries and succeeds; the server counted both calls", async () => {
    srv.inject.next(1, { status: 429, retryAfterSeconds: 1 }, { method: "GET", pathIncludes: "/namespaces/data/pods" });
    const before = srv.state.count({ method: "GET", pathIncludes: "/namespaces/data/pods" });
    const r = await k("cert", "get", "pods", "-n", "data", "-o", "name");
    expect(r.stdout.trim()).toBe("pod/db-1");
    expect(srv.state.count({ method: "GET", pathIncludes: "/namespaces/data/pods" }) - before).toBe(2);
  });

  describe("a server with legacy discovery and plain 410 answers", () => {
    let legacy: ApiServer;
    const opts: ApiServerOptions = { aggregatedDiscovery: false, expiredWatch: "status" };
    beforeAll(async () => {
      legacy = await startApiServer(opts);
      legacy.state.create(makePod({ name: "solo", namespace: "default" }));
    });
    afterAll(() => legacy.stop());

    test("kubectl falls back to per-group discovery documents", async () => {
      const r = await kubectl(legacy, "cert", ["get", "pods", "-o", "name"]);
      expect(r.stdout.trim()).toBe("pod/solo");
      expect(legacy.state.requests.get("GET /api/v1")).toBe(1);
      expect(legacy.state.requests.get("GET /apis/events.k8s.io/v1")).toBe(1);
    });

    test("a watch from a compacted resourceVersion is a plain 410", async () => {
      const rv = legacy.state.store.rv;
      legacy.state.modify("pods", "default", "solo", (p) => (p.metadata.labels = { moved: "yes" }));
      legacy.inject.compact();
      const r = await kubectl(legacy, "cert", ["get", "--raw", `/api/v1/pods?watch=1&resourceVersion=${rv}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Error from server (Expired): too old resource version: ${rv}`);
    });
  });
});
