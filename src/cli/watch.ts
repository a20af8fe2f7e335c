// `oomtrace watch`: the agent's pipeline with a live table (or NDJSON) on stdout, and nothing that writes to the cluster.
import { hostname } from "node:os";
import { defineCommand } from "citty";
import { resolveWatchConfig, watchArgs } from "../config/watch.ts";
import { runAgentUntilSignal } from "./agent.ts";
import { createLogger } from "../log.ts";
import { stdoutSink } from "../sinks/stdout.ts";
import { tableSink } from "../sinks/table/index.ts";
import { fail, filterFromArgs, given, rejectUnknown } from "./args.ts";

/** Colour only on a terminal, and never when NO_COLOR is set (no-color.org) or the terminal is dumb. */
export function wantsColor(isTTY: boolean, env: Record<string, string | undefined>): boolean {
  return isTTY && !env.NO_COLOR && env.TERM !== "dumb";
}

export const watch = defineCommand({
  meta: { name: "watch", description: "Watch OOM kills on this node live, as a table (read-only: never writes to the cluster)" },
  args: watchArgs,
  async run({ args, rawArgs }) {
    let cfg, filter;
    try {
      rejectUnknown(rawArgs, watchArgs);
      cfg = resolveWatchConfig(args, process.env, given(rawArgs), hostname().toLowerCase());
      filter = filterFromArgs(rawArgs, watchArgs, args, process.env);
    } catch (e) {
      fail(e);
    }
    const log = createLogger({ level: cfg.run.logLevel, format: cfg.run.logFormat });
    const out = process.stdout;
    // A reader that went away (`| head`) ends the watch quietly.
    out.on("error", () => process.exit(0));
    const write = (s: string) => void out.write(s);
    const table =
      cfg.output === "json"
        ? stdoutSink("ndjson", write)
        : tableSink({
            fields: cfg.fields,
            width: () => (out.isTTY ? out.columns || 80 : Number.POSITIVE_INFINITY),
            color: wantsColor(out.isTTY === true, process.env),
            write,
          });
    // Only the table, and the cluster read-only: the pod cache names kills, no writer is built.
    await runAgentUntilSignal(cfg.run, log, { outputs: [table], filter, writeToCluster: false });
  },
});
