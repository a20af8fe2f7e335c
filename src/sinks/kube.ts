// The Kubernetes sink: annotation, pod condition and Events for each kill, each applied once
// (the journal in the state dir remembers), retried through outages, one kill at a time.
import type { ConsolaInstance } from "consola";
import type { KubeConfig } from "../config/kube.ts";
import { describePermission, type Permission } from "../kube/access.ts";
import { ApiError, type KubeClient } from "../kube/client.ts";
import { commandLineNote } from "../kube/command-line.ts";
import type { Journal } from "../kube/journal.ts";
import { conditionPatch, eventBody, killMessage, microTime, nodeMessage, pressureMessage, REASON_NODE, REASON_POD, REASON_PRESSURE, type Regarding } from "../kube/messages.ts";
import type { KubeMetrics } from "../kube/metrics.ts";
import type { PodCache } from "../kube/pod-cache.ts";
import { deserializeEvent, killKey, planActions, serializeEvent, type Action } from "../kube/plan.ts";
import { withRetry } from "../kube/retry.ts";
import { annotate, bumpSeries, createEvent, setCondition, type PodKey } from "../kube/writes.ts";
import type { OomEvent, PressureEvent, Sink } from "../types.ts";

export interface KubeSinkOptions {
  client: KubeClient;
  cache: PodCache;
  cfg: KubeConfig;
  node: string;
  journal: Journal;
  metrics: KubeMetrics;
  log: ConsolaInstance;
}

/** How long the actions of one kill keep retrying through an outage, from when it was queued. */
const RETRY_BUDGET_MS = 10 * 60_000;

/** The request each action makes, for metrics and for naming a missing permission. */
const NEEDS: Record<Action, Permission> = {
  annotation: { group: "", resource: "pods", verb: "patch", why: "to annotate victims" },
  condition: { group: "", resource: "pods", subresource: "status", verb: "patch", why: "to set the victim condition" },
  "pod-event": { group: "events.k8s.io", resource: "events", verb: "create", why: "to write kill Events" },
  "node-event": { group: "events.k8s.io", resource: "events", verb: "create", why: "to write kill Events" },
};

/** The permission a Forbidden answer names (`cannot get resource "pods" in API group ""`); else the one the action needs. */
function refused(message: string, action: Action): Permission {
  const m = /cannot (\S+) resource "([^"/]+)(?:\/([^"]+))?" in API group "([^"]*)"/.exec(message);
  if (!m) return NEEDS[action];
  return { group: m[4] === "events.k8s.io" ? m[4] : "", resource: m[2]!, subresource: m[3], verb: m[1]!, why: NEEDS[action].why };
}

const CLOSE_GRACE_MS = 3000;

const hex = (n: number) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");

export function kubeSink(o: KubeSinkOptions): Sink & { resume(): void } {
  const abort = new AbortController();
  const forbiddenLogged = new Set<string>();
  let queue: Promise<void> = Promise.resolve();
  const inFlight = new Set<string>();

  const countError = (action: Action, e: unknown) => {
    const p = NEEDS[action];
    o.metrics.apiError(p.verb, p.subresource ? `${p.resource}/${p.subresource}` : p.resource, e instanceof ApiError ? e.status : "network");
  };

  const failed = (action: Action, e: unknown) => {
    countError(action, e);
    if (e instanceof ApiError && e.status === 403) {
      const p = refused(e.message, action);
      const what = describePermission(p);
      if (!forbiddenLogged.has(what)) {
        forbiddenLogged.add(what);
        o.log.error(`Kubernetes refused (403): the agent may not ${what}, needed ${p.why}; grant it in the agent's ClusterRole (README: RBAC). ${e.message}`);
      }
      return;
    }
    o.log.warn(`${action} for a kill failed for good: ${(e as Error).message}`);
  };

  // Only on the pod's own Event: the Node's lives in "default", where the pod's readers may not be.
  const commandNote = (e: OomEvent): string => {
    const name = e.names?.container?.name;
    const line = o.cfg.eventCommandLine && name ? o.cache.pod(e.names!.pod.uid)?.commands.get(name) : undefined;
    return line === undefined ? "" : commandLineNote(name!, line);
  };

  const pod = (e: OomEvent): PodKey => ({ namespace: e.names!.pod.namespace, name: e.names!.pod.name, uid: e.names!.pod.uid });

  const event = async (action: Action, deadline: number, regarding: Regarding, reason: string, note: string, time: Date) => {
    const seriesKey = `${regarding.kind}/${regarding.uid}/${reason}`;
    const now = Date.now();
    const open = o.journal.series(seriesKey, now);
    if (open) {
      const count = open.count + 1;
      const ok = await withRetry(() => bumpSeries(o.client, { namespace: open.namespace, name: open.name, count }, microTime(time)), retry(action, deadline));
      if (ok) {
        o.journal.setSeries(seriesKey, { ...open, count, lastMs: now }, now);
        o.metrics.event(regarding.kind, "series_updated");
        return;
      }
    }
    // The name is fixed before retrying, so a create whose answer was lost comes back 409, not twice.
    // Object names are at most 253 characters: room for the dot and 16 hex digits.
    const body = eventBody({ name: `${regarding.name.slice(0, 236)}.${hex(8)}`, regarding, reason, note, node: o.node, time });
    await withRetry(() => createEvent(o.client, body), retry(action, deadline));
    o.journal.setSeries(seriesKey, { namespace: body.metadata.namespace, name: body.metadata.name, count: 1, lastMs: now }, now);
    o.metrics.event(regarding.kind, "created");
  };

  const retry = (action: Action, deadline: number) => ({
    deadline,
    signal: abort.signal,
    onRetry: (e: unknown, waitMs: number) => {
      countError(action, e);
      o.log.debug(`${action}: will retry in ${waitMs} ms: ${(e as Error).message}`);
    },
  });

  const act = async (action: Action, e: OomEvent, deadline: number): Promise<void> => {
    if (action === "annotation" || action === "condition") {
      const p = pod(e);
      const cached = o.cache.pod(p.uid);
      if (o.cache.index.isGone(p.uid)) return o.metrics.markedVictim("skipped", "pod_gone");
      if (action === "annotation") {
        const { key, value } = o.cfg.annotation!;
        if (cached && Object.hasOwn(cached.annotations, key)) return o.metrics.markedVictim("skipped", "annotation_exists");
        // Each try takes what the cache holds then: the watch may have moved on during an outage.
        const r = await withRetry(() => annotate(o.client, p, key, value, o.cache.pod(p.uid)), retry(action, deadline));
        o.metrics.markedVictim(r === "applied" ? "marked" : "skipped", r === "applied" ? "annotation_applied" : r === "exists" ? "annotation_exists" : "pod_gone");
        if (r === "applied") o.log.info(`marked pod ${p.namespace}/${p.name} for eviction: ${key}=${value}`);
        return;
      }
      const type = o.cfg.condition!;
      // Setting it again would move lastTransitionTime and restart the descheduler's clock.
      if (cached?.conditions[type] === "True") return o.metrics.markedVictim("skipped", "condition_exists");
      const r = await withRetry(() => setCondition(o.client, p, conditionPatch(type, e.kill.constraint, killMessage(e), new Date())), retry(action, deadline));
      o.metrics.markedVictim(r === "applied" ? "marked" : "skipped", r === "applied" ? "condition_applied" : "pod_gone");
      return;
    }
    if (action === "pod-event") {
      const p = pod(e);
      return event(action, deadline, { kind: "Pod", ...p }, REASON_POD, killMessage(e, commandNote(e)), e.time);
    }
    return event(action, deadline, { kind: "Node", namespace: "", name: o.node, uid: o.node }, REASON_NODE, nodeMessage(e), e.time);
  };

  // One deadline for all actions of a kill, counted from when it was queued: behind a long outage,
  // the kills queued meanwhile give up together instead of each waiting out a full budget.
  const run = async (key: string, e: OomEvent, todo: Action[], deadline: number) => {
    for (const action of todo) {
      if (abort.signal.aborted) return; // left pending in the journal: the next start finishes it
      try {
        await act(action, e, deadline);
      } catch (err) {
        if (abort.signal.aborted) return;
        if (action === "annotation" || action === "condition") o.metrics.markedVictim("error", `${action}_failed`);
        else o.metrics.event(action === "pod-event" ? "Pod" : "Node", "error");
        failed(action, err);
      }
      o.journal.step(key, action);
    }
    o.journal.finish(key, Date.now());
  };

  const enqueue = (key: string, e: OomEvent, todo: Action[]) => {
    inFlight.add(key);
    const deadline = Date.now() + RETRY_BUDGET_MS;
    const next = queue.then(() => run(key, e, todo, deadline)).finally(() => inFlight.delete(key));
    queue = next.catch(() => {});
    return next;
  };

  return {
    name: "kubernetes",
    /** The early warning as a Warning Event on the pod; repeated warnings count into its series. Not journaled: nothing was killed. */
    pressure(w: PressureEvent) {
      if (!o.cfg.events || !w.names || w.names.pod.uid !== w.identity.pod?.uid) return;
      const regarding: Regarding = { kind: "Pod", namespace: w.names.pod.namespace, name: w.names.pod.name, uid: w.names.pod.uid };
      const deadline = Date.now() + RETRY_BUDGET_MS;
      const next = queue.then(async () => {
        if (abort.signal.aborted) return;
        try {
          await event("pod-event", deadline, regarding, REASON_PRESSURE, pressureMessage(w), w.time);
        } catch (err) {
          if (abort.signal.aborted) return;
          o.metrics.event("Pod", "error");
          failed("pod-event", err);
        }
      });
      queue = next.catch(() => {});
      return next;
    },
    write(e: OomEvent) {
      const todo = planActions(e, o.cfg);
      if (todo.length === 0) return;
      const key = killKey(o.journal.bootId, e);
      if (o.journal.isDone(key) || inFlight.has(key)) return;
      o.journal.begin(key, { event: serializeEvent(e), todo });
      return enqueue(key, e, todo);
    },
    /** Finishes what a previous run started and did not finish (an outage, a stop). */
    resume() {
      for (const [key, p] of o.journal.pending()) {
        let e: OomEvent;
        try {
          e = deserializeEvent(p.event);
        } catch {
          o.journal.finish(key, Date.now());
          continue;
        }
        o.log.info(`finishing Kubernetes actions left from before the restart: ${p.todo.join(", ")}`);
        void enqueue(key, e, p.todo as Action[]);
      }
    },
    async close() {
      // Stopping: a few seconds to finish what is under way; whatever is still retrying after
      // that stays pending in the journal for the next start.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([queue, new Promise((done) => (timer = setTimeout(done, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      abort.abort();
      await queue;
    },
  };
}
