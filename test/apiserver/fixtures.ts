// Objects shaped like the ones a real cluster returns (what kubelet and the scheduler fill in),
// for seeding the test API server.

type Obj = Record<string, any>;

const hex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
/** A container runtime id: 64 hex digits. */
export const containerId = () => hex(32);
const time = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

export interface PodSpecInput {
  name: string;
  namespace?: string;
  nodeName?: string;
  uid?: string;
  labels?: Record<string, string>;
  /** Container names; each gets a running status with a containerd id. */
  containers?: string[];
  /** "Guaranteed" | "Burstable" | "BestEffort" via the resources given. Default Burstable. */
  qos?: "Guaranteed" | "Burstable" | "BestEffort";
  phase?: string;
  /** The owning ReplicaSet's name, if any. */
  ownerReplicaSet?: string;
}

export function makePod(p: PodSpecInput): Obj {
  const names = p.containers ?? ["app"];
  const started = time(new Date(Date.now() - 60_000));
  const resources =
    p.qos === "BestEffort"
      ? {}
      : p.qos === "Guaranteed"
        ? { limits: { cpu: "100m", memory: "128Mi" }, requests: { cpu: "100m", memory: "128Mi" } }
        : { limits: { memory: "256Mi" }, requests: { cpu: "50m", memory: "64Mi" } };
  const ip = `10.244.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
  const cond = (type: string) => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: started });
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: p.name,
      namespace: p.namespace ?? "default",
      uid: p.uid ?? crypto.randomUUID(),
      labels: p.labels ?? { app: p.name.replace(/-[a-z0-9]+$/, "") },
      ...(p.ownerReplicaSet
        ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: p.ownerReplicaSet, uid: crypto.randomUUID(), controller: true, blockOwnerDeletion: true }] }
        : {}),
    },
    spec: {
      nodeName: p.nodeName ?? "node-1",
      serviceAccountName: "default",
      containers: names.map((name) => ({ name, image: `registry.example/${name}:1.0`, resources })),
      tolerations: [
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      ],
    },
    status: {
      phase: p.phase ?? "Running",
      hostIP: "192.168.1.10",
      hostIPs: [{ ip: "192.168.1.10" }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: started,
      conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map(cond),
      containerStatuses: names.map((name) => ({
        name,
        containerID: `containerd://${containerId()}`,
        image: `registry.example/${name}:1.0`,
        imageID: `registry.example/${name}@sha256:${hex(32)}`,
        ready: true,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: started } },
        lastState: {},
      })),
    },
  };
}

/** A MicroTime string: exactly six fractional digits. */
export function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export function makeEventV1(pod: Obj, over: Obj = {}): Obj {
  return {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    metadata: { name: `${pod.metadata.name}.${hex(8)}`, namespace: pod.metadata.namespace },
    eventTime: microTime(),
    reportingController: "oomtrace.io/agent",
    reportingInstance: `oomtrace-${pod.spec.nodeName}`,
    action: "Killed",
    reason: "OOMKilled",
    type: "Warning",
    note: `Container ${pod.spec.containers[0].name} was OOM killed`,
    regarding: { apiVersion: "v1", kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    ...over,
  };
}

export function makeCoreEvent(pod: Obj, over: Obj = {}): Obj {
  const now = time();
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${pod.metadata.name}.${hex(8)}`, namespace: pod.metadata.namespace },
    involvedObject: { apiVersion: "v1", kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    reason: "OOMKilled",
    message: `Container ${pod.spec.containers[0].name} was OOM killed`,
    type: "Warning",
    source: { component: "oomtrace", host: pod.spec.nodeName },
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    ...over,
  };
}
