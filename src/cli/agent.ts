// Runs the agent for a command (run, watch) until SIGTERM or SIGINT; exits 1 when it cannot start.
import type { ConsolaInstance } from "consola";
import { type AgentOptions, startAgent } from "../agent.ts";
import type { RunConfig } from "../config/run.ts";

export async function runAgentUntilSignal(cfg: RunConfig, log: ConsolaInstance, opts: AgentOptions): Promise<void> {
  let agent;
  try {
    agent = await startAgent(cfg, log, opts);
  } catch (e) {
    log.error((e as Error).message);
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping`);
    await agent.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
