// Early-warning options (`run`): citty definitions, environment fallbacks and validation (pure).
import type { PressureThresholds } from "../predict/warn.ts";
import { ConfigError } from "./errors.ts";

export const pressureArgs = {
  pressure: {
    type: "boolean",
    default: true,
    description: "Early warning: sample each container's memory against its limit and warn before it runs out; --no-pressure to skip",
  },
  "pressure-interval": { type: "string", default: "1000", description: "Milliseconds between samples [env OOMTRACE_PRESSURE_INTERVAL]" },
  "pressure-window": {
    type: "string",
    default: "30000",
    description: "Milliseconds of samples the growth fit looks back over [env OOMTRACE_PRESSURE_WINDOW]",
  },
  "pressure-time-to-oom": {
    type: "string",
    default: "300",
    description: "Warn when the limit will be reached within this many seconds at the growth seen; 0 turns it off [env OOMTRACE_PRESSURE_TIME_TO_OOM]",
  },
  "pressure-confidence": {
    type: "string",
    default: "0.6",
    description: "Least confidence (0 to 1) a time-to-OOM estimate needs to warn and to be exported [env OOMTRACE_PRESSURE_CONFIDENCE]",
  },
  "pressure-usage": {
    type: "string",
    default: "90",
    description: "Warn when the working set reaches this percent of the limit; 0 turns it off [env OOMTRACE_PRESSURE_USAGE]",
  },
  "pressure-psi": {
    type: "string",
    default: "10",
    description: "Warn when PSI full avg10 (percent of time all tasks stalled on memory) reaches this; 0 turns it off [env OOMTRACE_PRESSURE_PSI]",
  },
  "pressure-cgroup-root": {
    type: "string",
    description: "Directory where the search for container cgroups starts [env OOMTRACE_PRESSURE_CGROUP_ROOT; default: the memory hierarchy under --host-root]",
  },
} as const;

export interface PressureConfig {
  enabled: boolean;
  intervalMs: number;
  windowMs: number;
  thresholds: PressureThresholds;
  /** Null: the memory hierarchy under --host-root, found at start. */
  cgroupRoot: string | null;
}

/** A decimal within [min, max]; the flag's name and range go in the error. */
function decimal(flag: string, value: string, min: number, max: number, unit: string): number {
  const v = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (v >= min && v <= max) return v;
  throw new ConfigError(`--${flag} must be a number${unit ? ` of ${unit}` : ""} from ${min} to ${max}; got ${JSON.stringify(value)}`);
}

const offWhenZero = (v: number) => (v === 0 ? null : v);

export function resolvePressureConfig(args: Record<string, unknown>, pick: (flag: string, envName: string) => string): PressureConfig {
  const intervalMs = decimal("pressure-interval", pick("pressure-interval", "OOMTRACE_PRESSURE_INTERVAL"), 100, 600_000, "milliseconds");
  const windowMs = decimal("pressure-window", pick("pressure-window", "OOMTRACE_PRESSURE_WINDOW"), 1000, 3_600_000, "milliseconds");
  // The fit needs six samples, three in each half of the window.
  if (windowMs < 6 * intervalMs) {
    throw new ConfigError(`--pressure-window (${windowMs} ms) must hold at least 6 samples of --pressure-interval (${intervalMs} ms); raise the window or shorten the interval`);
  }
  const usage = decimal("pressure-usage", pick("pressure-usage", "OOMTRACE_PRESSURE_USAGE"), 0, 100, "percent");
  return {
    enabled: args.pressure !== false,
    intervalMs,
    windowMs,
    thresholds: {
      timeToOomSeconds: offWhenZero(decimal("pressure-time-to-oom", pick("pressure-time-to-oom", "OOMTRACE_PRESSURE_TIME_TO_OOM"), 0, 86_400, "seconds")),
      minConfidence: decimal("pressure-confidence", pick("pressure-confidence", "OOMTRACE_PRESSURE_CONFIDENCE"), 0, 1, ""),
      usageRatio: usage === 0 ? null : usage / 100,
      psiFullAvg10: offWhenZero(decimal("pressure-psi", pick("pressure-psi", "OOMTRACE_PRESSURE_PSI"), 0, 100, "percent")),
    },
    cgroupRoot: pick("pressure-cgroup-root", "OOMTRACE_PRESSURE_CGROUP_ROOT") || null,
  };
}
