// The compiled agent names pods through a real containerd (CRI), with no API server configured.
// Pods and containers are made the way kubelet makes them, through CRI; every OOM is a real memcg
// kill inside a container's memory limit, under the test's own memory cgroup.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentProcess, type NdjsonEvent } from "../helpers/agent.ts";
import { Containerd, containerdMissing, IMAGE } from "../helpers/containerd.ts";
import { Kubelet, type Pod, type Qos } from "../helpers/kubelet.ts";
import { CriClient } from "../../src/cri/client.ts";

const MiB = 1 << 20;
/** Exit code of a process killed by SIGKILL; the agent's event says it was the OOM killer. */
const SIGKILLED = 137;
const HOG = ["/bin/tail", "/dev/zero"];
/** Grows only once the test opens its gate, so the test acts first (stops the runtime, waits for a listing). */
const GATED_HOG = ["/bin/sh", "-c", "while [ ! -e /gate/go ]; do sleep 0.1; done; exec tail /dev/zero"];

class Gate {
  readonly dir = mkdtempSync(join(tmpdir(), "oomtrace-gate-"));
  readonly mounts = [{ host: this.dir, container: "/gate" }];
  open(): void {
    writeFileSync(join(this.dir, "go"), "");
  }
}

describe("compiled agent names pods through a real containerd (CRI), no API server", () => {
  const ctd = new Containerd();
  let kubelet: Kubelet;
  let agent: AgentProcess;
  const agents: AgentProcess[] = [];
  const pods: Pod[] = [];
  const tempDirs: string[] = [];
  const gate = () => {
    const g = new Gate();
    tempDirs.push(g.dir);
    return g;
  };

  const runPod = async (qos: Qos, labels?: Record<string, string>) => {
    const pod = await kubelet.runPod(qos, labels);
    pods.push(pod);
    return pod;
  };
  const startAgent = async (args: string[]) => {
    const a = new AgentProcess(["--cri-endpoint", `unix://${ctd.socket}`, ...args]);
    agents.push(a);
    await a.attached();
    await a.waitFor("the first CRI listing", () => a.logs.some((l) => String(l.msg).startsWith("cri: listed")));
    return a;
  };
  const eventFor = (a: AgentProcess, containerId: string, timeoutMs = 60_000): Promise<NdjsonEvent> =>
    a.waitFor(`event for container ${containerId.slice(0, 12)}`, () => a.events.find((e) => e.container.id === containerId), timeoutMs);
  const suiteStart = Date.now();
  /**
   * The container fields of an event named by CRI: the image, and a start time from this run. Not
   * "before the kill": containerd notes the start after the process runs, and a fast hog can die first.
   */
  const namedContainer = (e: NdjsonEvent, id: string, name: string) => {
    expect(e.container).toEqual({ id, runtime: null, name, image: IMAGE, started_at: expect.any(String) });
    expect(Date.parse(e.container.started_at!)).toBeGreaterThan(suiteStart);
  };
  const unnamed = { runtime: null, name: null, image: null, started_at: null };

  beforeAll(async () => {
    const missing = containerdMissing();
    if (missing) throw new Error(`${missing}: scripts/test.sh installs it`);
    await ctd.start();
    await ctd.importImage();
    kubelet = new Kubelet(ctd.socket);
    agent = await startAgent(["--cri-resync", "1000"]);
  }, 120_000);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await ctd.start().catch(() => {});
    for (const pod of pods) await kubelet?.removePod(pod).catch(() => {});
    kubelet?.close();
    await ctd.remove();
    kubelet?.removeTree();
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  }, 120_000);

  for (const qos of ["burstable", "besteffort", "guaranteed"] as const) {
    test(`${qos} pod: namespace, pod, container, pod UID and container id from CRI alone`, async () => {
      const pod = await runPod(qos, { app: "web" });
      const id = await kubelet.startContainer(pod, "hog", HOG, 32 * MiB);
      expect(await kubelet.exited(id)).toBe(SIGKILLED);
      const e = await eventFor(agent, id);
      expect(e.constraint).toBe("memcg");
      expect(e.scope).toBe("container");
      expect(e.victim.comm).toBe("tail");
      expect(e.cgroup.path).toBe(join(pod.cgroupParent, id));
      namedContainer(e, id, "hog");
      expect(e.pod).toEqual({ uid: pod.uid, qos, namespace: pod.namespace, name: pod.name, named_by: "cri" });
    });
  }

  test("a container restarted right after its kill: the kill keeps the killed container's id and names", async () => {
    const pod = await runPod("burstable");
    const first = await kubelet.startContainer(pod, "hog", HOG, 32 * MiB);
    expect(await kubelet.exited(first)).toBe(SIGKILLED);
    // What kubelet does next: the same container again, attempt 1, new id; it is killed too.
    const second = await kubelet.startContainer(pod, "hog", HOG, 32 * MiB, 1);
    expect(second).not.toBe(first);
    const [e1, e2] = [await eventFor(agent, first), await eventFor(agent, second)];
    for (const [e, id] of [
      [e1, first],
      [e2, second],
    ] as const) {
      expect(e.cgroup.path).toBe(join(pod.cgroupParent, id));
      namedContainer(e, id, "hog");
      expect(e.pod).toMatchObject({ uid: pod.uid, name: pod.name, namespace: pod.namespace, named_by: "cri" });
    }
    // Each kill carries its own container's start, not the other's.
    expect(Date.parse(e2.container.started_at!)).toBeGreaterThan(Date.parse(e1.container.started_at!));
  });

  test("a pod removed right after its kill is still named, from the cache", async () => {
    const pod = await runPod("besteffort");
    const listings = () => agent.logs.filter((l) => String(l.msg).startsWith("cri: listed")).length;
    const before = listings();
    const g = gate();
    const id = await kubelet.startContainer(pod, "worker", GATED_HOG, 32 * MiB, 0, g.mounts);
    // Two listings after the start: the second began after the container existed.
    await agent.waitFor("two CRI listings", () => listings() >= before + 2);
    g.open();
    expect(await kubelet.exited(id)).toBe(SIGKILLED);
    await kubelet.removePod(pod);
    pods.splice(pods.indexOf(pod), 1);
    const probe = new CriClient(ctd.socket);
    expect(await probe.containerStatus(id, Date.now() + 5000)).toBeNull();
    probe.close();
    const e = await eventFor(agent, id);
    namedContainer(e, id, "worker");
    expect(e.pod).toMatchObject({ uid: pod.uid, name: pod.name, namespace: pod.namespace, named_by: "cri" });
  });

  test("--cri-endpoint auto finds the runtime's socket under --host-root, as in a DaemonSet; --selector matches the pod labels CRI gave", async () => {
    // A host root as a DaemonSet mounts it: the host's /proc, /sys and /dev, and the runtime's socket dir.
    const hostRoot = mkdtempSync(join(tmpdir(), "oomtrace-hostroot-"));
    tempDirs.push(hostRoot);
    for (const d of ["proc", "sys", "dev"]) symlinkSync(`/${d}`, join(hostRoot, d));
    mkdirSync(join(hostRoot, "run/containerd"), { recursive: true });
    symlinkSync(ctd.socket, join(hostRoot, "run/containerd/containerd.sock"));
    // The selector matches the pod's own labels, which only the runtime's sandbox can give here.
    const a = new AgentProcess(["--host-root", hostRoot, "--cri-resync", "1000", "--selector", "app=web"]);
    agents.push(a);
    await a.attached();
    await a.waitFor("the socket found", () => a.logs.some((l) => l.msg === `cri: naming pods through the runtime at ${join(hostRoot, "run/containerd/containerd.sock")}`));
    const pod = await runPod("burstable", { app: "web" });
    const id = await kubelet.startContainer(pod, "hog", HOG, 32 * MiB);
    namedContainer(await eventFor(a, id), id, "hog");
  });

  test("the runtime frozen, then stopped, during a kill: the event goes out without names, counted; names come back with the runtime", async () => {
    // Lists only at start, so these containers are unknown to it until it asks.
    const b = await startAgent(["--cri-resync", "3600000", "--name-wait", "2000"]);
    const requests = async (outcome: string) => {
      const m = new RegExp(`^oomtrace_cri_requests_total\\{call="ContainerStatus",outcome="${outcome}"\\} (\\d+)`, "m").exec(await b.metrics());
      return m ? Number(m[1]) : 0;
    };

    // Frozen (SIGSTOP): connections are accepted and never answered; the deadline must let the event go.
    const frozenPod = await runPod("burstable");
    const frozenGate = gate();
    const frozen = await kubelet.startContainer(frozenPod, "hog", GATED_HOG, 32 * MiB, 0, frozenGate.mounts);
    ctd.freeze();
    try {
      frozenGate.open();
      const e = await eventFor(b, frozen);
      expect(e.container).toEqual({ id: frozen, ...unnamed });
      expect(e.pod).toMatchObject({ uid: frozenPod.uid, name: null, namespace: null, named_by: null });
      expect(await requests("deadline")).toBeGreaterThanOrEqual(1);
      expect(b.logs.some((l) => String(l.msg).includes("the container runtime does not answer"))).toBe(true);
    } finally {
      ctd.thaw();
    }

    // Stopped (SIGTERM): the container runs on under its shim and is killed while no runtime listens.
    const downPod = await runPod("burstable");
    const downGate = gate();
    const down = await kubelet.startContainer(downPod, "hog", GATED_HOG, 32 * MiB, 0, downGate.mounts);
    await ctd.stop();
    downGate.open();
    const e = await eventFor(b, down);
    expect(e.container).toEqual({ id: down, ...unnamed });
    expect(e.pod).toMatchObject({ uid: downPod.uid, named_by: null });
    expect(await requests("unavailable")).toBeGreaterThanOrEqual(1);

    // The runtime is back (same state): the next kill is named again.
    await ctd.start();
    const again = await kubelet.startContainer(downPod, "hog", HOG, 32 * MiB, 1);
    const named = await eventFor(b, again);
    expect(named.pod).toMatchObject({ uid: downPod.uid, name: downPod.name, named_by: "cri" });
    namedContainer(named, again, "hog");
  });
});
