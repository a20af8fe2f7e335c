// `oomtrace run` options: citty definitions, environment fallbacks and validation (pure).
import { LOG_LEVELS, type LogFormat, type LogLevelName } from "../log.ts";
import { PROBE_MODES, type ProbeMode } from "../probe/choose.ts";
import { ConfigError } from "./errors.ts";
import { filterArgs } from "./filter.ts";
import { kubeArgs, resolveKubeConfig, type KubeConfig } from "./kube.ts";
import { pressureArgs, resolvePressureConfig, type PressureConfig } from "./pressure.ts";

export { ConfigError };

export const runArgs = {
  "node-name": { type: "string", description: "Node name put on every event [env NODE_NAME; default: hostname]" },
  output: { type: "string", default: "ndjson", description: "What goes to stdout: ndjson | text | none (logs go to stderr)" },
  "log-level": { type: "string", default: "info", description: "silent | error | warn | info | debug | trace [env OOMTRACE_LOG_LEVEL]" },
  "log-format": { type: "string", default: "fancy", description: "fancy | json [env OOMTRACE_LOG_FORMAT]" },
  "metrics-bind-address": {
    type: "string",
    default: ":9102",
    description: "host:port for /metrics, /healthz and /readyz; empty disables [env OOMTRACE_METRICS_BIND_ADDRESS]",
  },
  "metrics-pod-labels": {
    type: "boolean",
    default: true,
    description: "Per-pod kill counter (namespace/pod/container labels); --no-metrics-pod-labels for large clusters",
  },
  probe: { type: "string", description: "Run this bpftrace script instead of the built-in probe (README: probe output contract)" },
  "probe-mode": { type: "string", default: "auto", description: "auto | fentry | kprobe | tracepoint: force one built-in probe [env OOMTRACE_PROBE_MODE]" },
  bpftrace: { type: "string", default: "bpftrace", description: "bpftrace executable [env OOMTRACE_BPFTRACE]" },
  kmsg: { type: "boolean", default: true, description: "Also read the kernel log (/dev/kmsg) to confirm kills and catch those bpftrace misses; --no-kmsg to skip" },
  "host-root": { type: "string", default: "/", description: "Where the host's /proc and /sys are mounted when run in a container [env OOMTRACE_HOST_ROOT]" },
  "name-wait": {
    type: "string",
    default: "2000",
    description: "Milliseconds a kill in a pod no name source knows yet waits for its names before going out without them [env OOMTRACE_NAME_WAIT]",
  },
  ...filterArgs,
  ...kubeArgs,
  ...pressureArgs,
} as const;

/** What citty hands over for flags not given: each definition's default. */
export function argDefaults(defs: Record<string, { type?: string; default?: unknown }>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(defs).flatMap(([flag, def]) => ("default" in def ? [[flag, def.default]] : [])));
}

/** Some of run's flags, for another command that takes them with the same meaning. */
export const runArgsOf = <K extends keyof typeof runArgs>(...keys: K[]) => Object.fromEntries(keys.map((k) => [k, runArgs[k]])) as Pick<typeof runArgs, K>;

export interface RunConfig {
  nodeName: string;
  output: "ndjson" | "text" | "none";
  logLevel: LogLevelName;
  logFormat: LogFormat;
  metricsBindAddress: string;
  metricsPodLabels: boolean;
  probeFile: string | null;
  probeMode: ProbeMode | "auto";
  bpftrace: string;
  kmsg: boolean;
  hostRoot: string;
  nameWaitMs: number;
  kube: KubeConfig;
  pressure: PressureConfig;
}

export function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`--${flag} must be one of ${allowed.join(", ")}; got ${JSON.stringify(value)}`);
}

function milliseconds(flag: string, value: string, max: number): number {
  if (/^\d{1,6}$/.test(value) && Number(value) <= max) return Number(value);
  throw new ConfigError(`--${flag} must be a whole number of milliseconds from 0 to ${max}; got ${JSON.stringify(value)}`);
}

/**
 * Reads one option: a flag given on the command line wins, then its environment variable, then the
 * flag's default. An empty variable counts as unset (a Helm value left blank), except where empty means "off".
 */
export function flagOrEnv(
  args: Record<string, unknown>,
  env: Record<string, string | undefined>,
  given: (flag: string) => boolean,
): (flag: string, envName: string, emptyMeansOff?: boolean) => string {
  return (flag, envName, emptyMeansOff = false) => {
    const fromEnv = env[envName];
    const v = given(flag) ? args[flag] : fromEnv !== undefined && (fromEnv !== "" || emptyMeansOff) ? fromEnv : args[flag];
    return typeof v === "string" ? v : String(v ?? "");
  };
}

/** Flags win; the environment fills what was not given on the command line. */
export function resolveRunConfig(
  args: Record<string, unknown>,
  env: Record<string, string | undefined>,
  given: (flag: string) => boolean,
  hostname: string,
): RunConfig {
  const pick = flagOrEnv(args, env, given);
  const nodeName = pick("node-name", "NODE_NAME") || hostname;
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) {
    throw new ConfigError(`node name ${JSON.stringify(nodeName)} is not a valid Kubernetes node name (lowercase DNS subdomain); set --node-name or NODE_NAME`);
  }
  return {
    nodeName,
    output: oneOf("output", pick("output", "OOMTRACE_OUTPUT"), ["ndjson", "text", "none"] as const),
    logLevel: oneOf("log-level", pick("log-level", "OOMTRACE_LOG_LEVEL"), Object.keys(LOG_LEVELS) as LogLevelName[]),
    logFormat: oneOf("log-format", pick("log-format", "OOMTRACE_LOG_FORMAT"), ["fancy", "json"] as const),
    metricsBindAddress: pick("metrics-bind-address", "OOMTRACE_METRICS_BIND_ADDRESS", true),
    metricsPodLabels: args["metrics-pod-labels"] !== false,
    probeFile: pick("probe", "OOMTRACE_PROBE") || null,
    probeMode: oneOf("probe-mode", pick("probe-mode", "OOMTRACE_PROBE_MODE"), ["auto", ...PROBE_MODES] as const),
    bpftrace: pick("bpftrace", "OOMTRACE_BPFTRACE") || "bpftrace",
    kmsg: args.kmsg !== false,
    hostRoot: pick("host-root", "OOMTRACE_HOST_ROOT") || "/",
    nameWaitMs: milliseconds("name-wait", pick("name-wait", "OOMTRACE_NAME_WAIT"), 60_000),
    kube: resolveKubeConfig(pick, args, env, given),
    pressure: resolvePressureConfig(args, pick),
  };
}
