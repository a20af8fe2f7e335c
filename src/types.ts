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
  container: { id: string | null; name: string | null; image: string | null } | null;
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
  /** The early warning this container had when it was killed (same pod UID and container id), if any. */
  warning?: PressureEvent | null;
}

/** Why a container is under memory pressure; each reason has its own threshold flag. */
export type PressureReason = "time_to_oom" | "usage" | "psi";

/** One reading of a container's memory cgroup. */
export interface MemorySample {
  /** Charged bytes (v1 memory.usage_in_bytes, v2 memory.current). */
  usageBytes: number;
  /** usage minus inactive file pages, which the kernel reclaims before it OOMs (kubelet's working set). */
  workingSetBytes: number;
  limitBytes: number;
  /** memory.pressure avg10 percentages, where the kernel has per-cgroup PSI; null otherwise. */
  psi: { someAvg10: number; fullAvg10: number } | null;
}

/** When the container's working set reaches its limit at the growth seen, and how sure that is. */
export interface TimeToOom {
  seconds: number;
  /** The 90% interval of `seconds`, from the uncertainty of the growth rate. */
  lowSeconds: number;
  highSeconds: number;
  /** 0..1: the smaller of the rate's precision (1 − its 90% half-width / rate) and the growth's steadiness across the window. */
  confidence: number;
  growthBytesPerSecond: number;
  /** Samples the fit used, and the time they span. */
  samples: number;
  spanSeconds: number;
}

/** A container crossing a pressure threshold: the early warning, before any kill. */
export interface PressureEvent {
  /** Wall-clock time of the sample that crossed. */
  time: Date;
  node: string;
  cgroupPath: string;
  identity: CgroupIdentity;
  names: WorkloadNames | null;
  reasons: PressureReason[];
  sample: MemorySample;
  /** Null when no steady growth is seen (a warning for usage or PSI alone). */
  estimate: TimeToOom | null;
}

/** A sink takes events and never throws into the pipeline. */
export interface Sink {
  readonly name: string;
  write(event: OomEvent): void | Promise<void>;
  /** Early warnings; sinks without it ignore them. */
  pressure?(event: PressureEvent): void | Promise<void>;
  close?(): void | Promise<void>;
}
