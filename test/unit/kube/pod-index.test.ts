import { describe, expect, test } from "bun:test";
import { PodIndex, stripRuntime, summarize } from "../../../src/kube/pod-index.ts";
import { containerIdentity } from "../../helpers/events.ts";

type Obj = Record<string, any>;
const UID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
const ID = (c: string) => c.repeat(64);

function pod(over: Obj = {}): Obj {
  return {
    metadata: { uid: UID, name: "web-1", namespace: "shop", labels: { app: "web" }, annotations: { a: "1" }, ...over.metadata },
    spec: {
      containers: [{ name: "app", image: "registry/app:1" }],
      initContainers: [{ name: "init", image: "registry/init:1" }],
      ephemeralContainers: [{ name: "debug", image: "busybox" }],
    },
    status: {
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [{ name: "app", image: "registry/app:1", containerID: `containerd://${ID("a")}`, lastState: { terminated: { containerID: `containerd://${ID("b")}` } } }],
      initContainerStatuses: [{ name: "init", containerID: `cri-o://${ID("c")}` }],
      ephemeralContainerStatuses: [{ name: "debug", containerID: `docker://${ID("d")}` }],
      ...over.status,
    },
  };
}


describe("stripRuntime", () => {
  test("takes the id out of each runtime's URI", () => {
    expect(stripRuntime(`containerd://${ID("a")}`)).toBe(ID("a"));
    expect(stripRuntime(`cri-o://${ID("b")}`)).toBe(ID("b"));
    expect(stripRuntime(`docker://${ID("c")}`)).toBe(ID("c"));
  });
  test("rejects what is not a runtime id", () => {
    for (const bad of ["", ID("a"), "containerd://", "containerd://XYZ", `containerd://${ID("a")}/../x`, 42, null, undefined]) expect(stripRuntime(bad)).toBeNull();
  });
});

describe("summarize", () => {
  test("indexes containers, init and ephemeral containers, and the previous container of a restart", () => {
    const s = summarize(pod())!;
    expect([...s.containers.keys()].sort()).toEqual([ID("a"), ID("b"), ID("c"), ID("d")]);
    expect(s.containers.get(ID("b"))).toEqual({ name: "app", image: "registry/app:1" });
    expect(s.containers.get(ID("c"))).toEqual({ name: "init", image: "registry/init:1" });
    expect(s.conditions).toEqual({ Ready: "True" });
    expect(s.annotations).toEqual({ a: "1" });
    expect(s.resourceVersion).toBe("");
    expect(summarize(pod({ metadata: { resourceVersion: "4711" } }))!.resourceVersion).toBe("4711");
  });
  test("keeps each container's command and args as shown text, never its env", () => {
    const p = pod();
    p.spec.containers[0] = { name: "app", image: "i", command: ["python3", "-m", "worker"], args: ["--db=$(DB_URL)"], env: [{ name: "DB_URL", value: "postgres://u:hunter2@db" }] };
    p.spec.initContainers[0] = { name: "init", image: "i", args: ["migrate"] };
    p.spec.containers.push({ name: "odd", image: "i", command: "not a list" });
    const s = summarize(p)!;
    expect(s.commands.get("app")).toBe('"python3" "-m" "worker" "--db=$(DB_URL)"');
    expect(s.commands.get("init")).toBe(`(the image's entrypoint) "migrate"`);
    expect(s.commands.get("debug")).toBe("(the image's entrypoint and cmd)");
    expect(s.commands.has("odd")).toBe(false);
    expect(JSON.stringify([...s.commands.values()])).not.toContain("hunter2");
  });
  test("malformed pods are null, odd fields are dropped", () => {
    expect(summarize(null)).toBeNull();
    expect(summarize({ metadata: { name: "x", namespace: "y" } })).toBeNull();
    expect(summarize({ metadata: { uid: "not-a-uid", name: "x", namespace: "y" } })).toBeNull();
    const s = summarize({ metadata: { uid: UID, name: "x", namespace: "y", labels: { ok: "1", bad: 2 } }, status: { containerStatuses: "nope" } })!;
    expect(s.labels).toEqual({ ok: "1" });
    expect(s.containers.size).toBe(0);
  });
});

describe("PodIndex", () => {
  test("looks up by pod uid and by container id, with names, labels and image", () => {
    const ix = new PodIndex();
    expect(ix.upsert(pod())).toBe(true);
    const byUid = ix.lookup(containerIdentity(UID, ID("a")))!;
    expect(byUid).toEqual({
      source: "apiserver",
      pod: { uid: UID, namespace: "shop", name: "web-1", labels: { app: "web" } },
      container: { id: ID("a"), name: "app", image: "registry/app:1" },
    });
    expect(ix.lookup(containerIdentity(null, ID("d")))!.container!.name).toBe("debug");
    expect(ix.lookup(containerIdentity(null, ID("e")))).toBeNull();
    expect(ix.lookup(containerIdentity("11111111-2222-4333-8444-555555555555", null))).toBeNull();
  });

  test("a container id the pod does not list yet names the pod but not the container", () => {
    const ix = new PodIndex();
    ix.upsert(pod());
    expect(ix.lookup(containerIdentity(UID, ID("f")))!.container).toEqual({ id: ID("f"), name: null, image: null });
  });

  test("a deleted pod keeps naming kills for keepGoneMs, then is forgotten", () => {
    const ix = new PodIndex(1000);
    ix.upsert(pod());
    ix.remove(pod(), 5000);
    expect(ix.isGone(UID)).toBe(true);
    ix.expire(5999);
    expect(ix.lookup(containerIdentity(UID, null))?.pod.name).toBe("web-1");
    ix.expire(6000);
    expect(ix.lookup(containerIdentity(UID, null))).toBeNull();
    expect(ix.lookup(containerIdentity(null, ID("a")))).toBeNull();
    expect(ix.size).toBe(0);
  });

  test("a relist marks pods it no longer holds as deleted and counts malformed ones", () => {
    const ix = new PodIndex(1000);
    ix.upsert(pod());
    const other = pod({ metadata: { uid: "11111111-2222-4333-8444-555555555555", name: "db-1" }, status: { containerStatuses: [], initContainerStatuses: [], ephemeralContainerStatuses: [] } });
    expect(ix.replace([other, { metadata: {} }], 100)).toBe(1);
    expect(ix.isGone(UID)).toBe(true);
    expect(ix.isGone("11111111-2222-4333-8444-555555555555")).toBe(false);
  });

  test("a crash-looping pod keeps only its latest replaced containers", () => {
    const ix = new PodIndex();
    const hexId = (i: number) => i.toString(16).padStart(64, "0");
    for (let i = 0; i < 100; i++) ix.upsert(pod({ status: { containerStatuses: [{ name: "app", containerID: `containerd://${hexId(i)}` }], initContainerStatuses: [], ephemeralContainerStatuses: [] } }));
    expect(ix.lookup(containerIdentity(null, hexId(99)))!.container!.name).toBe("app");
    expect(ix.lookup(containerIdentity(null, hexId(83)))!.container!.name).toBe("app");
    expect(ix.lookup(containerIdentity(null, hexId(82)))).toBeNull();
    expect(ix.lookup(containerIdentity(null, ID("a")))).toBeNull();
  });

  test("container ids of replaced containers stay with the pod", () => {
    const ix = new PodIndex();
    ix.upsert(pod());
    ix.upsert(pod({ status: { containerStatuses: [{ name: "app", containerID: `containerd://${ID("9")}` }] } }));
    expect(ix.lookup(containerIdentity(null, ID("a")))!.pod.name).toBe("web-1");
    expect(ix.lookup(containerIdentity(null, ID("9")))!.container!.name).toBe("app");
  });
});
