import { describe, expect, test } from "bun:test";
import { CriError, type CriCalls } from "../../../src/cri/client.ts";
import type { CriContainer, CriSandbox } from "../../../src/cri/messages.ts";
import { containerNames, sandboxNames } from "../../../src/cri/names.ts";
import { CriNames, type CallOutcome } from "../../../src/cri/resolver.ts";
import type { CgroupIdentity } from "../../../src/types.ts";

const UID = "1b0c2f4e-8d2a-4c71-9e57-0a1b2c3d4e5f";
const CID = "a".repeat(64);
const SID = "b".repeat(64);

const sandbox = (over: Partial<CriSandbox> = {}): CriSandbox => ({
  id: SID,
  name: "web-0",
  uid: UID,
  namespace: "prod",
  ready: true,
  labels: { app: "web", "io.kubernetes.pod.name": "web-0", "io.kubernetes.pod.namespace": "prod", "io.kubernetes.pod.uid": UID },
  ...over,
});
const container = (over: Partial<CriContainer> = {}): CriContainer => ({
  id: CID,
  sandboxId: SID,
  name: "app",
  attempt: 0,
  image: "registry.example/app:1",
  state: "running",
  createdAt: 1n,
  startedAt: 1_763_700_000_123_456_789n,
  labels: { "io.kubernetes.pod.name": "web-0", "io.kubernetes.pod.namespace": "prod", "io.kubernetes.pod.uid": UID, "io.kubernetes.container.name": "app" },
  ...over,
});
const identity = (cid: string | null = CID, uid = UID): CgroupIdentity => ({
  workload: "kubernetes",
  pod: { uid, qos: "burstable", namespace: null, name: null },
  container: cid ? { id: cid, runtime: null, name: null } : null,
  sandbox: null,
  unit: null,
  level: cid ? "container" : "pod",
});

/** A runtime whose answers the test sets; `fail` makes every call fail that way. */
class FakeRuntime implements CriCalls {
  containers: CriContainer[] = [];
  sandboxes: CriSandbox[] = [];
  fail: CriError | null = null;
  calls: string[] = [];
  private async answer<T>(call: string, v: () => T): Promise<T> {
    this.calls.push(call);
    await Bun.sleep(1);
    if (this.fail) throw this.fail;
    return v();
  }
  version = () => this.answer("Version", () => ({ name: "fake", version: "1" }));
  containerStatus = (id: string) => this.answer("ContainerStatus", () => this.containers.find((c) => c.id === id) ?? null);
  podSandboxStatus = (id: string) => this.answer("PodSandboxStatus", () => this.sandboxes.find((s) => s.id === id) ?? null);
  listContainers = () => this.answer("ListContainers", () => this.containers);
  listPodSandbox = (_d: number, labels?: Record<string, string>) =>
    this.answer("ListPodSandbox", () => this.sandboxes.filter((s) => !labels || Object.entries(labels).every(([k, v]) => s.labels[k] === v)));
  close() {}
}

function setup(opts: { connect?: () => CriCalls | null } = {}) {
  const rt = new FakeRuntime();
  let now = 1_000_000;
  const outcomes: [string, CallOutcome][] = [];
  const refused: string[] = [];
  const warnings: string[] = [];
  const names = new CriNames({
    connect: opts.connect ?? (() => rt),
    resyncMs: 10_000,
    keepMs: 60_000,
    now: () => now,
    onCall: (call, outcome) => outcomes.push([call, outcome]),
    onRefused: (r) => refused.push(r),
    log: { info: () => {}, warn: (m) => warnings.push(m), debug: () => {} },
  });
  return { rt, names, outcomes, refused, warnings, advance: (ms: number) => (now += ms) };
}

describe("names from the runtime's labels", () => {
  test("kubelet's labels name pod and container; pod labels come from the sandbox without kubelet's own", () => {
    expect(containerNames(container(), sandbox())).toEqual({
      source: "cri",
      pod: { uid: UID, namespace: "prod", name: "web-0", labels: { app: "web" } },
      container: { id: CID, name: "app", image: "registry.example/app:1", startedAt: new Date(1_763_700_000_123) },
    });
    expect(containerNames(container({ startedAt: 0n }), null)).toMatchObject({ container: { startedAt: null } });
  });

  test("a container no kubelet made (no pod labels, no sandbox) is not a pod", () => {
    expect(containerNames(container({ labels: {} }), null)).toBe("not_kubernetes");
  });

  test("names no Kubernetes object can have are refused", () => {
    const bad = (labels: Record<string, string>) => containerNames(container({ labels: { ...container().labels, ...labels } }), null);
    expect(bad({ "io.kubernetes.pod.namespace": "Prod" })).toBe("bad_name");
    expect(bad({ "io.kubernetes.pod.name": "a\nb" })).toBe("bad_name");
    expect(bad({ "io.kubernetes.pod.name": "x".repeat(254) })).toBe("bad_name");
    expect(bad({ "io.kubernetes.container.name": '"}{"forged":1' })).toBe("bad_name");
    expect(bad({ "io.kubernetes.pod.uid": "not-a-uid" })).toBe("bad_name");
  });

  test("a sandbox names its pod, with no container", () => {
    expect(sandboxNames(sandbox())).toEqual({ source: "cri", pod: { uid: UID, namespace: "prod", name: "web-0", labels: { app: "web" } }, container: null });
  });

  test("a sandbox of another pod lends no labels", () => {
    const n = containerNames(container(), sandbox({ uid: "ffffffff-8d2a-4c71-9e57-0a1b2c3d4e5f" }));
    expect(n).toMatchObject({ pod: { uid: UID, labels: {} } });
  });
});

describe("CriNames: the cache and the runtime behind it", () => {
  test("a listing fills the cache: lookup answers without asking", async () => {
    const { rt, names } = setup();
    rt.containers = [container()];
    rt.sandboxes = [sandbox()];
    await names.sync();
    rt.calls = [];
    expect(names.lookup(identity())).toMatchObject({ pod: { name: "web-0", labels: { app: "web" } }, container: { name: "app" } });
    expect(names.lookup(identity(null))).toMatchObject({ pod: { name: "web-0" }, container: null });
    expect(rt.calls).toEqual([]);
  });

  test("a listing asks each running container's status once, for its start time; created ones wait", async () => {
    const { rt, names } = setup();
    rt.sandboxes = [sandbox()];
    // The listing has no start time, ContainerStatus has it.
    const listed = container({ startedAt: 0n });
    const created = container({ id: "c".repeat(64), state: "created", startedAt: 0n });
    rt.containers = [listed, created];
    const status = rt.containerStatus;
    rt.containerStatus = (id: string) => status(id).then((c) => (c && c.id === CID ? { ...c, startedAt: 5_000_000n, sandboxId: null } : c));
    await names.sync();
    await names.sync();
    expect(rt.calls.filter((c) => c === "ContainerStatus")).toHaveLength(1);
    const n = names.lookup(identity())!;
    expect(n.container?.startedAt).toEqual(new Date(5));
    expect(n.pod.labels).toEqual({ app: "web" });
  });

  test("a container known only from a listing: resolve asks for its start time, and falls back to the listing's names", async () => {
    const { rt, names } = setup();
    rt.sandboxes = [sandbox()];
    rt.containers = [container({ startedAt: 0n })];
    // The listing's own status call fails: the cache has names but no start time.
    rt.containerStatus = async () => {
      throw new CriError("ContainerStatus", "deadline", "DEADLINE_EXCEEDED");
    };
    await names.sync();
    expect(names.lookup(identity())).toBeNull();
    // Runtime back: the whole answer.
    rt.containerStatus = async (cid: string) => (cid === CID ? container({ sandboxId: null }) : null);
    expect((await names.resolve(identity(), Date.now() + 1000))?.container?.startedAt).toEqual(new Date(1_763_700_000_123));
  });

  test("the runtime forgot the container or does not answer: the listing's names still go out", async () => {
    for (const status of [async () => null, async () => Promise.reject(new CriError("ContainerStatus", "unavailable", "gone"))]) {
      const { rt, names } = setup();
      rt.sandboxes = [sandbox()];
      rt.containers = [container({ startedAt: 0n, state: "created" })];
      await names.sync();
      rt.containerStatus = status;
      rt.podSandboxStatus = async () => null;
      const n = await names.resolve(identity(), Date.now() + 1000);
      expect(n).toMatchObject({ pod: { name: "web-0", labels: { app: "web" } }, container: { name: "app", startedAt: null } });
    }
  });

  test("a container the runtime no longer lists is kept for keepMs, then dropped", async () => {
    const { rt, names, advance } = setup();
    rt.containers = [container()];
    rt.sandboxes = [sandbox()];
    await names.sync();
    rt.containers = [];
    rt.sandboxes = [];
    await names.sync();
    advance(59_000);
    await names.sync();
    expect(names.lookup(identity())?.pod.name).toBe("web-0");
    advance(1_000);
    await names.sync();
    expect(names.lookup(identity())).toBeNull();
  });

  test("resolve asks ContainerStatus, then finds the pod's sandbox by its UID label for the pod labels", async () => {
    const { rt, names, outcomes } = setup();
    rt.containers = [container({ sandboxId: null })];
    rt.sandboxes = [sandbox()];
    const n = await names.resolve(identity(), Date.now() + 1000);
    expect(n).toMatchObject({ pod: { name: "web-0", labels: { app: "web" } }, container: { id: CID, name: "app" } });
    expect(rt.calls).toEqual(["ContainerStatus", "ListPodSandbox"]);
    expect(outcomes).toEqual([
      ["ContainerStatus", "ok"],
      ["ListPodSandbox", "ok"],
    ]);
  });

  test("killed before the runtime noted its start: asked again until it has the start time, for half the time left", async () => {
    for (const [startsAfter, calls, startedAt] of [
      [2, 3, new Date(1_763_700_000_123)],
      [99, 6, null],
    ] as const) {
      const { rt, names } = setup();
      rt.sandboxes = [sandbox()];
      let asked = 0;
      rt.containerStatus = async () => (++asked > startsAfter ? container() : container({ state: "created", startedAt: 0n }));
      // The fake clock stands still at 1_000_000: one second left gives the first call and five more in its first half.
      const n = await names.resolve(identity(), 1_000_000 + 1000);
      expect(asked).toBe(calls);
      expect(n?.container?.startedAt ?? null).toEqual(startedAt);
      expect(n?.pod.name).toBe("web-0");
    }
  });

  test("the pause container: ContainerStatus says not found, PodSandboxStatus names the pod", async () => {
    const { rt, names, outcomes } = setup();
    rt.sandboxes = [sandbox()];
    expect(await names.resolve(identity(SID), Date.now() + 1000)).toMatchObject({ pod: { name: "web-0" }, container: null });
    expect(outcomes.map(([c, o]) => `${c}:${o}`)).toEqual(["ContainerStatus:not_found", "PodSandboxStatus:ok"]);
  });

  test("kills of one container at once ask the runtime once", async () => {
    const { rt, names } = setup();
    rt.containers = [container()];
    rt.sandboxes = [sandbox()];
    const all = await Promise.all(Array.from({ length: 20 }, () => names.resolve(identity(), Date.now() + 1000)));
    expect(all.every((n) => n?.pod.name === "web-0")).toBe(true);
    expect(rt.calls.filter((c) => c === "ContainerStatus")).toHaveLength(1);
  });

  for (const [reason, text] of [
    ["unavailable", "UNAVAILABLE: connect ENOENT"],
    ["malformed", "unreadable reply: varint runs past the end"],
  ] as const) {
    test(`a runtime whose answer is ${reason}: no names, every call counted, one warning; names come back with good answers`, async () => {
      const { rt, names, outcomes, warnings } = setup();
      rt.containers = [container()];
      rt.fail = new CriError("ContainerStatus", reason, text);
      expect(await names.resolve(identity(), Date.now() + 1000)).toBeNull();
      expect(await names.resolve(identity(), Date.now() + 1000)).toBeNull();
      expect(outcomes).toEqual([
        ["ContainerStatus", reason],
        ["ContainerStatus", reason],
      ]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(text);
      rt.fail = null;
      rt.sandboxes = [sandbox()];
      expect(await names.resolve(identity(), Date.now() + 1000)).toMatchObject({ pod: { name: "web-0" } });
    });
  }

  test("after the runtime was unavailable the next call connects afresh; after a deadline it keeps the connection", async () => {
    const rt = new FakeRuntime();
    rt.containers = [container()];
    rt.sandboxes = [sandbox()];
    let connects = 0;
    const { names } = setup({ connect: () => (connects++, rt) });
    rt.fail = new CriError("ContainerStatus", "deadline", "DEADLINE_EXCEEDED");
    await names.resolve(identity(), Date.now() + 1000);
    expect(connects).toBe(1);
    rt.fail = new CriError("ContainerStatus", "unavailable", "UNAVAILABLE");
    await names.resolve(identity(), Date.now() + 1000);
    rt.fail = null;
    expect(await names.resolve(identity(), Date.now() + 1000)).toMatchObject({ pod: { name: "web-0" } });
    expect(connects).toBe(2);
  });

  test("bad names from the runtime are refused and counted, not reported", async () => {
    const { rt, names, refused } = setup();
    rt.containers = [container({ labels: { ...container().labels, "io.kubernetes.pod.namespace": "NOT A NAMESPACE" } })];
    expect(await names.resolve(identity(), Date.now() + 1000)).toBeNull();
    expect(refused).toContain("bad_name");
  });

  test("no socket yet: no answers, and the socket is looked for again at each listing", async () => {
    const rt = new FakeRuntime();
    rt.containers = [container()];
    rt.sandboxes = [sandbox()];
    let socket = false;
    let asked = 0;
    const { names } = setup({ connect: () => (asked++, socket ? rt : null) });
    expect(await names.resolve(identity(), Date.now() + 1000)).toBeNull();
    await names.sync();
    socket = true;
    await names.sync();
    expect(asked).toBe(3);
    expect(names.lookup(identity())?.pod.name).toBe("web-0");
  });

  test("no socket: kills between listings do not look for it again, one after a resync interval does", async () => {
    let asked = 0;
    const { names, advance } = setup({ connect: () => (asked++, null) });
    for (let i = 0; i < 50; i++) expect(await names.resolve(identity(), Date.now() + 1000)).toBeNull();
    expect(asked).toBe(1);
    advance(10_000);
    await names.resolve(identity(), Date.now() + 1000);
    expect(asked).toBe(2);
  });
});
