// Runs the compiled agent in the runtime image's root the way the chart's DaemonSet runs it, without a
// container engine: a private mount namespace with the DaemonSet's hostPath mounts (read-only where it
// says so), a fresh /proc of the host's pid namespace (hostPID), a small /dev, a read-only root, the
// container's environment only, its capabilities alone (setpriv's bounding set, as root), no_new_privs,
// the memory limit, and the device allowlist a container runtime gives unprivileged containers.
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "./agent.ts";
import { randomHex, type TestCgroups } from "./cgroup.ts";

type Obj = Record<string, any>;

/** runc's default device rules for a container that is not privileged (c major:minor). */
const RUNC_DEVICES = ["c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm", "c *:* m", "b *:* m"];
const DEVICES_V1 = "/sys/fs/cgroup/devices";

export const deviceCgroupAvailable = () => existsSync(join(DEVICES_V1, "devices.allow"));

/** Kubernetes quantity (Mi, Gi, M, plain bytes) → bytes. */
export function bytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(q);
  if (!m) throw new Error(`memory quantity ${q} is not understood here`);
  const unit = { Ki: 1024, Mi: 1 << 20, Gi: 1 << 30, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ""] ?? 1;
  return Number(m[1]) * unit;
}

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export interface Sandbox {
  /** The command for AgentProcess: it appends `run` and the flags. */
  command: string[];
  /** The container's args after `run`. */
  args: string[];
  cleanup(): void;
}

/**
 * Builds the sandbox for `ds`'s first container over `root`. `memory` holds the test's cgroups; the
 * agent's memory cgroup gets the container's memory limit.
 */
export function podSandbox(ds: Obj, root: string, cg: TestCgroups): Sandbox {
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];
  const sc = c.securityContext ?? {};
  if (!pod.hostPID) throw new Error("the DaemonSet must use hostPID");
  if (c.args?.[0] !== "run") throw new Error(`the container's first arg must be run, got ${c.args?.[0]}`);
  const lines = ["set -e", `r=${q(root)}`];
  // The root becomes a mount of its own, so that it can be made read-only after the mounts.
  lines.push('mount --bind "$r" "$r"');
  lines.push('mount -t proc proc "$r/proc"');
  // A container's /dev: a tmpfs with the usual nodes (bound from the host's).
  lines.push('mount -t tmpfs -o mode=755,size=64k tmpfs "$r/dev"');
  for (const d of ["null", "zero", "full", "random", "urandom", "tty"]) lines.push(`touch "$r/dev/${d}" && mount --bind /dev/${d} "$r/dev/${d}"`);
  // The binary, as the image's COPY puts it.
  lines.push(`mkdir -p "$r/usr/local/bin" && touch "$r/usr/local/bin/oomtrace" && mount --bind ${q(BINARY)} "$r/usr/local/bin/oomtrace"`);
  // Parents before children, as container runtimes order mounts (a /tmp emptyDir, then a path under it).
  const mounts = [...(c.volumeMounts ?? [])].sort((a: Obj, b: Obj) => a.mountPath.split("/").length - b.mountPath.split("/").length);
  for (const m of mounts) {
    const vol = pod.volumes.find((v: Obj) => v.name === m.name);
    const target = `"$r"${q(m.mountPath)}`;
    if (vol.hostPath) {
      const isFile = vol.hostPath.type === "CharDevice";
      lines.push(isFile ? `touch ${target}` : `mkdir -p ${target}`);
      if (vol.hostPath.type === "DirectoryOrCreate") lines.push(`mkdir -p ${q(vol.hostPath.path)}`);
      // hostPath mounts are recursive binds (containerd's rbind): /sys brings tracefs and the cgroup tree.
      lines.push(`mount --rbind ${q(vol.hostPath.path)} ${target}`);
      if (m.readOnly) lines.push(`mount -o remount,ro,bind ${target}`);
    } else if (vol.emptyDir) {
      lines.push(`mkdir -p ${target} && mount -t tmpfs -o size=${bytes(vol.emptyDir.sizeLimit ?? "64Mi")} tmpfs ${target}`);
    } else throw new Error(`volume ${m.name}: only hostPath and emptyDir are emulated here`);
  }
  if (sc.readOnlyRootFilesystem) lines.push('mount -o remount,ro,bind "$r"');

  // Resource and device limits: the agent's own cgroups, joined before it starts.
  const id = randomHex(8);
  const limit = c.resources?.limits?.memory;
  const mem = cg.make(`oomtrace-pod-${id}`, limit ? bytes(limit) : undefined);
  lines.push(`echo $$ > ${q(join(mem.dir, "cgroup.procs"))}`);
  let devDir: string | null = null;
  if (!sc.privileged && deviceCgroupAvailable()) {
    devDir = join(DEVICES_V1, `oomtrace-pod-${id}`);
    mkdirSync(devDir);
    writeFileSync(join(devDir, "devices.deny"), "a");
    for (const rule of RUNC_DEVICES) writeFileSync(join(devDir, "devices.allow"), rule);
    lines.push(`echo $$ > ${q(join(devDir, "cgroup.procs"))}`);
  }

  // The container's environment, and nothing of the test's.
  const env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];
  for (const e of c.env ?? []) {
    if (e.valueFrom?.fieldRef?.fieldPath === "spec.nodeName") env.push(`${e.name}=test-node`);
    else if (e.valueFrom) throw new Error(`env ${e.name}: only the node name fieldRef is emulated`);
    else env.push(`${e.name}=${e.value}`);
  }
  // Root with the container's capabilities only: for uid 0, the bounding set is what exec leaves.
  const caps = sc.privileged ? "+all" : ["-all", ...(sc.capabilities?.add ?? []).map((x: string) => `+${x.toLowerCase()}`)].join(",");
  const setpriv = ["setpriv", "--bounding-set", caps, "--inh-caps", "-all"];
  if (sc.allowPrivilegeEscalation === false) setpriv.push("--no-new-privs");
  if (sc.runAsUser !== undefined && sc.runAsUser !== 0) throw new Error("bpftrace runs as root only");
  lines.push(`exec env -i ${env.map(q).join(" ")} chroot "$r" ${setpriv.join(" ")} /usr/local/bin/oomtrace "$@"`);
  return {
    command: ["unshare", "-m", "--propagation", "private", "sh", "-c", lines.join("\n"), "pod"],
    args: c.args.slice(1),
    cleanup() {
      if (devDir) {
        try {
          rmdirSync(devDir);
        } catch {}
      }
    },
  };
}
