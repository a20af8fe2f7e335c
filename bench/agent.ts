// The compiled agent as a benchmark sees it: every stdout line and log line stamped with
// CLOCK_MONOTONIC at the moment this process received it.
import type { Subprocess } from "bun";
import { monotonicNs } from "../src/clock.ts";
import { BINARY, type NdjsonEvent } from "../test/helpers/agent.ts";
import { childrenNamed } from "./proc.ts";

export interface Stamped<T> {
  value: T;
  /** CLOCK_MONOTONIC ns when the chunk holding the line arrived here. */
  atNs: bigint;
}

/** The agent under test: dist/oomtrace, or another build given in OOMTRACE_BENCH_BINARY. */
export const AGENT_BINARY = process.env.OOMTRACE_BENCH_BINARY || BINARY;

let nextPort = 19800 + Math.floor(Math.random() * 400);

export class BenchAgent {
  /** oom_kill lines. */
  readonly events: Stamped<NdjsonEvent>[] = [];
  /** memory_pressure lines (early warnings, e.g. storm pods at their limit): kept apart, as they name no victim. */
  readonly warnings: Stamped<unknown>[] = [];
  readonly logs: Stamped<{ msg: string; level: string }>[] = [];
  readonly port = nextPort++;
  readonly proc: Subprocess;
  /** CLOCK_MONOTONIC ns just before the spawn. */
  readonly spawnedNs: bigint;
  private readonly done: Promise<void>[];

  constructor(args: string[], node = "bench-node") {
    this.spawnedNs = monotonicNs();
    this.proc = Bun.spawn(
      [AGENT_BINARY, "run", "--node-name", node, "--log-format", "json", "--log-level", "info", "--metrics-bind-address", `127.0.0.1:${this.port}`, ...args],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    this.done = [
      BenchAgent.lines(this.proc.stdout as ReadableStream<Uint8Array>, (line, atNs) => {
        const value = JSON.parse(line);
        (value.kind === "memory_pressure" ? this.warnings : this.events).push({ value, atNs });
      }),
      BenchAgent.lines(this.proc.stderr as ReadableStream<Uint8Array>, (line, atNs) => {
        let v: { msg: string; level: string };
        try {
          v = JSON.parse(line);
        } catch {
          v = { msg: line, level: "raw" };
        }
        this.logs.push({ value: v, atNs });
      }),
    ];
  }

  /** Splits a stream into lines; every line of one chunk carries the chunk's arrival time. */
  static async lines(stream: ReadableStream<Uint8Array>, onLine: (line: string, atNs: bigint) => void): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      const atNs = monotonicNs();
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) onLine(line, atNs);
      }
    }
  }

  /** Everything it logged, once it has exited. */
  async logText(): Promise<string> {
    await this.proc.exited;
    await Promise.all(this.done);
    return this.logs.map((l) => l.value.msg).join("\n");
  }

  async waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 60_000, everyMs = 20): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const v = probe();
      if (v) return v;
      if (this.proc.exitCode !== null) break;
      await Bun.sleep(everyMs);
    }
    const tail = this.logs.slice(-20).map((l) => l.value.msg).join("\n");
    throw new Error(`agent: timed out waiting for ${what} (exit code ${this.proc.exitCode}); last log lines:\n${tail}`);
  }

  /** The CLOCK_MONOTONIC ns of the first log line starting with `prefix`. */
  logAt(prefix: string): bigint | undefined {
    return this.logs.find((l) => l.value.msg.startsWith(prefix))?.atNs;
  }

  async readyz(): Promise<number> {
    try {
      return (await fetch(`http://127.0.0.1:${this.port}/readyz`)).status;
    } catch {
      return 0;
    }
  }

  /** Polls /readyz every 10 ms; the CLOCK_MONOTONIC ns of the first 200. */
  async ready(timeoutMs = 60_000): Promise<bigint> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.proc.exitCode === null) {
      if ((await this.readyz()) === 200) return monotonicNs();
      await Bun.sleep(10);
    }
    return this.waitFor<bigint>("/readyz 200", () => undefined, 0);
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
  }

  /** The bpftrace process the agent runs (setpriv execs it, so it is a direct child). */
  bpftracePid(): number | null {
    return childrenNamed(this.proc.pid, "bpftrace")[0] ?? null;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) this.proc.kill("SIGTERM");
    const r = await Promise.race([this.proc.exited, Bun.sleep(10_000).then(() => null)]);
    if (r === null) this.proc.kill("SIGKILL");
    await this.proc.exited;
  }
}
