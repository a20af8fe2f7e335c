// What the runtime's answers say about a workload, read from the labels kubelet sets (pure).
// The runtime repeats what kubelet (or anything else with the socket) told it: names that no
// Kubernetes object could have are refused rather than reported.
import type { WorkloadNames } from "../types.ts";
import type { CriContainer, CriSandbox } from "./messages.ts";

export const KUBELET_LABELS = {
  podName: "io.kubernetes.pod.name",
  podNamespace: "io.kubernetes.pod.namespace",
  podUid: "io.kubernetes.pod.uid",
  containerName: "io.kubernetes.container.name",
} as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** API server UIDs are UUIDs; static pods have a 32-hex hash. */
const POD_UID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;

export type Refusal = "not_kubernetes" | "bad_name";

type Pod = WorkloadNames["pod"];

/** The pod a sandbox stands for; its labels are the pod's own plus the three kubelet adds, which are dropped. */
function podOf(s: CriSandbox | null, labels: Record<string, string>): Pod | Refusal {
  const uid = labels[KUBELET_LABELS.podUid] ?? s?.uid ?? "";
  const namespace = labels[KUBELET_LABELS.podNamespace] ?? s?.namespace ?? "";
  const name = labels[KUBELET_LABELS.podName] ?? s?.name ?? "";
  if (!uid && !name) return "not_kubernetes";
  if (!POD_UID.test(uid) || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) return "bad_name";
  const podLabels: Record<string, string> = {};
  if (s && s.uid === uid) {
    for (const [k, v] of Object.entries(s.labels)) {
      if (k !== KUBELET_LABELS.podName && k !== KUBELET_LABELS.podNamespace && k !== KUBELET_LABELS.podUid) podLabels[k] = v;
    }
  }
  return { uid, namespace, name, labels: podLabels };
}

/** Names of an app container; `sandbox` (when known) adds the pod's labels. */
export function containerNames(c: CriContainer, sandbox: CriSandbox | null): WorkloadNames | Refusal {
  const pod = podOf(sandbox, c.labels);
  if (typeof pod === "string") return pod;
  const name = c.labels[KUBELET_LABELS.containerName] ?? c.name;
  if (!DNS_LABEL.test(name)) return "bad_name";
  const startedAt = c.startedAt > 0n ? new Date(Number(c.startedAt / 1_000_000n)) : null;
  return { source: "cri", pod, container: { id: c.id, name, image: c.image || null, startedAt } };
}

/** Names of a pod from its sandbox alone: for the pause container, or a kill in the pod's own cgroup. */
export function sandboxNames(s: CriSandbox): WorkloadNames | Refusal {
  const pod = podOf(s, s.labels);
  if (typeof pod === "string") return pod;
  return { source: "cri", pod, container: null };
}
