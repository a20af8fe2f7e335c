// Kind of OOM and the cgroup that ran out, from what a probe read in the kernel (pure).
import type { CgroupLevel, Constraint } from "../types.ts";

/** The kernel's enum oom_constraint. */
export function constraintFromKernel(n: number): Constraint {
  return (["global", "cpuset", "mempolicy", "memcg"] as const)[n] ?? "unknown";
}

/**
 * Tracepoint-only kernels have no oom_control, so the kind is read off the trigger's
 * kernel stack at mark_victim: the callers of out_of_memory() are memcg code
 * (mem_cgroup_out_of_memory, try_charge_memcg, memory_max_write, ...) for a memcg OOM,
 * and the page allocator, the page-fault fallback or sysrq for a global one.
 * A cpuset or mempolicy constraint also comes through the page allocator: kmsg tells those apart.
 */
export function classifyStack(stack: string): "memcg" | "global" | "unknown" {
  const frames = stackFrames(stack);
  const oom = frames.findIndex((f) => f === "out_of_memory");
  if (oom < 0) return "unknown";
  const callers = frames.slice(oom + 1);
  const caller = callers[0];
  if (caller === undefined) return "unknown";
  if (callers.slice(0, 3).some((f) => /mem_cgroup|memcg|memory_max_write|memory_high_write/.test(f))) return "memcg";
  if (/alloc_pages|pagefault_out_of_memory|moom_callback|__alloc_frozen_pages/.test(caller)) return "global";
  return "unknown";
}

/**
 * Whether a mark's stack shows a memory.oom.group member: the kernel kills the chosen victim from
 * oom_kill_process(), then every other task of the group through oom_kill_memcg_member(), which is
 * called through a function pointer and so never inlined. Null when there is no stack.
 */
export function isGroupMemberStack(stack: string): boolean | null {
  const frames = stackFrames(stack);
  return frames.length === 0 ? null : frames.includes("oom_kill_memcg_member");
}

/** Function names of a kstack, innermost first, without offsets. */
function stackFrames(stack: string): string[] {
  return stack
    .split("\n")
    .map((l) => l.trim().replace(/\+\d+$/, "").replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+$/, ""))
    .filter((l) => l !== "");
}

/** Pages of slack below the limit that still count as "at the limit": the memcg charge batch. */
export const AT_LIMIT_SLACK_PAGES = 64;

/** page_counter's "no limit" is PAGE_COUNTER_MAX (LONG_MAX / PAGE_SIZE): anything that large is unlimited. */
export const UNLIMITED_PAGES = 2 ** 50;

export function levelFromRecord(name: string, usage: number, max: number): CgroupLevel {
  return { name, usagePages: usage < 0 ? null : usage, maxPages: max < 0 || max >= UNLIMITED_PAGES ? null : max };
}

export interface ChainPath {
  path: string;
  /** Index (in the leaf-first chain) of each level's path, for looking up limits by path. */
  paths: string[];
}

/**
 * Leaf-first chain → absolute path. The root (empty name, last) is left out. A chain cut off
 * before the root (deeper than the probe walks) gets a leading "..." so it is never read as absolute.
 * Null when levels are missing (lost events): a partial path would attribute wrongly.
 */
export function chainToPath(levels: { level: number; name: string }[]): ChainPath | null {
  if (levels.length === 0) return null;
  const sorted = [...levels].sort((a, b) => a.level - b.level);
  if (sorted.some((l, i) => l.level !== i)) return null;
  const reachedRoot = sorted[sorted.length - 1]!.name === "";
  const names = (reachedRoot ? sorted.slice(0, -1) : sorted).map((l) => l.name);
  if (names.some((n) => n === "")) return null;
  const prefix = reachedRoot ? "" : "/...";
  const paths = names.map((_, i) => prefix + "/" + names.slice(i).reverse().join("/"));
  return { path: paths[0] ?? (reachedRoot ? "/" : "/..."), paths };
}

/**
 * The memcg that hit its limit: the lowest level of the trigger's chain whose usage is
 * within a charge batch of a real limit, and which also contains the victim.
 */
export function oomCgroupFromChain(levels: CgroupLevel[], paths: string[], victimPath: string | null): string | null {
  for (const [i, l] of levels.entries()) {
    if (l.maxPages === null || l.usagePages === null) continue;
    if (l.maxPages - l.usagePages > AT_LIMIT_SLACK_PAGES) continue;
    const path = paths[i];
    if (path === undefined) return null;
    // The memcg that ran out contains the victim: a level at its limit that does not is a bystander.
    if (victimPath !== null && victimPath !== path && !victimPath.startsWith(path === "/" ? "/" : path + "/")) continue;
    return path;
  }
  return null;
}
