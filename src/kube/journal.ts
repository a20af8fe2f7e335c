// What was done for each kill, kept in the state dir so that a restart acts on no kill twice,
// finishes what an outage or a stop left undone, and continues Event series instead of starting new ones.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface SeriesState {
  namespace: string;
  name: string;
  count: number;
  /** Date.now() of the last occurrence. */
  lastMs: number;
}

/** An action that was started and not finished: redone after a restart. */
export interface PendingKill {
  /** The OomEvent as JSON (bigint as a string). */
  event: string;
  /** Actions still to do. */
  todo: string[];
}

interface Doc {
  version: 1;
  bootId: string;
  done: Record<string, number>;
  pending: Record<string, PendingKill>;
  series: Record<string, SeriesState>;
}

/** Kill keys kept: enough to cover what a restart could bring back, small enough to rewrite per kill. */
const KEEP_DONE = 1000;
/** A series continues while the same thing repeats within this window (client-go uses 6 minutes). */
export const SERIES_WINDOW_MS = 6 * 60_000;

export class Journal {
  private doc: Doc;
  private readonly file: string;
  private writeFailed = false;

  /** `bootId` ties kill keys to one boot: kernel timestamps restart from zero at boot. */
  constructor(
    dir: string,
    readonly bootId: string,
    private readonly onError: (msg: string) => void,
  ) {
    this.file = join(dir, "kube-actions.json");
    this.doc = { version: 1, bootId, done: {}, pending: {}, series: {} };
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      onError(`cannot create --state-dir ${dir}: ${(e as Error).message}; a restart may act on a kill twice`);
    }
    let text: string | null = null;
    try {
      text = readFileSync(this.file, "utf8");
    } catch {
      // First start.
    }
    if (text !== null) {
      try {
        const d = JSON.parse(text) as Doc;
        if (d?.version === 1 && typeof d.done === "object" && typeof d.series === "object") {
          // After a reboot old kill keys cannot recur and pending work is about pods that are gone.
          this.doc = d.bootId === bootId ? { ...d, pending: d.pending ?? {} } : { ...this.doc, series: d.series };
        } else onError(`${this.file} is not a state file of this version; starting afresh`);
      } catch (e) {
        onError(`${this.file} is damaged (${(e as Error).message}); starting afresh`);
      }
    }
  }

  isDone(key: string): boolean {
    return key in this.doc.done;
  }

  pending(): [string, PendingKill][] {
    return Object.entries(this.doc.pending);
  }

  begin(key: string, p: PendingKill): void {
    this.doc.pending[key] = p;
    this.save();
  }

  /** One action of a kill finished (applied, or settled for good). */
  step(key: string, action: string): void {
    const p = this.doc.pending[key];
    if (!p) return;
    p.todo = p.todo.filter((a) => a !== action);
    this.save();
  }

  finish(key: string, now: number): void {
    delete this.doc.pending[key];
    this.doc.done[key] = now;
    const keys = Object.keys(this.doc.done);
    if (keys.length > KEEP_DONE) for (const k of keys.slice(0, keys.length - KEEP_DONE)) delete this.doc.done[k];
    this.save();
  }

  /** The open series for `key`, if its last occurrence is recent enough to continue it. */
  series(key: string, now: number): SeriesState | null {
    const s = this.doc.series[key];
    return s && now - s.lastMs < SERIES_WINDOW_MS ? s : null;
  }

  setSeries(key: string, s: SeriesState, now: number): void {
    this.doc.series[key] = s;
    for (const [k, v] of Object.entries(this.doc.series)) if (now - v.lastMs >= SERIES_WINDOW_MS) delete this.doc.series[k];
    this.save();
  }

  private save(): void {
    try {
      const tmp = `${this.file}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.doc));
      renameSync(tmp, this.file);
      this.writeFailed = false;
    } catch (e) {
      // Said once per spell of failures, not once per kill.
      if (!this.writeFailed) this.onError(`cannot write ${this.file}: ${(e as Error).message}; a restart may act on a kill twice`);
      this.writeFailed = true;
    }
  }
}
