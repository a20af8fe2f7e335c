// `oomtrace doctor`: measures what this node offers, tries each probe for real, and says what to fix.
import { detectFeatures, hostMounts } from "../probe/detect.ts";
import { baseProblems, chooseProbe, PROBE_MODES, type ProbeMode } from "../probe/choose.ts";
import { parseMemoryCgroupMount } from "../probe/features.ts";
import { renderProbe } from "../probe/render.ts";
import { join } from "node:path";
import { type AttachResult, tryAttach } from "./attach.ts";
import { bpftraceCheck, cgroupChecks, kernelCheck, kmsgCheck, markVictimCheck, metricsCheck, type NodeFacts, probeChecks, runtimeCheck, tracefsCheck } from "./checks.ts";
import { type ClusterCheck, type ClusterCheckResult, clusterChecks } from "./cluster.ts";
import { findRuntimeSockets, kmsgReadable, kubeletDriver, listDir, metricsPortFree, RUNTIME_SOCKETS } from "./host.ts";
import { type DoctorReport, report } from "./report.ts";

export interface DoctorOptions {
  node: string;
  hostRoot: string;
  bpftrace: string;
  metricsBindAddress: string;
  /** How long one probe may take to attach (bpftrace compiles it first). */
  attachTimeoutMs: number;
  /** The API server check, when the Kubernetes writers are configured; null: "not configured". */
  cluster: ClusterCheck | null;
}

/** Tries every built-in probe at once, as `run` would load it; none when what they all need is missing. */
async function attachAll(o: DoctorOptions, facts: Awaited<ReturnType<typeof detectFeatures>>) {
  const attach = { fentry: null, kprobe: null, tracepoint: null } as Record<ProbeMode, AttachResult | null>;
  const missing = baseProblems(facts);
  if (missing.length) return { attach, leftOut: { fentry: null, kprobe: null, tracepoint: null }, notTried: missing.join("; ") };
  const choice = chooseProbe(facts);
  const results = await Promise.all(PROBE_MODES.map((m) => tryAttach(o.bpftrace, renderProbe(facts, m), o.attachTimeoutMs)));
  PROBE_MODES.forEach((m, i) => (attach[m] = results[i]!));
  return { attach, leftOut: choice.leftOut, notTried: null };
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const features = await detectFeatures({ hostRoot: o.hostRoot, bpftrace: o.bpftrace });
  const mount = parseMemoryCgroupMount(hostMounts(o.hostRoot));
  const cgroup = mount && { version: mount.version, dir: join(o.hostRoot, mount.dir) };
  let cluster: ClusterCheckResult | null = null;
  let clusterError: string | null = null;
  const [probes, sockets, metrics] = await Promise.all([
    attachAll(o, features),
    findRuntimeSockets(o.hostRoot),
    metricsPortFree(o.metricsBindAddress),
    o.cluster?.().then(
      (r) => void (cluster = r),
      (e: Error) => void (clusterError = e.message),
    ),
  ]);
  const facts: NodeFacts = {
    features,
    bpftracePath: Bun.which(o.bpftrace),
    ...probes,
    cgroup,
    kubeletDriver: cgroup ? kubeletDriver(listDir(cgroup.dir)) : null,
    runtimeSockets: sockets,
    kmsg: kmsgReadable(o.hostRoot),
    metrics: metrics && { address: o.metricsBindAddress, ...metrics },
  };
  const checks = [
    kernelCheck(features),
    tracefsCheck(features),
    markVictimCheck(features),
    bpftraceCheck(features, facts.bpftracePath),
    ...probeChecks(facts),
    ...cgroupChecks(facts),
    runtimeCheck(sockets, RUNTIME_SOCKETS.map((s) => s.path)),
    kmsgCheck(facts.kmsg),
    ...clusterChecks(cluster, clusterError),
    metricsCheck(facts.metrics),
  ];
  return report(o.node, checks, {
    kernel: features.kernelRelease,
    btf: features.btf,
    tracefs: features.tracefs,
    mark_victim_fields: features.markVictimFields,
    bpftrace: { path: facts.bpftracePath ?? o.bpftrace, version: features.bpftrace.version?.join(".") ?? null, fentry: features.bpftrace.fentry },
    probes: Object.fromEntries(PROBE_MODES.map((m) => [m, { attaches: probes.attach[m]?.attached ?? null, ms: probes.attach[m]?.ms ?? null, error: probes.attach[m]?.error ?? null, left_out: probes.leftOut[m] }])),
    cgroup: { version: cgroup?.version ?? null, dir: cgroup?.dir ?? null, memcg_index: features.memcgId, kubelet_driver: facts.kubeletDriver },
    runtime_sockets: sockets,
    kmsg: facts.kmsg.ok,
    apiserver: cluster ?? (clusterError ? { error: clusterError } : null),
    metrics: facts.metrics,
  });
}
