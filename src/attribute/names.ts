// Naming an attributed kill: the resolvers in order of trust, all bounded by one deadline.
import type { CgroupIdentity, NameResolver, WorkloadNames } from "../types.ts";

/** An answer names this victim only if it agrees with every id the kernel's cgroup path gave. */
export function namesMatch(id: CgroupIdentity, n: WorkloadNames): boolean {
  if (id.pod?.uid && n.pod.uid !== id.pod.uid) return false;
  if (id.container?.id && n.container?.id && n.container.id !== id.container.id) return false;
  return true;
}

/** The event (a kill or a warning) with the names filled into its identity (pure); ids from the kernel are never replaced. */
export function withNames<E extends { identity: CgroupIdentity | null; names: WorkloadNames | null }>(e: E, n: WorkloadNames | null): E {
  const id = e.identity;
  if (!n || !id || !namesMatch(id, n)) return e;
  return {
    ...e,
    names: n,
    identity: {
      ...id,
      pod: { uid: n.pod.uid, qos: id.pod?.qos ?? null, namespace: n.pod.namespace, name: n.pod.name },
      container: id.container ? { ...id.container, name: n.container?.name ?? id.container.name } : id.container,
    },
  };
}

/** What the resolvers already know, first resolver first, without waiting. */
export function knownNames(id: CgroupIdentity, resolvers: readonly NameResolver[]): WorkloadNames | null {
  for (const r of resolvers) {
    try {
      const hit = r.lookup(id);
      if (hit && namesMatch(id, hit)) return hit;
    } catch {
      // Counted by the resolver itself; the next one may know.
    }
  }
  return null;
}

/**
 * A cached answer wins at once, first resolver first. Otherwise all resolvers are asked in parallel
 * until the deadline, and the first in order that answered wins, so a pod the API server learns of
 * late still beats the runtime's answer. A resolver that throws or overruns counts as no answer.
 */
export async function resolveNames(
  id: CgroupIdentity | null,
  resolvers: readonly NameResolver[],
  deadline: number,
): Promise<WorkloadNames | null> {
  if (!id || (!id.pod?.uid && !id.container?.id)) return null;
  const known = knownNames(id, resolvers);
  if (known || resolvers.length === 0) return known;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<null>((done) => (timer = setTimeout(done, Math.max(0, deadline - Date.now()), null)));
  const answers = await Promise.all(
    resolvers.map((r) => Promise.race([Promise.resolve().then(() => r.resolve(id, deadline)).catch(() => null), expired])),
  );
  clearTimeout(timer);
  return answers.find((a) => a !== null && namesMatch(id, a)) ?? null;
}
