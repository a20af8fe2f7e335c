import { describe, expect, test } from "bun:test";
import { DEFAULT_VICTIM_ANNOTATION, parseAnnotation } from "../../../src/config/kube.ts";
import { commandLineNote, specCommandLine } from "../../../src/kube/command-line.ts";
import { conditionPatch, conditionReason, eventBody, killMessage, microTime, nodeMessage, pressureMessage } from "../../../src/kube/messages.ts";
import { deserializeEvent, killKey, planActions, serializeEvent } from "../../../src/kube/plan.ts";
import type { Constraint, OomEvent, PressureEvent } from "../../../src/types.ts";

const UID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const CID = "abfbf277763bf55adb9b99ad366221c157e9800fa175746c5b32a8c6f8850591";

function event(constraint: Constraint = "memcg", over: Partial<OomEvent> = {}): OomEvent {
  return {
    kill: {
      source: "bpftrace",
      probe: "tracepoint",
      kernelTimeNs: 512418896215n,
      victim: { pid: 4042, tid: 4042, comm: 'ja"va\n', memory: { totalVmKb: 78008, anonRssKb: 68200, fileRssKb: 6312, shmemRssKb: 0, pgtablesKb: 196, uid: 1000, oomScoreAdj: 900 } },
      trigger: { pid: 4084, tid: 4084, comm: "sidecar" },
      constraint,
      constraintFrom: "kernel",
      cgroupPath: `/kubepods/burstable/pod${UID}/${CID}`,
      oomCgroupPath: `/kubepods/burstable/pod${UID}`,
      totalPages: 25600,
      decision: "d1",
    },
    identity: { workload: "kubernetes", pod: { uid: UID, qos: "burstable", namespace: "team-a", name: "web-0" }, container: { id: CID, runtime: "containerd", name: "app" }, sandbox: false, unit: null, level: "container" },
    names: { source: "apiserver", pod: { uid: UID, namespace: "team-a", name: "web-0", labels: {} }, container: { id: CID, name: "app", image: null } },
    scope: "pod",
    attribution: "exact",
    node: "worker-1",
    time: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678)),
    ...over,
  };
}

describe("kill messages", () => {
  test("who died, in which container, what kind, who triggered it, the memory facts", () => {
    expect(killMessage(event())).toBe(
      'The kernel OOM killer killed process "ja\\"va\\n" (pid 4042) in container "app" (memcg OOM: the pod\'s limit was reached); ' +
        'the allocation that ran out was by "sidecar" (pid 4084). anon-rss 66.6 MiB, file-rss 6.2 MiB, shmem-rss 0.0 MiB, total-vm 76.2 MiB, oom_score_adj 900.',
    );
  });
  test("each kind says what ran out", () => {
    expect(killMessage(event("global", { scope: "global" }))).toContain("(global OOM: the node ran out of memory)");
    expect(killMessage(event("cpuset"))).toContain("cpuset OOM");
    expect(killMessage(event("mempolicy"))).toContain("NUMA policy");
    expect(killMessage(event("memcg", { scope: "kubepods" }))).toContain("the node allocatable (kubepods) limit");
  });
  test("the node's message names the pod; long names are cut to the API's 1024 characters", () => {
    expect(nodeMessage(event("global"))).toStartWith("pod team-a/web-0: The kernel OOM killer killed");
    const e = event();
    const long = killMessage({ ...e, identity: { ...e.identity!, container: { ...e.identity!.container!, name: "x".repeat(5000) } } });
    expect(long.length).toBe(1024);
    expect(long).toEndWith("...");
  });
  test("a pod Event's message can end with the container's command from the spec, escaped, and stays within 1024 characters", () => {
    const spec = { name: "app", command: ["java", "-jar", "/app.jar"], args: ["--token=$(TOKEN)", "\u001b]0;pwned\u0007"], env: [{ name: "TOKEN", value: "s3cr3t" }] };
    const msg = killMessage(event(), commandLineNote("app", specCommandLine(spec)!));
    expect(msg).toStartWith("The kernel OOM killer killed process");
    expect(msg).toEndWith(
      '. Command of container "app" in the pod spec (not necessarily the killed process; $(VAR) references unexpanded): "java" "-jar" "/app.jar" "--token=$(TOKEN)" "\\u001b]0;pwned\\u0007".',
    );
    expect(msg).not.toContain("s3cr3t");
    expect(msg).not.toMatch(/[\u0000-\u001f]/);
    const e = event();
    const longName = { ...e, identity: { ...e.identity!, container: { ...e.identity!.container!, name: "x".repeat(900) } } };
    expect(killMessage(longName, commandLineNote("app", specCommandLine({ command: ["y".repeat(5000)] })!)).length).toBe(1024);
    expect(killMessage(e, "")).toBe(killMessage(e));
  });
  test("no environment variable ever reaches a message", () => {
    process.env.OOMTRACE_TEST_SECRET = "s3cr3t-value";
    expect(killMessage(event())).not.toContain("s3cr3t-value");
    expect(nodeMessage(event("global"))).not.toContain("s3cr3t-value");
  });
});

describe("Event and condition bodies", () => {
  test("eventTime is a MicroTime with six fractional digits", () => {
    expect(microTime(new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678)))).toBe("2025-01-02T03:04:05.678000Z");
  });
  test("a Pod Event lives in the pod's namespace, a Node Event in default", () => {
    const t = new Date(0);
    const pod = eventBody({ name: "web-0.abc", regarding: { kind: "Pod", namespace: "team-a", name: "web-0", uid: UID }, reason: "ProcessOOMKilled", note: "n", node: "worker-1", time: t });
    expect(pod).toMatchObject({ metadata: { namespace: "team-a" }, type: "Warning", reportingController: "oomtrace", reportingInstance: "oomtrace-worker-1", regarding: { kind: "Pod", namespace: "team-a", uid: UID } });
    const node = eventBody({ name: "worker-1.abc", regarding: { kind: "Node", namespace: "", name: "worker-1", uid: "worker-1" }, reason: "GlobalOOMKill", note: "n", node: "worker-1", time: t });
    expect(node.metadata.namespace).toBe("default");
    expect(node.regarding).toEqual({ apiVersion: "v1", kind: "Node", name: "worker-1", uid: "worker-1" });
  });
  test("condition reasons per kind, and the strategic merge patch", () => {
    expect(["global", "memcg", "cpuset", "mempolicy", "unknown"].map((k) => conditionReason(k as Constraint))).toEqual([
      "GlobalOOMKill",
      "MemcgOOMKill",
      "CpusetOOMKill",
      "MempolicyOOMKill",
      "UnknownOOMKill",
    ]);
    expect(conditionPatch("OOMVictim", "global", "m", new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678)))).toEqual({
      status: { conditions: [{ type: "OOMVictim", status: "True", reason: "GlobalOOMKill", message: "m", lastTransitionTime: "2025-01-02T03:04:05Z", lastProbeTime: null }] },
    });
  });
});

describe("planActions", () => {
  const all = new Set<Constraint>(["global", "memcg", "cpuset", "mempolicy", "unknown"]);
  const cfg = { annotation: parseAnnotation(DEFAULT_VICTIM_ANNOTATION), annotationKinds: new Set<Constraint>(["global"]), condition: "OOMVictim", conditionKinds: new Set<Constraint>(["global"]), events: true, eventKinds: all };
  test("global kill of a known pod: everything, with the Node Event", () => {
    expect(planActions(event("global"), cfg)).toEqual(["annotation", "condition", "pod-event", "node-event"]);
  });
  test("memcg kill with OOM Tracer's defaults: only the Pod Event", () => {
    expect(planActions(event("memcg"), cfg)).toEqual(["pod-event"]);
  });
  test("a pod the API server did not name: no pod actions, a global kill still tells the Node", () => {
    expect(planActions(event("global", { names: null }), cfg)).toEqual(["node-event"]);
    expect(planActions(event("memcg", { names: null }), cfg)).toEqual([]);
  });
  test("switched off: empty annotation, no condition, --no-events", () => {
    expect(planActions(event("global"), { ...cfg, annotation: null, condition: null, events: false })).toEqual([]);
  });
});

describe("kill keys and the stored event", () => {
  test("the key is boot, kernel time and pid; the event survives the round trip", () => {
    const e = event();
    expect(killKey("boot-1", e)).toBe("boot-1:512418896215:4042");
    const back = deserializeEvent(serializeEvent(e));
    expect(back).toEqual(e);
    expect(back.time).toBeInstanceOf(Date);
    expect(typeof back.kill.kernelTimeNs).toBe("bigint");
  });
});

describe("pressureMessage", () => {
  const MiB = 1 << 20;
  const warning = (over: Partial<PressureEvent> = {}): PressureEvent => ({
    time: new Date(Date.UTC(2025, 0, 2, 3, 4, 5)),
    node: "worker-1",
    cgroupPath: `/kubepods/burstable/pod${UID}/${CID}`,
    identity: { workload: "kubernetes", pod: { uid: UID, qos: "burstable", namespace: "team-a", name: "web-0" }, container: { id: CID, runtime: "containerd", name: 'a"p\np' }, sandbox: false, unit: null, level: "container" },
    names: null,
    reasons: ["time_to_oom", "usage"],
    sample: { usageBytes: 180 * MiB, workingSetBytes: 176 * MiB, limitBytes: 192 * MiB, psi: { someAvg10: 20, fullAvg10: 12.34 } },
    estimate: { seconds: 13.4, lowSeconds: 11, highSeconds: 16.2, confidence: 0.823, growthBytesPerSecond: 8 * MiB, samples: 30, spanSeconds: 7.5 },
    ...over,
  });

  test("container, reasons, working set against the limit, growth, expected time with its interval, PSI", () => {
    expect(pressureMessage(warning())).toBe(
      'Container "a\\"p\\np" may be OOM-killed: at its growth it will reach its limit soon; its working set is close to its limit. ' +
        "Working set 176.0 MiB of its 192.0 MiB limit (92%). " +
        "Growing 8.0 MiB/s: the limit is expected in about 13 s (90% interval 11 s to 16 s, confidence 0.82). PSI full avg10 12.3%.",
    );
  });

  test("usage alone, no PSI, no container name: the short id, minutes for long waits", () => {
    const noName = warning({ identity: { ...warning().identity, container: { id: CID, runtime: "containerd", name: null } }, reasons: ["usage"], estimate: null, sample: { ...warning().sample, psi: null } });
    expect(pressureMessage(noName)).toBe(`Container "${CID.slice(0, 12)}" may be OOM-killed: its working set is close to its limit. Working set 176.0 MiB of its 192.0 MiB limit (92%).`);
    const slow = warning({ estimate: { ...warning().estimate!, seconds: 600, lowSeconds: 300, highSeconds: 1200 } });
    expect(pressureMessage(slow)).toContain("about 10 min (90% interval 5 min to 20 min");
  });

  test("at most 1024 characters, whatever the container name", () => {
    const long = warning({ identity: { ...warning().identity, container: { id: CID, runtime: "containerd", name: "x".repeat(5000) } } });
    expect(pressureMessage(long).length).toBe(1024);
  });
});
