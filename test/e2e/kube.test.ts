// The compiled binary against the test API server (private CA, client-cert and token auth), with real
// bpftrace and real memcg OOM kills in kubelet-shaped cgroups whose pods exist in that server.
// Every OOM happens inside a child cgroup with a limit: never a global OOM on the host.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePod } from "../apiserver/fixtures.ts";
import { startApiServer, type ApiServer } from "../apiserver/server.ts";
import { AgentProcess, BINARY } from "../helpers/agent.ts";
import { randomHex, TestCgroups } from "../helpers/cgroup.ts";
import { grower, holder, waitForLine } from "../helpers/hog.ts";

const MiB = 1 << 20;
const NODE = "test-node";
const ANNOTATION = "oom-tracer.alpha.kubernetes.io/evict-me";
type Obj = Record<string, any>;

interface KubePod {
  uid: string;
  namespace: string;
  name: string;
  containerId: string;
  containerDir: string;
}

/** What the pods' spec gives their container: a secret in env, referenced from args, and a terminal escape. */
const SECRET = `s3cr3t-${randomHex(8)}`;
const SPEC_COMMAND = { command: ["python3", "-m", "worker"], args: ["--db=$(DB_URL)", "--title=\u001b]0;owned\u0007"], env: [{ name: "DB_URL", value: `postgres://app:${SECRET}@db` }] };
/** That command as the Event shows it with --event-command-line. */
const SHOWN_COMMAND =
  'Command of container "app" in the pod spec (not necessarily the killed process; $(VAR) references unexpanded): "python3" "-m" "worker" "--db=$(DB_URL)" "--title=\\u001b]0;owned\\u0007".';

/** A pod in the API server and its cgroupfs Burstable tree, sharing the uid and the container id. */
function makeKubePod(api: ApiServer, cg: TestCgroups, base: string, name: string, namespace = "shop", inApi = true): KubePod {
  const uid = crypto.randomUUID();
  const containerId = randomHex(64);
  const c = cg.make(`${base}/kubepods/burstable/pod${uid}/${containerId}`, 48 * MiB);
  if (inApi) {
    const pod = makePod({ name, namespace, nodeName: NODE, uid, containers: ["app"] });
    Object.assign(pod.spec.containers[0], SPEC_COMMAND);
    pod.status.containerStatuses[0].containerID = `containerd://${containerId}`;
    api.state.create(pod);
  }
  return { uid, namespace, name, containerId, containerDir: c.dir };
}

async function kill(pod: KubePod): Promise<number> {
  const hog = grower({ cgroupDir: pod.containerDir });
  await hog.exited;
  expect(hog.signalCode).toBe("SIGKILL");
  return hog.pid;
}

/** Events about one object, in the stored (core/v1) shape. */
const eventsFor = (api: ApiServer, uid: string): Obj[] => api.state.store.list("events").filter((e) => e.involvedObject?.uid === uid);

const metric = (text: string, name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);

/** A describe's cgroups, state dir and API server, all removed after it. */
function scene(label: string) {
  const s = { cg: new TestCgroups(), base: `oomtrace-kube-${label}-${randomHex(8)}`, state: mkdtempSync(join(tmpdir(), "oomtrace-state-")), api: undefined as unknown as ApiServer };
  afterAll(async () => {
    await s.api?.stop();
    await s.cg.remove();
    rmSync(s.state, { recursive: true, force: true });
  });
  return s;
}

/** What the agent's pod cache holds, from its metrics. */
async function cacheCounts(agent: AgentProcess): Promise<{ live: number; deleted: number }> {
  const m = await agent.metrics();
  return { live: metric(m, "oomtrace_kube_pods_cached", 'state="live"'), deleted: metric(m, "oomtrace_kube_pods_cached", 'state="deleted"') };
}

/** Waits until the cache holds these counts: the watch delivered what the test changed. */
async function cacheHolds(agent: AgentProcess, want: { live: number; deleted: number }): Promise<void> {
  for (let i = 0; ; i++) {
    const have = await cacheCounts(agent);
    if (have.live === want.live && have.deleted === want.deleted) return;
    if (i > 600) throw new Error(`the agent's pod cache holds ${JSON.stringify(have)}, never ${JSON.stringify(want)}`);
    await Bun.sleep(50);
  }
}

async function until<T>(what: string, probe: () => T | undefined | false | null, agent: AgentProcess, timeoutMs = 30_000): Promise<T> {
  return agent.waitFor(what, () => probe() || undefined, timeoutMs);
}

describe("compiled agent with a client certificate: annotation, condition, Events", () => {
  let agent: AgentProcess;
  let api: ApiServer;
  const sc = scene("actions");
  const { cg, base, state } = sc;

  beforeAll(async () => {
    api = sc.api = await startApiServer();
    agent = new AgentProcess([
      "--kubeconfig", api.kubeconfigPath("cert"),
      "--state-dir", state,
      "--victim-annotation-kinds", "memcg",
      "--victim-condition", "OOMVictim",
      "--victim-condition-kinds", "memcg",
    ]);
    await agent.attached();
    await until("pod cache synced", () => agent.logs.some((l) => String(l.msg).startsWith("pod cache synced")), agent);
  });
  afterAll(async () => {
    await agent?.stop();
  });

  test("a kill names the pod and container, annotates the pod once, sets the condition and writes a Warning Event", async () => {
    const pod = makeKubePod(api, cg, base, "web-1");
    const pid = await kill(pod);
    const e = await agent.waitFor("event", () => agent.eventFor(pid));
    expect(e.pod).toMatchObject({ uid: pod.uid, namespace: "shop", name: "web-1", named_by: "apiserver" });
    expect(e.container).toMatchObject({ id: pod.containerId, name: "app" });

    const stored = await until("annotation", () => api.state.get("pods", "shop", "web-1")?.metadata.annotations?.[ANNOTATION] && api.state.get("pods", "shop", "web-1"), agent);
    expect(stored.metadata.annotations[ANNOTATION]).toBe("yes");
    const cond = await until("condition", () => api.state.get("pods", "shop", "web-1")!.status.conditions.find((c: Obj) => c.type === "OOMVictim"), agent);
    expect(cond).toMatchObject({ status: "True", reason: "MemcgOOMKill" });
    expect(cond.message).toContain(`killed process "tail" (pid ${pid}) in container "app"`);

    const ev = (await until("Event", () => eventsFor(api, pod.uid).length > 0 && eventsFor(api, pod.uid), agent))[0]!;
    expect(ev).toMatchObject({ type: "Warning", reason: "ProcessOOMKilled", action: "OOMKill", reportingComponent: "oomtrace", reportingInstance: `oomtrace-${NODE}` });
    expect(ev.involvedObject).toMatchObject({ kind: "Pod", namespace: "shop", name: "web-1", uid: pod.uid });
    expect(ev.message).toContain(`The kernel OOM killer killed process "tail" (pid ${pid}) in container "app"`);
    expect(ev.message).toContain("memcg OOM: the container's limit was reached");
    expect(ev.message).toMatch(/anon-rss \d+\.\d MiB/);
    // No environment variable ever reaches an Event; without --event-command-line, no command either.
    expect(ev.message).not.toContain(process.env.PATH!);
    expect(ev.message).not.toContain(SECRET);
    expect(ev.message).not.toContain("Command of container");
    expect(ev.message).not.toContain("python3");
    // The annotation cost one request: a merge patch with the cache's resourceVersion, no read of the pod.
    const podRequests = api.state.log.filter((r) => r.path === "/api/v1/namespaces/shop/pods/web-1").map((r) => `${r.method} ${r.code}`);
    expect(podRequests).toEqual(["PATCH 200"]);

    const m = await agent.metrics();
    expect(metric(m, "oomtrace_marked_victims_total", 'stage="marked",reason="annotation_applied"')).toBe(1);
    expect(metric(m, "oomtrace_marked_victims_total", 'stage="marked",reason="condition_applied"')).toBe(1);
    expect(metric(m, "oomtrace_kube_events_total", 'regarding="Pod",outcome="created"')).toBe(1);
  });

  test("repeated kills of one pod: one Event counted into a series, the annotation and condition left as they are", async () => {
    const pod = makeKubePod(api, cg, base, "batch-1");
    await kill(pod);
    await until("first Event", () => eventsFor(api, pod.uid).length === 1, agent);
    const transition = await until("condition", () => api.state.get("pods", "shop", "batch-1")!.status.conditions.find((c: Obj) => c.type === "OOMVictim"), agent);
    const patchesBefore = api.state.log.filter((r) => r.method === "PATCH" && r.path.endsWith("/pods/batch-1")).length;
    for (let i = 0; i < 2; i++) await kill(pod);
    const ev = await until("series of 3", () => eventsFor(api, pod.uid).find((e) => e.series?.count === 3), agent);
    expect(eventsFor(api, pod.uid)).toHaveLength(1);
    expect(ev.series.lastObservedTime).toMatch(/\.\d{6}Z$/);
    await Bun.sleep(500);
    expect(api.state.log.filter((r) => r.method === "PATCH" && r.path.endsWith("/pods/batch-1")).length).toBe(patchesBefore);
    const after = api.state.get("pods", "shop", "batch-1")!.status.conditions.find((c: Obj) => c.type === "OOMVictim");
    expect(after.lastTransitionTime).toBe(transition.lastTransitionTime);
    const m = await agent.metrics();
    expect(metric(m, "oomtrace_marked_victims_total", 'stage="skipped",reason="annotation_exists"')).toBeGreaterThanOrEqual(2);
  });

  test("a pod deleted just before its kill: still named from the cache, gets its Event, is not patched", async () => {
    const before = await cacheCounts(agent);
    const pod = makeKubePod(api, cg, base, "leaving-1");
    await cacheHolds(agent, { live: before.live + 1, deleted: before.deleted });
    api.state.remove("pods", "shop", "leaving-1");
    await cacheHolds(agent, { live: before.live, deleted: before.deleted + 1 });
    const pid = await kill(pod);
    const e = await agent.waitFor("event", () => agent.eventFor(pid));
    expect(e.pod).toMatchObject({ namespace: "shop", name: "leaving-1", named_by: "apiserver" });
    await until("Event", () => eventsFor(api, pod.uid).length === 1, agent);
    expect(api.state.log.filter((r) => r.method === "PATCH" && r.path.includes("/pods/leaving-1"))).toHaveLength(0);
    expect(metric(await agent.metrics(), "oomtrace_marked_victims_total", 'stage="skipped",reason="pod_gone"')).toBe(2);
  });

  test("a pod the cache does not know yet is waited for (--name-wait)", async () => {
    const pod = makeKubePod(api, cg, base, "late-1", "shop", false);
    const hog = grower({ cgroupDir: pod.containerDir });
    await hog.exited;
    const p = makePod({ name: "late-1", namespace: "shop", nodeName: NODE, uid: pod.uid });
    p.status.containerStatuses[0].containerID = `containerd://${pod.containerId}`;
    api.state.create(p);
    const e = await agent.waitFor("event", () => agent.eventFor(hog.pid));
    expect(e.pod).toMatchObject({ name: "late-1", named_by: "apiserver" });
  });

  test("API outage during a kill (503, 429 with Retry-After, resets), then recovery: every action applied exactly once", async () => {
    const before = await cacheCounts(agent);
    const pod = makeKubePod(api, cg, base, "outage-1");
    await cacheHolds(agent, { ...before, live: before.live + 1 });
    api.inject.next(2, { status: 503 }, { pathIncludes: "/pods/outage-1" });
    api.inject.next(1, { status: 429, retryAfterSeconds: 1 }, { pathIncludes: "/pods/outage-1" });
    api.inject.next(2, { reset: true }, { pathIncludes: "/pods/outage-1" });
    api.inject.next(3, { status: 500 }, { method: "POST", pathIncludes: "/namespaces/shop/events" });
    await kill(pod);
    await until("annotation", () => api.state.get("pods", "shop", "outage-1")!.metadata.annotations?.[ANNOTATION], agent, 60_000);
    await until("Event", () => eventsFor(api, pod.uid).length > 0, agent, 60_000);
    await until("condition", () => api.state.get("pods", "shop", "outage-1")!.status.conditions.some((c: Obj) => c.type === "OOMVictim"), agent, 60_000);
    await Bun.sleep(1000);
    const ok = (m: string, suffix: string) => api.state.log.filter((r) => r.method === m && r.path.endsWith(suffix) && r.code === 200).length;
    expect(ok("PATCH", "/pods/outage-1")).toBe(1);
    expect(ok("PATCH", "/pods/outage-1/status")).toBe(1);
    expect(eventsFor(api, pod.uid)).toHaveLength(1);
    expect(api.state.log.some((r) => r.path.includes("/pods/outage-1") && r.code === 429)).toBe(true);
    const m = await agent.metrics();
    expect(metric(m, "oomtrace_kube_api_errors_total", 'verb="patch",resource="pods",code="503"')).toBe(2);
    expect(metric(m, "oomtrace_kube_api_errors_total", 'verb="patch",resource="pods",code="429"')).toBe(1);
    expect(metric(m, "oomtrace_kube_api_errors_total", 'verb="create",resource="events",code="500"')).toBe(3);
  });
});

describe("--event-command-line", () => {
  const sc = scene("cmdline");

  test("the pod's Event ends with the container's command from the spec, labelled, escaped, $(VAR) unexpanded, never env", async () => {
    const api = (sc.api = await startApiServer());
    const agent = new AgentProcess(["--kubeconfig", api.kubeconfigPath("cert"), "--state-dir", sc.state, "--event-command-line"]);
    try {
      await agent.attached();
      await until("pod cache synced", () => agent.logs.some((l) => String(l.msg).startsWith("pod cache synced")), agent);
      expect(agent.logs.filter((l) => String(l.msg).startsWith("--event-command-line: pod Events show the victim container's command"))).toHaveLength(1);
      const pod = makeKubePod(api, sc.cg, sc.base, "cmd-1");
      await cacheHolds(agent, { live: 1, deleted: 0 });
      const pid = await kill(pod);
      const ev = (await until("Event", () => eventsFor(api, pod.uid).length > 0 && eventsFor(api, pod.uid), agent))[0]!;
      expect(ev.message).toStartWith(`The kernel OOM killer killed process "tail" (pid ${pid}) in container "app"`);
      expect(ev.message).toEndWith(` ${SHOWN_COMMAND}`);
      expect(ev.message).not.toContain(SECRET);
      expect(ev.message).not.toMatch(/[\u0000-\u001f\u007f]/);
    } finally {
      await agent.stop();
    }
  });
});

describe("restart: nothing done twice, unfinished work finished, the Event series continued", () => {
  const sc = scene("restart");
  const { cg, base, state } = sc;

  test("stopped while the API server is down, restarted after: the pending Event is written once", async () => {
    const api = (sc.api = await startApiServer());
    const args = ["--kubeconfig", api.kubeconfigPath("token"), "--state-dir", state, "--victim-annotation-kinds", "memcg"];
    const first = new AgentProcess(args);
    const done = makeKubePod(api, cg, base, "done-1");
    const pending = makeKubePod(api, cg, base, "pending-1");
    try {
      await first.attached();
      await until("pod cache synced", () => first.logs.some((l) => String(l.msg).startsWith("pod cache synced")), first);
      await kill(done);
      await until("Event", () => eventsFor(api, done.uid).length === 1, first);
      await until("annotation", () => api.state.get("pods", "shop", "done-1")!.metadata.annotations?.[ANNOTATION], first);
      // The API server goes down for writes about pending-1, and the agent is stopped meanwhile.
      api.inject.next(1000, { status: 503 }, { pathIncludes: "pending-1" });
      api.inject.next(1000, { status: 503 }, { method: "POST", pathIncludes: "/events" });
      const pid = await kill(pending);
      await first.waitFor("event", () => first.eventFor(pid));
      await until("retrying", () => api.state.log.filter((r) => r.code === 503).length >= 2, first);
    } finally {
      expect(await first.stop()).toBe(0);
    }
    expect(eventsFor(api, pending.uid)).toHaveLength(0);
    api.inject.clear();

    const second = new AgentProcess(args);
    try {
      await until("resumed", () => second.logs.some((l) => String(l.msg).startsWith("finishing Kubernetes actions left from before the restart")), second);
      await until("pending Event", () => eventsFor(api, pending.uid).length === 1, second);
      await until("pending annotation", () => api.state.get("pods", "shop", "pending-1")!.metadata.annotations?.[ANNOTATION], second);
      await second.attached();
      // The kill handled before the restart is not acted on again; a new kill there continues its series.
      expect(eventsFor(api, done.uid)).toHaveLength(1);
      await kill(done);
      const ev = await until("series", () => eventsFor(api, done.uid).find((e) => e.series?.count === 2), second);
      expect(eventsFor(api, done.uid)).toHaveLength(1);
      expect(ev.involvedObject.name).toBe("done-1");
      await Bun.sleep(1000);
      expect(eventsFor(api, pending.uid)).toHaveLength(1);
      expect(api.state.log.filter((r) => r.method === "PATCH" && r.path.endsWith("/pods/done-1") && r.code === 200)).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });
});

describe("compiled agent with a token that lacks RBAC rights", () => {
  const sc = scene("rbac");
  const { cg, base, state } = sc;

  test("403: the startup check and the failed write each name the missing permission, once", async () => {
    const api = (sc.api = await startApiServer({
      rbac: { "system:serviceaccount:oomtrace:oomtrace": [{ verbs: ["get", "list", "watch"], resources: ["pods"] }] },
    }));
    const agent = new AgentProcess(["--kubeconfig", api.kubeconfigPath("token"), "--state-dir", state, "--victim-annotation-kinds", "memcg"]);
    try {
      await agent.attached();
      await until("RBAC report", () => agent.logs.some((l) => String(l.msg).includes("may not create events (apiGroup events.k8s.io)")), agent);
      const rbacLines = agent.logs.filter((l) => String(l.msg).startsWith("RBAC:")).map((l) => String(l.msg));
      expect(rbacLines.some((l) => l.includes("may not patch pods cluster-wide"))).toBe(true);
      expect(rbacLines.some((l) => l.includes("may not patch events (apiGroup events.k8s.io)"))).toBe(true);
      expect(rbacLines.some((l) => l.includes("list pods"))).toBe(false);

      const pod = makeKubePod(api, cg, base, "denied-1");
      await cacheHolds(agent, { live: 1, deleted: 0 });
      await kill(pod);
      await kill(pod);
      await until("403 logged", () => agent.logs.some((l) => String(l.msg).startsWith("Kubernetes refused (403): the agent may not patch pods")), agent);
      // The annotation and the Event of each kill fail on their own; both must have settled.
      const settled = (m: string) =>
        metric(m, "oomtrace_marked_victims_total", 'stage="error",reason="annotation_failed"') >= 2 &&
        metric(m, "oomtrace_kube_events_total", 'regarding="Pod",outcome="error"') >= 2;
      for (let i = 0; !settled(await agent.metrics()); i++) {
        if (i > 300) throw new Error("the two kills were not settled");
        await Bun.sleep(100);
      }
      const m = await agent.metrics();
      expect(metric(m, "oomtrace_kube_api_errors_total", 'verb="patch",resource="pods",code="403"')).toBe(2);
      expect(metric(m, "oomtrace_kube_events_total", 'regarding="Pod",outcome="error"')).toBe(2);
      expect(agent.logs.filter((l) => String(l.msg).startsWith("Kubernetes refused (403): the agent may not patch pods"))).toHaveLength(1);
      expect(agent.logs.filter((l) => String(l.msg).startsWith("Kubernetes refused (403): the agent may not create events"))).toHaveLength(1);
      expect(api.state.get("pods", "shop", "denied-1")!.metadata.annotations?.[ANNOTATION]).toBeUndefined();
    } finally {
      await agent.stop();
    }
  });
});

describe("without a reachable cluster", () => {
  const sc = scene("standalone");
  const noKube = { KUBECONFIG: "", KUBERNETES_SERVICE_HOST: "" };

  test("auto with no service account and no kubeconfig: standalone, said once", async () => {
    const agent = new AgentProcess([], noKube);
    try {
      await agent.attached();
      const said = agent.logs.filter((l) => String(l.msg).includes("running standalone"));
      expect(said).toHaveLength(1);
      expect(String(said[0]!.msg)).toContain("no in-cluster service account and no --kubeconfig");
    } finally {
      await agent.stop();
    }
  });

  test("--kubernetes on with nothing to connect to is an error that says what is missing", async () => {
    const agent = new AgentProcess(["--kubernetes", "on"], noKube);
    expect(await agent.exited).not.toBe(0);
    expect(agent.logs.map((l) => String(l.msg)).join("\n")).toContain("--kubernetes on, but there is no in-cluster service account");
  });

  test("an API server that is down: one warning, kills still reported (without names), names once it is back", async () => {
    const api = (sc.api = await startApiServer());
    const kubeconfig = api.kubeconfigPath("cert");
    const pod = makeKubePod(api, sc.cg, sc.base, "early-1");
    api.inject.next(100_000, { reset: true });
    const agent = new AgentProcess(["--kubeconfig", kubeconfig, "--state-dir", sc.state]);
    try {
      await agent.attached();
      const pid = await kill(pod);
      const e = await agent.waitFor("event", () => agent.eventFor(pid));
      expect(e.pod).toMatchObject({ uid: pod.uid, name: null, named_by: null });
      expect(agent.logs.filter((l) => String(l.msg).includes("kills are reported without pod names until the API server answers"))).toHaveLength(1);
      api.inject.clear();
      // The cache's backoff reaches 30 s during the outage (as client-go's reflector): allow for a full round.
      await until("back", () => agent.logs.some((l) => String(l.msg).startsWith("API server answers again")), agent, 100_000);
      const pid2 = await kill(pod);
      const e2 = await agent.waitFor("named event", () => agent.eventFor(pid2));
      expect(e2.pod).toMatchObject({ name: "early-1", named_by: "apiserver" });
    } finally {
      await agent.stop();
    }
  }, 180_000);
});

describe("in-cluster config inside the compiled binary", () => {
  const sc = scene("incluster");

  test("KUBERNETES_SERVICE_HOST/PORT, the mounted service-account token and CA: pods named, Events written as the service account", async () => {
    const api = (sc.api = await startApiServer());
    const sa = mkdtempSync(join(sc.state, "sa-"));
    writeFileSync(join(sa, "token"), api.token);
    writeFileSync(join(sa, "ca.crt"), api.caPem);
    // The agent gets its own mount namespace with a fresh /run holding the service account, as a pod has.
    const mountSa = 'mount -t tmpfs tmpfs /run && d=/run/secrets/kubernetes.io/serviceaccount && mkdir -p $d && cp "$SA"/token "$SA"/ca.crt $d/ && exec "$@"';
    const port = new URL(api.url).port;
    const agent = new AgentProcess(
      ["--state-dir", join(sc.state, "state")],
      { SA: sa, KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: port, KUBECONFIG: "" },
      ["unshare", "-m", "--propagation", "private", "sh", "-c", mountSa, "sh", BINARY],
    );
    try {
      await agent.attached();
      expect(agent.logs.some((l) => String(l.msg).includes(`API server https://127.0.0.1:${port} (in-cluster)`))).toBe(true);
      const pod = makeKubePod(api, sc.cg, sc.base, "incluster-1");
      await until("pod cache synced", () => agent.logs.some((l) => String(l.msg).startsWith("pod cache synced")), agent);
      await cacheHolds(agent, { live: 1, deleted: 0 });
      const pid = await kill(pod);
      const e = await agent.waitFor("event", () => agent.eventFor(pid));
      expect(e.pod).toMatchObject({ name: "incluster-1", named_by: "apiserver" });
      await until("Event", () => eventsFor(api, pod.uid).length === 1, agent);
      const creates = api.state.log.filter((r) => r.method === "POST" && r.path.endsWith("/events"));
      expect(creates.map((r) => r.user)).toEqual([api.state.tokenUser.user]);
    } finally {
      await agent.stop();
    }
  });
});

describe("early warning as a Kubernetes Event", () => {
  const sc = scene("pressure");
  const { cg, base, state } = sc;

  test("a container past --pressure-usage gets one OOMRisk Warning Event on its pod, with the working set and limit", async () => {
    const api = (sc.api = await startApiServer());
    const pod = makeKubePod(api, cg, base, "full-1");
    // 40 of its 48 MiB, held still: over the 50% usage threshold, nothing grows, nothing is killed.
    const hold = holder({ cgroupDir: pod.containerDir, mib: 40 });
    const agent = new AgentProcess([
      "--kubeconfig", api.kubeconfigPath("cert"),
      "--state-dir", state,
      "--pressure-cgroup-root", cg.make(base).dir,
      "--pressure-interval", "250",
      "--pressure-usage", "50",
    ]);
    try {
      await waitForLine(hold, "held");
      await agent.attached();
      const ev = await until("the OOMRisk Event", () => eventsFor(api, pod.uid).find((e) => e.reason === "OOMRisk"), agent);
      expect(ev).toMatchObject({ type: "Warning", reason: "OOMRisk", involvedObject: { kind: "Pod", name: "full-1", namespace: "shop", uid: pod.uid } });
      expect(ev.message).toMatch(/^Container "app" may be OOM-killed: its working set is close to its limit\. Working set \d+\.\d MiB of its 48\.0 MiB limit \(\d+%\)\./);
      // One episode, one Event: later samples over the threshold add nothing.
      await Bun.sleep(2000);
      expect(eventsFor(api, pod.uid)).toHaveLength(1);
    } finally {
      hold.kill("SIGKILL");
      await agent.stop();
    }
  });
});
