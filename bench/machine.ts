// The machine and the versions a benchmark ran on, and its load while it ran.
import { readFileSync, statSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { AGENT_BINARY } from "./agent.ts";
import { ownMemoryCgroup } from "../test/helpers/cgroup.ts";
import { loadavg } from "./proc.ts";

export interface Machine {
  kernel: string;
  cpu: string;
  cores: number;
  memGiB: number;
  cgroupMemory: string;
  bun: string;
  bpftrace: string;
  oomtrace: string;
  binaryBytes: number;
}

const run = async (cmd: string[]): Promise<string> => {
  try {
    const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
    return (await new Response(p.stdout).text()).trim();
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
};

export async function machine(): Promise<Machine> {
  return {
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memGiB: totalmem() / 2 ** 30,
    cgroupMemory: ownMemoryCgroup().version,
    bun: Bun.version,
    bpftrace: await run(["bpftrace", "--version"]),
    oomtrace: await run([AGENT_BINARY, "--version"]),
    binaryBytes: statSync(AGENT_BINARY).size,
  };
}

/** The 1-minute load average, sampled every few seconds while a section runs. */
export class LoadWatch {
  readonly sections: { name: string; start: number; max: number; end: number }[] = [];
  private current: { name: string; start: number; max: number; end: number } | null = null;
  private readonly timer = setInterval(() => this.sample(), 5000);

  section(name: string): void {
    this.close();
    const l = loadavg()[0];
    this.current = { name, start: l, max: l, end: l };
  }

  private sample(): void {
    if (this.current) this.current.max = Math.max(this.current.max, loadavg()[0]);
  }

  close(): void {
    if (!this.current) return;
    this.sample();
    this.current.end = loadavg()[0];
    this.sections.push(this.current);
    this.current = null;
  }

  stop(): void {
    this.close();
    clearInterval(this.timer);
  }

  get max(): number {
    return Math.max(...this.sections.map((s) => s.max));
  }
}
