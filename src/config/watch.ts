// `oomtrace watch` options: the run flags it shares (same definitions), its own output flags, validation (pure).
import { DEFAULT_FIELDS, type Field, FIELDS } from "../sinks/table/columns.ts";
import { ConfigError } from "./errors.ts";
import { filterArgs } from "./filter.ts";
import { argDefaults, flagOrEnv, oneOf, resolveRunConfig, runArgs, runArgsOf, type RunConfig } from "./run.ts";

export const watchArgs = {
  output: { type: "string", alias: "o", default: "columns", description: "columns (a table) | json (one NDJSON event per line, as run writes) [env OOMTRACE_WATCH_OUTPUT]" },
  fields: {
    type: "string",
    description: `Columns to show, comma separated, from ${FIELDS.join(", ")} [env OOMTRACE_WATCH_FIELDS; default: ${DEFAULT_FIELDS.join(",")}]`,
  },
  ...filterArgs,
  ...runArgsOf("node-name", "bpftrace", "probe", "probe-mode", "kmsg", "host-root", "name-wait", "log-format"),
  // The API server names pods for the table and the filters; watch never writes to it.
  ...runArgsOf("kubernetes", "kubeconfig", "kube-qps", "kube-burst"),
  // The table is on the terminal: only warnings and errors go to stderr beside it unless asked.
  "log-level": { ...runArgs["log-level"], default: "warn" },
} as const;

export interface WatchConfig {
  /** The agent's configuration: no metrics server, no stdout sink of its own. */
  run: RunConfig;
  output: "columns" | "json";
  fields: Field[];
}

/** What watch never does, whatever the environment says: serve metrics or write run's stdout. */
const FORCED: Record<string, unknown> = { output: "none", "metrics-bind-address": "", "metrics-pod-labels": false };

export function resolveWatchConfig(
  args: Record<string, unknown>,
  env: Record<string, string | undefined>,
  given: (flag: string) => boolean,
  hostname: string,
): WatchConfig {
  const pick = flagOrEnv(args, env, given);
  const output = oneOf("output", pick("output", "OOMTRACE_WATCH_OUTPUT"), ["columns", "json"] as const);
  const fieldsText = pick("fields", "OOMTRACE_WATCH_FIELDS");
  if (fieldsText && output === "json") throw new ConfigError("--fields chooses table columns; -o json always writes the whole event");
  const fields = fieldsText ? fieldsText.split(",").map((f) => f.trim()) : [...DEFAULT_FIELDS];
  for (const f of fields) {
    if (!(FIELDS as readonly string[]).includes(f)) throw new ConfigError(`--fields: ${JSON.stringify(f)} is not a column; use ${FIELDS.join(", ")}`);
  }
  if (new Set(fields).size !== fields.length) throw new ConfigError(`--fields names a column twice: ${fieldsText}`);
  // run's flags that watch does not take keep their defaults (the writers they configure never run).
  const run = resolveRunConfig({ ...argDefaults(runArgs), ...args, ...FORCED }, env, (f) => f in FORCED || given(f), hostname);
  return { run, output, fields: fields as Field[] };
}
