// Finding the containers to sample: the memory hierarchy under --host-root, and the kubelet's
// container cgroups in it (I/O). Run at start and every few seconds, never per sample.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parseCgroupPath } from "../../attribute/cgroup-path.ts";
import type { CgroupIdentity } from "../../types.ts";

export type CgroupVersion = "v1" | "v2";

/** A memory hierarchy: the version, and the directory where it is mounted (kernel path "/"). */
export interface Hierarchy {
  version: CgroupVersion;
  mount: string;
  /** cgroup v2 mounted next to a v1 memory hierarchy (hybrid): per-cgroup PSI lives there. */
  unified: string | null;
}

/** The files of one container's memory cgroup, and who it is. */
export interface ContainerCgroup {
  dir: string;
  /** The cgroup's path as the kernel names it, the same as an oom_kill event's cgroup.path. */
  path: string;
  identity: CgroupIdentity;
  usageFile: string;
  statFile: string;
  limitFile: string;
  /** memory.pressure, where the kernel has it for this cgroup. */
  psiFile: string | null;
}

export class HierarchyError extends Error {}

/** Which memory hierarchy a cgroup directory belongs to, from the files in it. */
export function versionOf(dir: string): CgroupVersion | null {
  if (existsSync(join(dir, "memory.usage_in_bytes"))) return "v1";
  if (existsSync(join(dir, "memory.current"))) return "v2";
  // The v2 root has no memory.current; it lists the memory controller instead.
  try {
    if (/(^|\s)memory(\s|$)/.test(readFileSync(join(dir, "cgroup.controllers"), "utf8"))) return "v2";
  } catch {}
  return null;
}

/**
 * The hierarchy `walkRoot` lies in. Its mount is the highest ancestor on the same filesystem
 * (each cgroup hierarchy is its own filesystem), which also holds when the host's /sys is
 * mounted elsewhere (--host-root), so kernel paths come out as the kernel names them.
 */
export function hierarchyOf(walkRoot: string): Hierarchy {
  const version = versionOf(walkRoot);
  if (version === null) {
    throw new HierarchyError(
      `${walkRoot} is not a memory cgroup directory (no memory.usage_in_bytes, memory.current, or memory in cgroup.controllers); ` +
        `point --pressure-cgroup-root at the memory hierarchy (v1: /sys/fs/cgroup/memory, v2: /sys/fs/cgroup) or turn early warning off with --no-pressure`,
    );
  }
  let mount = walkRoot;
  const dev = statSync(walkRoot).dev;
  while (dirname(mount) !== mount && statSync(dirname(mount)).dev === dev) mount = dirname(mount);
  const sibling = join(dirname(mount), "unified");
  const unified = version === "v1" && existsSync(join(sibling, "cgroup.controllers")) ? sibling : null;
  return { version, mount, unified };
}

/** The default walk root: the memory hierarchy under the host root, v1 where the memory controller is there, else v2. */
export function defaultWalkRoot(hostRoot: string): string {
  const v1 = join(hostRoot, "/sys/fs/cgroup/memory");
  if (versionOf(v1) === "v1") return v1;
  const v2 = join(hostRoot, "/sys/fs/cgroup");
  if (versionOf(v2) === "v2") return v2;
  throw new HierarchyError(
    `no memory cgroup hierarchy under ${join(hostRoot, "/sys/fs/cgroup")}: mount the host's /sys (and set --host-root), set --pressure-cgroup-root, or turn early warning off with --no-pressure`,
  );
}

/** Outside a kubelet tree the walk looks this deep for one (kubelet's --cgroup-root may nest it). */
const SEARCH_DEPTH = 6;

/** Every container cgroup of the kubelet trees under `walkRoot`, in walk order. */
export function findContainers(walkRoot: string, h: Hierarchy): ContainerCgroup[] {
  const found: ContainerCgroup[] = [];
  const visit = (dir: string, depth: number) => {
    const path = `/${relative(h.mount, dir)}`;
    const id = parseCgroupPath(path);
    if (id.workload === "kubernetes") {
      if (id.level === "container") {
        found.push(containerFiles(dir, path, id, h));
        return;
      }
      // A cgroup a workload made under its pod or container holds nothing of another container.
      if (id.level === "other") return;
    } else if (depth >= SEARCH_DEPTH) return;
    let subdirs: string[];
    try {
      subdirs = readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      return; // Removed while walking.
    }
    for (const name of subdirs) visit(join(dir, name), depth + 1);
  };
  visit(walkRoot, 0);
  return found;
}

function containerFiles(dir: string, path: string, identity: CgroupIdentity, h: Hierarchy): ContainerCgroup {
  const v1 = h.version === "v1";
  const psiDir = v1 ? (h.unified === null ? null : join(h.unified, path)) : dir;
  const psiFile = psiDir !== null && existsSync(join(psiDir, "memory.pressure")) ? join(psiDir, "memory.pressure") : null;
  return {
    dir,
    path,
    identity,
    usageFile: join(dir, v1 ? "memory.usage_in_bytes" : "memory.current"),
    statFile: join(dir, "memory.stat"),
    limitFile: join(dir, v1 ? "memory.limit_in_bytes" : "memory.max"),
    psiFile,
  };
}
