// The node's pods, kept current by list + watch (`spec.nodeName=<node>`, as kubelet does), as a name resolver.
import type { CgroupIdentity, NameResolver, WorkloadNames } from "../types.ts";
import { ApiError, apiError, type KubeClient } from "./client.ts";
import { PodIndex, type PodSummary } from "./pod-index.ts";
import { backoffMs } from "./retry.ts";

export interface PodCacheOptions {
  client: KubeClient;
  node: string;
  onError: (what: string, e: unknown) => void;
  /** Called once per successful (re)list, with how many pods it holds. */
  onSynced?: (pods: number, relist: boolean) => void;
  /** A pod object without uid, name or namespace was skipped. */
  onSkipped?: () => void;
  /** The cache changed. */
  onChange?: (pods: { live: number; deleted: number }) => void;
  keepGoneMs?: number;
}

export class PodCache implements NameResolver {
  readonly source = "apiserver" as const;
  readonly index: PodIndex;
  private readonly abort = new AbortController();
  private waiters = new Set<() => void>();
  private synced = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly o: PodCacheOptions) {
    this.index = new PodIndex(o.keepGoneMs);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  lookup(id: CgroupIdentity): WorkloadNames | null {
    return this.index.lookup(id);
  }

  pod(uid: string): PodSummary | null {
    return this.index.get(uid);
  }

  /** Waits for the pod to appear (a kill in a pod created just now), until `deadline`. */
  resolve(id: CgroupIdentity, deadline: number): Promise<WorkloadNames | null> {
    return new Promise((done) => {
      const check = () => {
        const hit = this.index.lookup(id);
        if (hit || Date.now() >= deadline || this.abort.signal.aborted) {
          clearTimeout(timer);
          this.waiters.delete(check);
          done(hit);
        }
      };
      const timer = setTimeout(check, Math.max(0, deadline - Date.now()));
      this.waiters.add(check);
      check();
    });
  }

  private changed(): void {
    this.o.onChange?.(this.index.counts());
    for (const w of [...this.waiters]) w();
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.changed();
    await this.loop;
  }

  private base(): string {
    return `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${this.o.node}`)}`;
  }

  /** Lists in pages; returns the list's resourceVersion. */
  private async list(): Promise<string> {
    const items: unknown[] = [];
    let cont = "";
    let rv = "";
    do {
      const r = await this.o.client.request("GET", `${this.base()}&limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`);
      if (r.status !== 200) throw apiError(r, `list pods on node ${this.o.node}`);
      if (Array.isArray(r.body.items)) items.push(...r.body.items);
      cont = typeof r.body.metadata?.continue === "string" ? r.body.metadata.continue : "";
      rv = String(r.body.metadata?.resourceVersion ?? "");
    } while (cont);
    const skipped = this.index.replace(items, Date.now());
    for (let i = 0; i < skipped; i++) this.o.onSkipped?.();
    this.o.onSynced?.(this.index.size, this.synced);
    this.synced = true;
    this.changed();
    return rv;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let rv = "";
    let failures = 0;
    const sweeper = setInterval(() => this.index.expire(Date.now()), 30_000);
    try {
      while (!signal.aborted) {
        try {
          if (!rv) rv = await this.list();
          const path = `${this.base()}&watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}&timeoutSeconds=${300 + Math.floor(Math.random() * 300)}`;
          let events = 0;
          for await (const ev of this.o.client.watch(path, signal)) {
            failures = 0;
            events++;
            if (ev.type === "ERROR") {
              // 410 Expired: our resourceVersion was compacted away; anything else also means relist.
              rv = "";
              if (Number(ev.object?.code) !== 410) this.o.onError("watch pods", new ApiError(Number(ev.object?.code) || 500, String(ev.object?.reason ?? ""), String(ev.object?.message ?? "watch error"), null));
              break;
            }
            const next = ev.object?.metadata?.resourceVersion;
            if (typeof next === "string" && next) rv = next;
            if (ev.type === "BOOKMARK") continue;
            const ok = ev.type === "DELETED" ? (this.index.remove(ev.object, Date.now()), true) : this.index.upsert(ev.object);
            if (!ok) this.o.onSkipped?.();
            this.changed();
          }
          // A watch the server ends at once, again and again, must not become a busy loop.
          if (events === 0) await sleep(backoffMs(failures++, null), signal);
        } catch (e) {
          if (signal.aborted) break;
          if (e instanceof ApiError && e.status === 410) rv = "";
          else {
            this.o.onError("pods list/watch", e);
            await sleep(backoffMs(failures++, e), signal);
          }
        }
      }
    } finally {
      clearInterval(sweeper);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), done()), { once: true });
  });
}
