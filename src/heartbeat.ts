// One timer for the agent's work that runs once a second. Each wake-up of a Bun process costs
// CPU on every node at rest: three 1 s timers out of step cost about twice what one does (bench/),
// so the pipeline's flush, early warning's samples and an idle kmsg poll share one wake-up.

export class Heartbeat {
  private readonly tasks = new Set<() => void>();
  private waiting: (() => void)[] = [];
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(readonly periodMs = 1000) {
    this.timer = setInterval(() => this.beat(), periodMs);
  }

  /** Runs `fn` at every beat until the returned function is called. */
  every(fn: () => void): () => void {
    this.tasks.add(fn);
    return () => void this.tasks.delete(fn);
  }

  /** Resolves at the next beat, or at once when `signal` aborts or the heartbeat stops. */
  next(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((done) => {
      const wake = () => {
        signal?.removeEventListener("abort", wake);
        this.waiting = this.waiting.filter((w) => w !== wake);
        done();
      };
      this.waiting.push(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.tasks.clear();
    for (const w of [...this.waiting]) w();
  }

  private beat(): void {
    for (const w of [...this.waiting]) w();
    for (const fn of this.tasks) fn();
  }
}
