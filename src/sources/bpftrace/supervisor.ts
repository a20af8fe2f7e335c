// Runs bpftrace as a supervised child: richest probe first, falling back when a probe
// cannot attach, restarting with backoff when a running one dies.
import { writeFileSync } from "node:fs";
import { execa } from "execa";
import { splitLines } from "../split-lines.ts";

export interface ProbeScript {
  /** fentry, kprobe, tracepoint, or user:<file>. */
  mode: string;
  text: string;
  /** The script prints ("ready", 1) from BEGIN; without it, bpftrace's attached_probes line stands in. */
  announcesReady: boolean;
}

/**
 * The environment every built-in probe runs with. 128 bytes hold a kubelet container scope name
 * (85 characters) and fit the BPF stack; 0.23 renamed the variable, and each version reads its own name.
 * 256 pages (1 MiB) of output buffer hold a burst of several hundred kills: 0.17 allocates them per
 * CPU (perf buffers), 0.18 and later once for all CPUs (a ring buffer); bpftrace's default is 64.
 * glibc keeps what LLVM freed after the compile in per-thread arenas and above its (self-raising)
 * trim threshold: one arena and a fixed 4 MiB threshold took bpftrace's anon RSS at rest from 57 to
 * 43 MiB (bench/). A threshold of 0 saved 1 MiB more but trimmed at every free: 3x bpftrace's CPU in a storm.
 */
export const PROBE_ENV: Readonly<Record<string, string>> = {
  BPFTRACE_STRLEN: "128",
  BPFTRACE_MAX_STRLEN: "128",
  BPFTRACE_PERF_RB_PAGES: "256",
  MALLOC_ARENA_MAX: "1",
  MALLOC_TRIM_THRESHOLD_: String(4 << 20),
};

export type SupervisorState = "starting" | "attached" | "down" | "stopped";

export interface SupervisorOptions {
  bpftrace: string;
  scripts: ProbeScript[];
  env?: Record<string, string>;
  /** Each stdout line; return "attached" when the line says every probe is attached. */
  onLine: (line: string, script: ProbeScript) => "attached" | void;
  onStderr: (line: string, mode: string) => void;
  onState: (state: SupervisorState, detail: { mode: string; reason?: string }) => void;
  /** A mode failed before attaching and the next one is tried. */
  onFallback?: (from: string, to: string, reason: string) => void;
  /** A probe that had attached died and will be restarted. */
  onRestart?: (mode: string, reason: string, delayMs: number) => void;
  backoff?: { initialMs: number; maxMs: number };
  spawn?: typeof spawnBpftrace;
}

export interface Child {
  pid: number | undefined;
  lines(from: "stdout" | "stderr"): AsyncIterable<string>;
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal: NodeJS.Signals): void;
}

/** Keeps bpftrace out of the OOM killer's choice: it is often the trigger of a global OOM. */
function protectFromOom(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, "-1000");
  } catch {
    // Without CAP_SYS_RESOURCE the kernel refuses; bpftrace then runs at the default score.
  }
}

/**
 * The kernel kills bpftrace when the agent dies, even by SIGKILL: setpriv sets the parent-death
 * signal and execs bpftrace in the same process. Bun's --no-orphans only acts on a clean exit.
 */
function command(bpftrace: string): [string, string[]] {
  const args = ["-f", "json", "-"];
  const setpriv = Bun.which("setpriv");
  return setpriv ? [setpriv, ["--pdeathsig", "KILL", bpftrace, ...args]] : [bpftrace, args];
}

export function spawnBpftrace(bpftrace: string, script: string, env: Record<string, string>): Child {
  const [file, args] = command(bpftrace);
  const sub = execa(file, args, {
    input: script,
    buffer: false,
    reject: false,
    env,
    stdout: "pipe",
    stderr: "pipe",
    // bpftrace exits in about 0.3 s on SIGTERM; one that hangs is killed.
    forceKillAfterDelay: 3000,
  });
  protectFromOom(sub.pid);
  return {
    pid: sub.pid,
    lines: (from) => splitLines(sub[from]!),
    exited: sub.then((r) => ({ code: r.exitCode ?? null, signal: r.signal ?? null })),
    kill: (signal) => sub.kill(signal),
  };
}

export class BpftraceSupervisor {
  private child: Child | null = null;
  private stopping = false;
  private mode = 0;
  private delay: number;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly o: SupervisorOptions) {
    if (o.scripts.length === 0) throw new Error("no probe script to run");
    this.delay = o.backoff?.initialMs ?? 1000;
  }

  get currentMode(): string {
    return this.o.scripts[this.mode]!.mode;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    // bpftrace 0.17 can miss a SIGTERM in its first moments after attaching (measured: one sent
    // 0–50 ms after "ready" was lost every time); ask again until it goes, or is killed after 3 s.
    const again = setInterval(() => this.child?.kill("SIGTERM"), 500);
    this.child?.kill("SIGTERM");
    try {
      await this.loop;
    } finally {
      clearInterval(again);
    }
    this.o.onState("stopped", { mode: this.currentMode });
  }

  private async run(): Promise<void> {
    const { initialMs, maxMs } = this.o.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    while (!this.stopping) {
      const script = this.o.scripts[this.mode]!;
      const { mode, text } = script;
      this.o.onState("starting", { mode });
      const startedAt = Date.now();
      const spawn = this.o.spawn ?? spawnBpftrace;
      const child = spawn(this.o.bpftrace, text, { ...process.env, ...this.o.env } as Record<string, string>);
      this.child = child;
      let attached = false;
      const stderrTail: string[] = [];
      const out = (async () => {
        for await (const line of child.lines("stdout")) {
          if (this.o.onLine(line, script) === "attached" && !attached) {
            attached = true;
            this.o.onState("attached", { mode });
          }
        }
      })();
      const err = (async () => {
        for await (const line of child.lines("stderr")) {
          if (line.trim() === "") continue;
          stderrTail.push(line);
          if (stderrTail.length > 5) stderrTail.shift();
          this.o.onStderr(line, mode);
        }
      })();
      const exit = await child.exited;
      await Promise.allSettled([out, err]);
      this.child = null;
      if (this.stopping) return;
      const reason = `bpftrace exited (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`})${stderrTail.length ? `: ${stderrTail.join(" | ")}` : ""}`;
      this.o.onState("down", { mode, reason });
      if (!attached && this.mode < this.o.scripts.length - 1) {
        const next = this.o.scripts[this.mode + 1]!.mode;
        this.o.onFallback?.(mode, next, reason);
        this.mode++;
        continue;
      }
      // A probe that ran a good while before dying starts over from the short delay.
      if (attached && Date.now() - startedAt > 60_000) this.delay = initialMs;
      this.o.onRestart?.(mode, reason, this.delay);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      this.delay = Math.min(this.delay * 2, maxMs);
    }
  }
}
