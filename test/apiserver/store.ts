// Object storage with one global resourceVersion (like etcd's revision), a bounded
// change history that watches replay from, compaction, and watch fan-out.
import { formatTime } from "./validate.ts";

type Obj = Record<string, any>;
export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

export interface Change {
  rv: number;
  storage: string;
  type: ChangeType;
  obj: Obj;
  /** The object before a MODIFIED; lets watches with selectors turn it into ADDED/DELETED. */
  prev?: Obj;
}

/** An open watch stream, as the store sees it. */
export interface Watcher {
  storage: string;
  onChange(c: Change): void;
  /** Ends the stream with an ERROR event carrying a 410 Expired Status. */
  expire(message: string): void;
  /** Sends a BOOKMARK now, if the client asked for bookmarks. */
  bookmark(): void;
  /** Ends the stream cleanly, as the server does when a watch times out. */
  close(): void;
}

export interface StoreOptions {
  /** How many changes the history keeps; a watch from before the oldest one gets 410 Expired. */
  historySize?: number;
  /** The resourceVersion the store starts at. */
  startResourceVersion?: number;
}

const key = (ns: string, name: string) => (ns ? `${ns}/${name}` : name);

export class Store {
  rv: number;
  /** Watches from a resourceVersion below this are expired (it is the newest change no longer in the history). */
  compactedRv: number;
  historySize: number;
  readonly history: Change[] = [];
  readonly watchers = new Set<Watcher>();
  private readonly data = new Map<string, Map<string, Obj>>();

  constructor(opts: StoreOptions = {}) {
    this.rv = opts.startResourceVersion ?? 1000;
    this.compactedRv = this.rv;
    this.historySize = opts.historySize ?? 10_000;
  }

  private bucket(storage: string): Map<string, Obj> {
    let b = this.data.get(storage);
    if (!b) this.data.set(storage, (b = new Map()));
    return b;
  }

  get(storage: string, ns: string, name: string): Obj | undefined {
    const o = this.bucket(storage).get(key(ns, name));
    return o && structuredClone(o);
  }

  /** Objects in key order (namespace, then name), like an etcd range read. */
  list(storage: string, ns?: string): Obj[] {
    const out: Obj[] = [];
    for (const [k, o] of [...this.bucket(storage)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      if (!ns || k.startsWith(`${ns}/`)) out.push(structuredClone(o));
    return out;
  }

  /** Stores a new object. Keeps metadata.uid and creationTimestamp when given, so fixtures can fix them. */
  create(storage: string, obj: Obj): Obj {
    const o = structuredClone(obj);
    const m = (o.metadata ??= {});
    m.uid ??= crypto.randomUUID();
    m.creationTimestamp ??= formatTime(new Date());
    return this.commit(storage, "ADDED", o);
  }

  update(storage: string, obj: Obj, prev: Obj): Obj {
    return this.commit(storage, "MODIFIED", structuredClone(obj), prev);
  }

  delete(storage: string, ns: string, name: string): Obj | undefined {
    const o = this.bucket(storage).get(key(ns, name));
    return o && this.commit(storage, "DELETED", structuredClone(o));
  }

  private commit(storage: string, type: ChangeType, obj: Obj, prev?: Obj): Obj {
    obj.metadata.resourceVersion = String(++this.rv);
    const k = key(obj.metadata.namespace ?? "", obj.metadata.name);
    if (type === "DELETED") this.bucket(storage).delete(k);
    else this.bucket(storage).set(k, obj);
    const change: Change = { rv: this.rv, storage, type, obj: structuredClone(obj), ...(prev ? { prev: structuredClone(prev) } : {}) };
    this.history.push(change);
    while (this.history.length > this.historySize) this.compactedRv = this.history.shift()!.rv;
    for (const w of this.watchers) if (w.storage === storage) w.onChange(change);
    return structuredClone(obj);
  }

  /** Changes after `rv`, or an Expired message when the history no longer reaches back that far. */
  since(storage: string, rv: number): Change[] | { expired: string } {
    if (rv < this.compactedRv) return { expired: `too old resource version: ${rv} (${this.compactedRv})` };
    return this.history.filter((c) => c.rv > rv && c.storage === storage);
  }

  /** Drops the history up to now: any watch or continue from an older resourceVersion gets 410. */
  compact(): void {
    this.history.length = 0;
    this.compactedRv = this.rv;
  }
}
