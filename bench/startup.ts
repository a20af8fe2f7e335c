// Start-up: exec → probes attached (the agent's "probe attached" log line) → /readyz 200.
import { BenchAgent } from "./agent.ts";
import { loadavg } from "./proc.ts";

export interface StartupRun {
  /** To the agent's "probe: …" log line, just before it starts bpftrace. */
  chosenMs: number;
  attachedMs: number;
  readyMs: number;
  load1: number;
}

export async function startup(args: string[] = []): Promise<StartupRun> {
  const agent = new BenchAgent(args);
  try {
    const ready = await agent.ready();
    const attached = await agent.waitFor("the probe attached log line", () => agent.logAt("probe attached"), 10_000);
    const chosen = agent.logAt("probe: ")!;
    return { chosenMs: Number(chosen - agent.spawnedNs) / 1e6, attachedMs: Number(attached - agent.spawnedNs) / 1e6, readyMs: Number(ready - agent.spawnedNs) / 1e6, load1: loadavg()[0] };
  } finally {
    await agent.stop();
  }
}
