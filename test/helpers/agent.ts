// Runs the compiled binary as a user would and collects what it prints.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const BINARY = join(import.meta.dir, "../../dist/oomtrace");

export interface NdjsonEvent {
  kind: string;
  time: string;
  node: string;
  constraint: string;
  constraint_source: string;
  scope: string;
  victim: { pid: number; tid: number | null; comm: string | null; anon_rss_kb: number | null; oom_score_adj: number | null; total_vm_kb: number | null };
  trigger: { pid: number | null; tid: number | null; comm: string | null };
  cgroup: { path: string | null; oom_path: string | null };
  container: { id: string | null; runtime: string | null; name: string | null };
  pod: { uid: string | null; qos: string | null; namespace: string | null; name: string | null; named_by: "apiserver" | "cri" | null };
  workload: { kind: string | null; unit: string | null };
  attribution: string;
  decision: string;
  kernel_time_ns: string;
  source: string;
  probe: string;
  warning: { time: string; reasons: string[]; time_to_oom_seconds: number | null; confidence: number | null; oom_time: string | null; lead_seconds: number } | null;
}

export interface PressureNdjson {
  kind: "memory_pressure";
  time: string;
  node: string;
  reasons: string[];
  memory: { usage_bytes: number; working_set_bytes: number; limit_bytes: number; working_set_ratio: number };
  psi: { some_avg10: number; full_avg10: number } | null;
  time_to_oom: {
    seconds: number;
    low_seconds: number;
    high_seconds: number;
    confidence: number;
    oom_time: string;
    growth_bytes_per_second: number;
    samples: number;
    span_seconds: number;
  } | null;
  cgroup: { path: string };
  container: NdjsonEvent["container"];
  pod: NdjsonEvent["pod"];
  workload: NdjsonEvent["workload"];
}

let nextPort = 19300 + Math.floor(Math.random() * 500);

export class AgentProcess {
  /** oom_kill events. */
  readonly events: NdjsonEvent[] = [];
  /** memory_pressure events (early warnings). */
  readonly pressure: PressureNdjson[] = [];
  readonly logs: Record<string, unknown>[] = [];
  readonly rawStdout: string[] = [];
  readonly port = nextPort++;
  readonly proc: Subprocess;
  readonly exited: Promise<number>;

  /** `command` runs the binary some other way: a chroot, or a launcher that execs the binary in its own mount namespace. */
  constructor(args: string[] = [], env: Record<string, string> = {}, command: string[] = [BINARY]) {
    if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run bun run build first`);
    this.proc = Bun.spawn(
      [...command, "run", "--node-name", "test-node", "--log-format", "json", "--log-level", "debug", "--metrics-bind-address", `127.0.0.1:${this.port}`, ...args],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } },
    );
    void this.pump(this.proc.stdout as ReadableStream<Uint8Array>, (l) => {
      this.rawStdout.push(l);
      const e = JSON.parse(l);
      if (e.kind === "memory_pressure") this.pressure.push(e);
      else this.events.push(e);
    });
    void this.pump(this.proc.stderr as ReadableStream<Uint8Array>, (l) => {
      try {
        this.logs.push(JSON.parse(l));
      } catch {
        this.logs.push({ msg: l, level: "raw" });
      }
    });
    this.exited = this.proc.exited;
  }

  private async pump(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) onLine(line);
      }
    }
  }

  async waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const v = probe();
      if (v) return v;
      await Bun.sleep(50);
    }
    throw new Error(`timed out waiting for ${what}\nstdout:\n${this.rawStdout.join("\n")}\nlogs:\n${this.logs.map((l) => JSON.stringify(l)).join("\n")}`);
  }

  /** Resolves when the probe is attached (the log says so and /readyz agrees). */
  async attached(timeoutMs = 60_000): Promise<void> {
    await this.waitFor("probe attached", () => this.logs.some((l) => String(l.msg).startsWith("probe attached")), timeoutMs);
    const r = await fetch(`http://127.0.0.1:${this.port}/readyz`);
    if (r.status !== 200) throw new Error(`/readyz said ${r.status} after the probe attached`);
  }

  eventFor(pid: number): NdjsonEvent | undefined {
    return this.events.find((e) => e.victim.pid === pid);
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
  }

  async stop(): Promise<number> {
    this.proc.kill("SIGTERM");
    return this.exited;
  }
}

/** Pids of running bpftrace processes whose parent is `ppid` (or any, without it). */
export async function bpftraceChildren(ppid?: number): Promise<number[]> {
  const out = await Bun.$`ps -eo pid=,ppid=,comm=`.quiet().text();
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([, pp, comm]) => comm === "bpftrace" && (ppid === undefined || Number(pp) === ppid))
    .map(([pid]) => Number(pid));
}

/** A process is gone when /proc has no entry or only a zombie (whatever reaps it here may not). */
export function isAlive(pid: number): boolean {
  try {
    const stat = require("node:fs").readFileSync(`/proc/${pid}/stat`, "utf8") as string;
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}
