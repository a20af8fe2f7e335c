// Names from the container runtime (CRI): a cache filled by listing, asked by id at a kill.
// Answers are kept a while after the runtime forgets a container, so a pod removed right
// after its kill is still named. A runtime that is down or slow costs an event its names, never the event.
import type { CgroupIdentity, NameResolver, WorkloadNames } from "../types.ts";
import type { CriCalls, CriFailure } from "./client.ts";
import { CriError } from "./client.ts";
import type { CriContainer, CriSandbox } from "./messages.ts";
import { containerNames, KUBELET_LABELS, sandboxNames, type Refusal } from "./names.ts";

export type CallOutcome = "ok" | "not_found" | CriFailure;

export interface CriNamesOptions {
  /** Makes the client once a socket is there; null while there is none. Asked again at each resync, and after the runtime was unavailable. */
  connect: () => CriCalls | null;
  /** Milliseconds between full listings. */
  resyncMs: number;
  /** Milliseconds the names of a container the runtime no longer lists are kept. */
  keepMs: number;
  now?: () => number;
  onCall: (call: string, outcome: CallOutcome) => void;
  onRefused: (reason: Refusal) => void;
  log: { info(m: string): void; warn(m: string): void; debug(m: string): void };
}

interface Kept<T> {
  value: T;
  /** When a listing first missed it; null while the runtime lists it. */
  goneSince: number | null;
}

/** A listing gets this long; it runs in the background, so it may take longer than --name-wait. */
const LIST_TIMEOUT_MS = 10_000;
/** How often a container the runtime still calls "created" is asked again. */
const STARTING_RETRY_MS = 100;

export class CriNames implements NameResolver {
  readonly source = "cri" as const;
  private client: CriCalls | null = null;
  /** When the last look found no runtime socket. */
  private noSocketAt = -Infinity;
  private readonly containers = new Map<string, Kept<CriContainer>>();
  private readonly sandboxes = new Map<string, Kept<CriSandbox>>();
  private readonly inflight = new Map<string, Promise<WorkloadNames | null>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private reachable: boolean | null = null;
  private syncing = false;
  private greeted = false;
  private lastWarning = "";
  /** Containers whose status a listing already asked for, so each is asked once. */
  private readonly statusAsked = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly o: CriNamesOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    // Nothing a listing meets may reach the pipeline as an unhandled rejection.
    const sync = () => void this.sync().catch((e: Error) => this.o.log.warn(`cri: listing failed: ${e.message}`));
    sync();
    this.timer = setInterval(sync, this.o.resyncMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.client?.close();
  }

  /** A container known only from a listing lacks its start time: resolve() asks for the whole answer first. */
  lookup(id: CgroupIdentity): WorkloadNames | null {
    return this.cached(id, false);
  }

  private cached(id: CgroupIdentity, partial: boolean): WorkloadNames | null {
    const cid = id.container?.id;
    if (cid) {
      const c = this.containers.get(cid)?.value;
      if (c) return partial || c.startedAt ? this.accept(containerNames(c, this.sandboxFor(c))) : null;
      // The pause container's cgroup is named by the sandbox id.
      const s = this.sandboxes.get(cid)?.value;
      return s ? this.accept(sandboxNames(s)) : null;
    }
    const uid = id.pod?.uid;
    const s = uid ? this.sandboxByUid(uid) : null;
    return s ? this.accept(sandboxNames(s)) : null;
  }

  resolve(id: CgroupIdentity, deadline: number): Promise<WorkloadNames | null> {
    const key = id.container?.id ?? `pod:${id.pod?.uid ?? ""}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.ask(id, deadline).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /**
   * Full listing: refreshes every answer, marks what the runtime no longer lists, drops what was gone
   * too long. A listing has no start times: each container seen running is asked for its status once.
   */
  async sync(): Promise<void> {
    const client = this.connected(true);
    // A hung runtime must not pile up listings.
    if (!client || this.syncing) return;
    this.syncing = true;
    try {
      const deadline = this.now() + LIST_TIMEOUT_MS;
      if (!this.greeted) {
        const v = await this.counted("Version", client.version(deadline));
        if (v) this.o.log.info(`cri: the runtime is ${v.name} ${v.version}`);
        this.greeted = v !== undefined;
      }
      const [sandboxes, containers] = await Promise.all([
        this.counted("ListPodSandbox", client.listPodSandbox(deadline)),
        this.counted("ListContainers", client.listContainers(deadline)),
      ]);
      const at = this.now();
      if (sandboxes) {
        for (const sb of sandboxes) this.sandboxes.set(sb.id, { value: sb, goneSince: null });
        this.markGone(this.sandboxes, sandboxes, at);
      }
      if (containers) {
        for (const c of containers) this.keepContainer(c);
        this.markGone(this.containers, containers, at);
        this.o.log.debug(`cri: listed ${sandboxes?.length ?? "no"} pod sandboxes and ${containers.length} containers`);
        for (const c of containers) {
          if (c.state === "created" || this.statusAsked.has(c.id) || this.containers.get(c.id)?.value.startedAt) continue;
          const status = await this.counted("ContainerStatus", client.containerStatus(c.id, deadline));
          // The runtime stopped answering: the next listing asks again.
          if (status === undefined) break;
          this.statusAsked.add(c.id);
          if (status) this.keepContainer(status);
        }
      }
    } finally {
      this.syncing = false;
    }
  }

  private async ask(id: CgroupIdentity, deadline: number): Promise<WorkloadNames | null> {
    const client = this.connected();
    if (!client) return null;
    const cid = id.container?.id;
    if (cid) {
      let c = await this.counted("ContainerStatus", client.containerStatus(cid, deadline));
      // A hog can die before the runtime has noted that it started: ask again for the start time, for half the time left.
      for (let tries = Math.floor((deadline - this.now()) / 2 / STARTING_RETRY_MS); c?.state === "created" && tries > 0; tries--) {
        await Bun.sleep(STARTING_RETRY_MS);
        c = (await this.counted("ContainerStatus", client.containerStatus(cid, deadline))) ?? c;
      }
      if (c) {
        this.keepContainer(c);
        const uid = c.labels[KUBELET_LABELS.podUid];
        if (uid && !this.sandboxByUid(uid)) {
          // Only for the pod's labels: it gets half the time left, so a slow answer costs the labels, not the names.
          const half = this.now() + (deadline - this.now()) / 2;
          const found = await this.counted("ListPodSandbox", client.listPodSandbox(half, { [KUBELET_LABELS.podUid]: uid }));
          for (const s of found ?? []) this.sandboxes.set(s.id, { value: s, goneSince: null });
        }
      } else if (c === null) {
        const s = await this.counted("PodSandboxStatus", client.podSandboxStatus(cid, deadline));
        if (s) this.sandboxes.set(s.id, { value: s, goneSince: null });
      }
    } else if (id.pod?.uid) {
      const found = await this.counted("ListPodSandbox", client.listPodSandbox(deadline, { [KUBELET_LABELS.podUid]: id.pod.uid }));
      for (const s of found ?? []) this.sandboxes.set(s.id, { value: s, goneSince: null });
    }
    // The runtime may have forgotten the container (pod removed) or not answered: what the cache has still names it.
    return this.cached(id, true);
  }

  /** The call's answer (null for "no such object"), or undefined when it failed; every outcome is counted. */
  private async counted<T>(call: string, p: Promise<T>): Promise<T | undefined> {
    try {
      const v = await p;
      this.o.onCall(call, v === null ? "not_found" : "ok");
      this.reachableNow(true, "");
      return v;
    } catch (e) {
      const reason = e instanceof CriError ? e.reason : "error";
      this.o.onCall(call, reason);
      if (reason === "unavailable") {
        // The next call connects afresh (and looks for the socket again), not after the old connection's backoff.
        this.client?.close();
        this.client = null;
      }
      const message = (e as Error).message;
      if (reason === "unavailable" || reason === "deadline") this.reachableNow(false, message);
      else if (message !== this.lastWarning) this.o.log.warn(`${message}; names that needed this answer are left out`);
      // A runtime that keeps sending the same bad answer is reported once, and counted every time.
      this.lastWarning = message;
      return undefined;
    }
  }

  /** Logs only the changes between reachable and not, so a runtime that is down does not flood the log. */
  private reachableNow(up: boolean, why: string): void {
    if (this.reachable === up) return;
    this.reachable = up;
    if (up) this.o.log.info("cri: the container runtime answers");
    else this.o.log.warn(`cri: the container runtime does not answer (${why}); kills go out without its names until it does`);
  }

  /** With no runtime socket, a kill does not look again before the next listing does (`listing`): a storm stat()ed every path per kill. */
  private connected(listing = false): CriCalls | null {
    if (this.client || (!listing && this.now() - this.noSocketAt < this.o.resyncMs)) return this.client;
    this.client = this.o.connect();
    if (!this.client) this.noSocketAt = this.now();
    return this.client;
  }

  /** A listing has the sandbox id and no start time, ContainerStatus the reverse: each keeps what the other found. */
  private keepContainer(c: CriContainer): void {
    const prev = this.containers.get(c.id)?.value;
    this.containers.set(c.id, {
      value: { ...c, sandboxId: c.sandboxId ?? prev?.sandboxId ?? null, startedAt: c.startedAt || prev?.startedAt || 0n },
      goneSince: null,
    });
  }

  private markGone<T extends { id: string }>(map: Map<string, Kept<T>>, listed: T[], at: number): void {
    const seen = new Set(listed.map((v) => v.id));
    for (const [id, kept] of map) {
      if (seen.has(id)) continue;
      kept.goneSince ??= at;
      if (at - kept.goneSince >= this.o.keepMs) {
        map.delete(id);
        this.statusAsked.delete(id);
      }
    }
  }

  private sandboxFor(c: CriContainer): CriSandbox | null {
    const byId = c.sandboxId ? this.sandboxes.get(c.sandboxId)?.value : undefined;
    if (byId) return byId;
    const uid = c.labels[KUBELET_LABELS.podUid];
    return uid ? this.sandboxByUid(uid) : null;
  }

  /** The newest sandbox of a pod (a pod whose sandbox was recreated has several). */
  private sandboxByUid(uid: string): CriSandbox | null {
    let best: Kept<CriSandbox> | null = null;
    for (const kept of this.sandboxes.values()) {
      if (kept.value.uid !== uid) continue;
      if (!best || (best.goneSince !== null && kept.goneSince === null)) best = kept;
    }
    return best?.value ?? null;
  }

  private accept(n: WorkloadNames | Refusal): WorkloadNames | null {
    if (typeof n !== "string") return n;
    this.o.onRefused(n);
    return null;
  }
}
