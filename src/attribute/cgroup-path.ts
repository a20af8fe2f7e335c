// Memory cgroup path → what workload it belongs to (pod, container, systemd unit), and the OOM scope.
// Pure: it reads only the path. Anything it cannot read for sure stays null; it never guesses.
//
// Kubelet layouts (field notes §4); cgroup v1 and v2 paths have the same shape under the hierarchy root:
//   cgroupfs: <prefix>/kubepods[/burstable|/besteffort]/pod<uid>/<container dir>
//   systemd:  <prefix>/<base>.slice[/<base>-<qos>.slice]/<parent base>-pod<uid_>.slice/<container dir>
// where <base> is "kubepods" or "<something>-kubepods" (kind: kubelet-kubepods) and <uid_> is the uid with "_" for "-".

import type { CgroupIdentity, ContainerRef, Constraint, OomScope, PodRef } from "../types.ts";

/** The kubelet tree's root: cgroupfs "kubepods", systemd "kubepods.slice" or "<prefix>-kubepods.slice". */
const KUBEPODS_ROOT = /^(?:kubepods|(?:.+-)?kubepods\.slice)$/;

/** A container id as every runtime writes it: 64 lowercase hex. Docker's systemd scope names the same id. */
const BARE_ID = /^([0-9a-f]{64})$/;
const DOCKER_SCOPE = /^docker-([0-9a-f]{64})\.scope$/;

/** A pod UID as the API server makes it. */
const POD_UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A static (file or URL) pod's UID: the kubelet's 32-hex hash of its manifest. */
const STATIC_POD_UID = /^[0-9a-f]{32}$/;

/**
 * A container's own dir under the pod, by runtime. The pause (sandbox) container is a sibling named
 * exactly like the app containers, so no path tells it apart: `sandbox` stays null here, for whoever
 * knows the sandbox ids to fill. `crio-conmon-<id>` is CRI-O's monitor for container <id>, not the
 * container: nothing here matches it, so its tasks get the pod and container null.
 */
const CONTAINER_DIRS: readonly { dir: RegExp; runtime: ContainerRef["runtime"] }[] = [
  { dir: /^cri-containerd-([0-9a-f]{64})\.scope$/, runtime: "containerd" },
  // CRI-O: crio-<id>.scope under systemd, crio-<id> under cgroupfs.
  { dir: /^crio-([0-9a-f]{64})(?:\.scope)?$/, runtime: "cri-o" },
  { dir: DOCKER_SCOPE, runtime: "docker" },
  // cgroupfs containerd and docker both use the bare id: the runtime is not in the path.
  { dir: BARE_ID, runtime: null },
];

/** crun (as CRI-O runs it) puts the container's tasks in this child of its scope; it is still that container. */
const CRUN_CHILD = "container";

/** Docker outside Kubernetes puts containers in /system.slice/docker-<id>.scope (systemd) or /docker/<id> (cgroupfs). */
const DOCKER_PARENT = "docker";

/** A systemd unit that holds tasks: a service or a scope (sessions, init.scope), in systemd's unit-name charset. */
const SYSTEMD_UNIT = /^[A-Za-z0-9:_.\\@-]+\.(?:service|scope)$/;
const UNIT_NAME_MAX = 255;

const SLICE = ".slice";

type Driver = "cgroupfs" | "systemd";
type Qos = "burstable" | "besteffort";

export function parseCgroupPath(path: string): CgroupIdentity {
  // Empty components (a doubled or trailing "/") carry no name. Leading ".." are how a path relative
  // to a cgroup namespace climbs out of it (field notes §4); no cgroup can be named "." or "..", so
  // one anywhere else means the path is not a real one.
  const parts = path.split("/").filter((part) => part !== "");
  const firstName = parts.findIndex((part) => part !== "..");
  const names = firstName === -1 ? [] : parts.slice(firstName);
  if (names.some((name) => name === "." || name === "..")) return identity("other", "other");

  // The outermost kubepods root is the one the kubelet made: a workload can create cgroups below
  // its own (and so fake a kubepods tree there), never rename its ancestors.
  const root = names.findIndex((name) => KUBEPODS_ROOT.test(name));
  if (root !== -1) return parseKubeletTree(names.slice(root));
  return dockerContainer(names) ?? systemdUnit(names) ?? identity("other", "other");
}

/** `tree` starts at the kubepods root. Each dir must be named exactly as the kubelet names it, else parsing stops there. */
function parseKubeletTree([root = "", ...dirs]: string[]): CgroupIdentity {
  const driver: Driver = root.endsWith(SLICE) ? "systemd" : "cgroupfs";
  const [first, ...belowFirst] = dirs;
  if (first === undefined) return identity("kubernetes", "kubepods");

  // Guaranteed pods sit right under the root; the others under their QoS dir.
  const qos = qosOf(first, root, driver);
  const [podDir, ...belowPod] = qos === null ? dirs : belowFirst;
  if (podDir === undefined) return identity("kubernetes", "qos");
  const uid = podUidOf(podDir, qos === null ? root : first, driver);
  if (uid === null) return identity("kubernetes", "other");
  const pod: PodRef = { uid, qos: qos ?? "guaranteed", namespace: null, name: null };

  const [containerDir, ...inside] = belowPod;
  if (containerDir === undefined) return identity("kubernetes", "pod", { pod });
  const container = containerOf(containerDir);
  if (container === null) return identity("kubernetes", "other", { pod });
  // Below the container dir (bar crun's child) is a cgroup the workload made: still its container, but not the container level.
  const atContainer = inside.length === 0 || (inside.length === 1 && inside[0] === CRUN_CHILD);
  return identity("kubernetes", atContainer ? "container" : "other", { pod, container });
}

/**
 * The meaningful part of a kubelet dir name. cgroupfs uses it bare ("burstable", "pod<uid>"); systemd
 * names a child slice after its parent: "kubepods-burstable.slice" under "kubepods.slice".
 */
function kubeletPart(name: string, parent: string, driver: Driver): string | null {
  if (driver === "cgroupfs") return name;
  const prefix = `${parent.slice(0, -SLICE.length)}-`;
  if (!name.startsWith(prefix) || !name.endsWith(SLICE)) return null;
  return name.slice(prefix.length, -SLICE.length);
}

function qosOf(name: string, parent: string, driver: Driver): Qos | null {
  const part = kubeletPart(name, parent, driver);
  return part === "burstable" || part === "besteffort" ? part : null;
}

function podUidOf(name: string, parent: string, driver: Driver): string | null {
  const part = kubeletPart(name, parent, driver);
  if (part === null || !part.startsWith("pod")) return null;
  const written = part.slice("pod".length);
  // systemd reads "-" as nesting, so the kubelet writes the uid's dashes as "_" there; a "-" would be a near miss.
  if (driver === "systemd" && written.includes("-")) return null;
  const uid = driver === "systemd" ? written.replaceAll("_", "-") : written;
  return POD_UID.test(uid) || STATIC_POD_UID.test(uid) ? uid : null;
}

function containerOf(dir: string): ContainerRef | null {
  for (const { dir: pattern, runtime } of CONTAINER_DIRS) {
    const id = pattern.exec(dir)?.[1];
    if (id !== undefined) return { id, runtime, name: null };
  }
  return null;
}

function dockerContainer(names: string[]): CgroupIdentity | null {
  for (const [i, name] of names.entries()) {
    const id = DOCKER_SCOPE.exec(name)?.[1] ?? (name === DOCKER_PARENT ? BARE_ID.exec(names[i + 1] ?? "")?.[1] : undefined);
    if (id !== undefined) return identity("docker", "other", { container: { id, runtime: "docker", name: null } });
  }
  return null;
}

/** The innermost unit: a service may delegate sub-cgroups, and user@.service holds the user's own units. */
function systemdUnit(names: string[]): CgroupIdentity | null {
  const unit = names.findLast((name) => name.length <= UNIT_NAME_MAX && SYSTEMD_UNIT.test(name));
  return unit === undefined ? null : identity("systemd", "other", { unit });
}

function identity(
  workload: CgroupIdentity["workload"],
  level: CgroupIdentity["level"],
  found: Partial<Pick<CgroupIdentity, "pod" | "container" | "unit">> = {},
): CgroupIdentity {
  return { workload, pod: null, container: null, sandbox: null, unit: null, level, ...found };
}

/**
 * Which level ran out of memory. Only a memcg OOM has a cgroup that hit its limit; the others are
 * node-wide. `victimPath` is not needed: the victim may sit anywhere below the cgroup that ran out.
 */
export function oomScope(input: { constraint: Constraint; oomCgroupPath: string | null }): OomScope {
  switch (input.constraint) {
    case "global":
    case "cpuset":
    case "mempolicy":
      return "global";
    case "memcg":
      return input.oomCgroupPath === null ? "unknown" : scopeOf(parseCgroupPath(input.oomCgroupPath));
    case "unknown":
      return "unknown";
  }
}

function scopeOf({ workload, level }: CgroupIdentity): OomScope {
  if (workload !== "kubernetes") return "cgroup";
  switch (level) {
    case "container":
      return "container";
    case "pod":
      return "pod";
    case "qos":
    case "kubepods":
      return "kubepods";
    case "other":
      return "cgroup";
  }
}
