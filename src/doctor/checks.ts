// From what was measured on the node to one check each, with what to do about it (pure).
import type { ProbeMode } from "../probe/choose.ts";
import type { KernelFeatures } from "../probe/features.ts";
import { MEMORY_FIELDS } from "../probe/render.ts";
import type { AttachResult } from "./attach.ts";
import type { SocketFound } from "./host.ts";
import type { Check } from "./report.ts";

export interface NodeFacts {
  features: KernelFeatures;
  /** Where bpftrace was found on PATH, or null. */
  bpftracePath: string | null;
  /** Per probe mode: the attach attempt, or null when it was not tried (see `notTried`). */
  attach: Record<ProbeMode, AttachResult | null>;
  /** Why no attach was tried: what every probe needs is missing. */
  notTried: string | null;
  /** Why the agent's probe choice leaves each mode out (null: it would use it). */
  leftOut: Record<ProbeMode, string | null>;
  cgroup: { version: "v1" | "v2"; dir: string } | null;
  kubeletDriver: "systemd" | "cgroupfs" | "both" | null;
  runtimeSockets: SocketFound[];
  kmsg: { ok: boolean; error: string | null };
  /** null: metrics are off. */
  metrics: { address: string; free: boolean; error: string | null } | null;
}


const ok = (id: string, title: string, detail: string): Check => ({ id, title, status: "ok", detail, fix: null });
const bad = (status: "warn" | "fail", id: string, title: string, detail: string, fix: string): Check => ({ id, title, status, detail, fix });

export function kernelCheck(f: KernelFeatures): Check {
  if (!f.btf) {
    return bad("fail", "kernel", "kernel", `${f.kernelRelease} without BTF (/sys/kernel/btf/vmlinux is missing)`, "use a kernel built with CONFIG_DEBUG_INFO_BTF=y: the probe reads task and cgroup structs through BTF");
  }
  if (f.bpftrace.version && !f.pageCounterMax) {
    return bad("fail", "kernel", "kernel", `${f.kernelRelease}: BTF has no max or limit field in struct page_counter`, "report this kernel to oomtrace: the OOM cgroup cannot be read");
  }
  return ok("kernel", "kernel", `${f.kernelRelease}, BTF at /sys/kernel/btf/vmlinux`);
}

export function tracefsCheck(f: KernelFeatures): Check {
  if (f.tracefs) return ok("tracefs", "tracefs", `mounted at ${f.tracefs}`);
  return bad("fail", "tracefs", "tracefs", "not mounted (neither /sys/kernel/tracing nor /sys/kernel/debug/tracing has events)", "mount -t tracefs nodev /sys/kernel/tracing; in a container, mount the host's /sys/kernel/tracing too");
}

export function markVictimCheck(f: KernelFeatures): Check {
  const title = "mark_victim";
  if (!f.tracefs) return { id: "mark_victim", title, status: "skip", detail: "not checked: tracefs is not mounted", fix: null };
  const fields = f.markVictimFields;
  if (fields === null) return bad("fail", "mark_victim", title, "tracepoint oom:mark_victim is missing", "use a kernel with CONFIG_TRACEPOINTS (every distribution kernel has it)");
  if (!MEMORY_FIELDS.every((x) => fields.includes(x))) {
    return bad("warn", "mark_victim", title, `fields: ${fields.join(" ")}: no memory facts`, "RSS at kill comes only from kmsg here; kernels from about 6.9 (or with the backport) give it in the tracepoint");
  }
  return ok("mark_victim", title, `fields: ${fields.join(" ")}`);
}

export function bpftraceCheck(f: KernelFeatures, path: string | null): Check {
  const v = f.bpftrace.version;
  if (!v) {
    return bad("fail", "bpftrace", "bpftrace", `${JSON.stringify(f.bpftrace.path)} did not run`, "install it (apt-get install bpftrace) or pass --bpftrace PATH");
  }
  return ok("bpftrace", "bpftrace", `v${v.join(".")} at ${path ?? f.bpftrace.path}${f.bpftrace.fentry ? ", with fentry support" : ""}`);
}

const WHAT_IS_LOST = "the tracepoint probe still sees every kill; the kind of OOM comes from the kernel stack instead of oom_control";

export function probeChecks(facts: Pick<NodeFacts, "attach" | "notTried" | "leftOut">): Check[] {
  return (["tracepoint", "kprobe", "fentry"] as const).map((mode) => {
    const id = `probe.${mode}`;
    const title = `probe ${mode}`;
    const base = mode === "tracepoint";
    const r = facts.attach[mode];
    if (!r) {
      return base
        ? bad("fail", id, title, `not tried: ${facts.notTried}`, "fix the problems above; no probe can run until then")
        : { id, title, status: "skip", detail: "not tried: no probe can run here yet (see probe tracepoint)", fix: null };
    }
    const secs = `${(r.ms / 1000).toFixed(1)} s`;
    const leftOut = facts.leftOut[mode];
    if (r.attached) {
      // The agent's detection and the kernel disagree: worth a report, the agent would not use this mode.
      if (leftOut) return bad("warn", id, title, `attaches (${secs}), but the agent's detection says ${leftOut}`, "run --probe-mode will refuse it; please report this kernel to oomtrace");
      return ok(id, title, `attaches (${secs})`);
    }
    const why = `does not attach: ${r.error}${leftOut ? `; as expected: ${leftOut}` : ""}`;
    return base
      ? bad("fail", id, title, why, "oomtrace runs on /dev/kmsg alone until this is fixed: kills lose their cgroup once the kernel rate-limits its report")
      : bad("warn", id, title, why, WHAT_IS_LOST);
  });
}

export function cgroupChecks(facts: Pick<NodeFacts, "features" | "cgroup" | "kubeletDriver">): Check[] {
  const c = facts.cgroup;
  const memcg = facts.features.memcgId;
  const version =
    c && memcg !== null
      ? ok("cgroup", "cgroup", `${c.version}, memory controller at ${c.dir} (subsys index ${memcg})`)
      : bad("fail", "cgroup", "cgroup", c ? `${c.version} at ${c.dir}, but no memory controller in /proc/cgroups` : "no cgroup hierarchy with the memory controller is mounted", "enable the memory controller (cgroup_enable=memory) and mount the cgroup hierarchy");
  if (!c) return [version];
  const d = facts.kubeletDriver;
  const driver =
    d === "systemd" || d === "cgroupfs"
      ? ok("cgroup.driver", "cgroup driver", `${d} (kubelet's ${d === "systemd" ? "kubepods.slice" : "kubepods"} under ${c.dir})`)
      : d === "both"
        ? bad("warn", "cgroup.driver", "cgroup driver", `both kubepods and kubepods.slice under ${c.dir}`, "a kubelet changed drivers without a reboot: the old tree may hold stale pods")
        : bad("warn", "cgroup.driver", "cgroup driver", `no kubelet tree (kubepods or kubepods.slice) under ${c.dir}`, "not a Kubernetes node yet, or kubelet uses another cgroup root: kills are reported, but not tied to pods");
  return [version, driver];
}

export function runtimeCheck(found: readonly SocketFound[], searched: readonly string[]): Check {
  const answering = found.filter((s) => s.answers);
  if (answering.length) return ok("runtime", "runtime socket", answering.map((s) => `${s.runtime} at ${s.path}`).join(", "));
  if (found.length) {
    return bad("warn", "runtime", "runtime socket", `${found.map((s) => s.path).join(", ")} found, but nothing answers`, "start the container runtime, or mount its live socket into the agent's container");
  }
  return bad("warn", "runtime", "runtime socket", `none found (looked for ${searched.join(", ")})`, "container names come only from the API server; mount the runtime's socket to name containers without it");
}

export function kmsgCheck(k: NodeFacts["kmsg"]): Check {
  if (k.ok) return ok("kmsg", "/dev/kmsg", "readable");
  return bad("warn", "kmsg", "/dev/kmsg", `cannot be read: ${k.error}`, "run as root (CAP_SYSLOG) and mount /dev/kmsg: without it kills in a bpftrace gap are missed");
}

export function metricsCheck(m: NodeFacts["metrics"]): Check {
  if (!m) return { id: "metrics", title: "metrics port", status: "skip", detail: "metrics are off (--metrics-bind-address \"\")", fix: null };
  if (m.free) return ok("metrics", "metrics port", `${m.address} is free`);
  return bad("fail", "metrics", "metrics port", `${m.address}: ${m.error}`, "stop what holds it (another oomtrace?) or choose --metrics-bind-address");
}
