// The seam types of the pipeline: source → decode → attribute → sinks.
// Kernel facts carry no names beyond what the kernel itself said; attribution adds them.

/** Kind of OOM, from the kernel's `enum oom_constraint` (0 NONE = global, 1 CPUSET, 2 MEMORY_POLICY, 3 MEMCG). */
export type Constraint = "global" | "memcg" | "cpuset" | "mempolicy" | "unknown";

/** Which level of the cgroup tree ran out: the whole node, a kubepods/allocatable level, a pod, a container, or another cgroup. */
export type OomScope = "global" | "kubepods" | "pod" | "container" | "cgroup" | "unknown";

export type SourceName = "bpftrace" | "kmsg";

/** One level of a memory cgroup chain as read in the kernel, leaf first. */
export interface CgroupLevel {
  name: string;
  /** Pages charged, or null when the probe does not read it. */
  usagePages: number | null;
  /** Limit in pages; null when unlimited or unknown. */
  maxPages: number | null;
}

/** Memory facts about a victim, as the kernel reported them (kB). */
export interface VictimMemory {
  totalVmKb: number | null;
  anonRssKb: number | null;
  fileRssKb: number | null;
  shmemRssKb: number | null;
  pgtablesKb: number | null;
  uid: number | null;
  oomScoreAdj: number | null;
}

/** One killed task, as decoded from one source, before any names are resolved. */
export interface KernelKill {
  source: SourceName;
  /** Which probe produced it: tracepoint, kprobe, fentry, user:<file>, or kmsg. */
  probe: string;
  /** CLOCK_MONOTONIC nanoseconds of the kill, from the kernel. */
  kernelTimeNs: bigint;
  victim: { pid: number; tid: number | null; comm: string | null; memory: VictimMemory };
  trigger: { pid: number | null; tid: number | null; comm: string | null };
  constraint: Constraint;
  /** How the constraint was known: the kernel said so, a stack/chain heuristic, or kmsg. */
  constraintFrom: "kernel" | "stack" | "kmsg" | "none";
  /** Victim's memory cgroup path (v1 memory hierarchy or v2), leaf last; null when the kernel did not give it. */
  cgroupPath: string | null;
  /** The memory cgroup that hit its limit (memcg OOMs), when known. */
  oomCgroupPath: string | null;
  /** Size of the OOM domain in pages (memcg max, or RAM+swap), when known. */
  totalPages: number | null;
  /** Links the tasks killed by one OOM decision (memory.oom.group). */
  decision: string;
}

export interface PodRef {
  uid: string | null;
  qos: "guaranteed" | "burstable" | "besteffort" | null;
  namespace: string | null;
  name: string | null;
}

export interface ContainerRef {
  id: string | null;
  runtime: "containerd" | "cri-o" | "docker" | null;
  name: string | null;
}

/** What the victim's cgroup path says about the workload it belongs to. */
export interface CgroupIdentity {
  /** kubernetes: inside kubepods; systemd: a service/scope outside it; docker: a plain docker container; other. */
  workload: "kubernetes" | "systemd" | "docker" | "other";
  pod: PodRef | null;
  container: ContainerRef | null;
  /** True for the pod's sandbox (pause) container, when the runtime path tells. */
  sandbox: boolean | null;
  /** systemd unit name (e.g. nginx.service) when the cgroup is a unit. */
  unit: string | null;
  /** The level this path itself stands for in a kubelet tree. */
  level: "container" | "pod" | "qos" | "kubepods" | "other";
}

/** Names the kernel does not know, from a source outside it: the API server's pod cache or the container runtime (CRI). */
export interface WorkloadNames {
  source: "apiserver" | "cri";
  pod: { uid: string; namespace: string; name: string; labels: Record<string, string> };
  container: { id: string | null; name: string | null; image: string | null; startedAt?: Date | null } | null;
}

/**
 * Names a victim from its cgroup identity. Resolvers are tried in order (API server, then CRI);
 * none of them may throw into the pipeline or hold an event past its deadline.
 */
export interface NameResolver {
  readonly source: WorkloadNames["source"];
  /** From what is already known, without waiting; null when unknown. */
  lookup(id: CgroupIdentity): WorkloadNames | null;
  /** Waits until `deadline` (Date.now() ms) at most for an answer, e.g. a pod not yet in the cache. */
  resolve(id: CgroupIdentity, deadline: number): Promise<WorkloadNames | null>;
}

/** A kill with names attached: what the sinks receive. */
export interface OomEvent {
  kill: KernelKill;
  identity: CgroupIdentity | null;
  /** Pod and container names, when a resolver knew them. */
  names: WorkloadNames | null;
  scope: OomScope;
  /** exact: named from the in-kernel cgroup; unresolved: no cgroup could be had. */
  attribution: "exact" | "unresolved";
  node: string;
  /** Wall-clock time of the kill, converted from the kernel timestamp. */
  time: Date;
}

/** A sink takes events and never throws into the pipeline. */
export interface Sink {
  readonly name: string;
  write(event: OomEvent): void | Promise<void>;
  close?(): void | Promise<void>;
}
