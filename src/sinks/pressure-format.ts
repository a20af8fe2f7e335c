// The memory_pressure event (NDJSON) and its text form (pure). The README documents every field.
import type { PressureEvent } from "../types.ts";
import { identityJson, oomTimeIso, round3, who } from "./format.ts";

export function pressureToJson(e: PressureEvent): Record<string, unknown> {
  const { sample: m, estimate: t } = e;
  return {
    kind: "memory_pressure",
    time: e.time.toISOString(),
    node: e.node,
    reasons: e.reasons,
    memory: {
      usage_bytes: m.usageBytes,
      working_set_bytes: m.workingSetBytes,
      limit_bytes: m.limitBytes,
      working_set_ratio: round3(m.workingSetBytes / m.limitBytes),
    },
    psi: m.psi ? { some_avg10: m.psi.someAvg10, full_avg10: m.psi.fullAvg10 } : null,
    time_to_oom: t
      ? {
          seconds: round3(t.seconds),
          low_seconds: round3(t.lowSeconds),
          high_seconds: round3(t.highSeconds),
          confidence: round3(t.confidence),
          oom_time: oomTimeIso(e.time, t.seconds),
          growth_bytes_per_second: Math.round(t.growthBytesPerSecond),
          samples: t.samples,
          span_seconds: round3(t.spanSeconds),
        }
      : null,
    cgroup: { path: e.cgroupPath },
    ...identityJson(e.identity, e.names),
  };
}

export function formatPressureNdjson(e: PressureEvent): string {
  return JSON.stringify(pressureToJson(e));
}

const MiB = 1 << 20;

export function formatPressureText(e: PressureEvent): string {
  const { sample: m, estimate: t } = e;
  return [
    e.time.toISOString(),
    `PRESSURE ${e.reasons.join(",")}`,
    `working-set=${(m.workingSetBytes / MiB).toFixed(1)}MiB/${(m.limitBytes / MiB).toFixed(1)}MiB`,
    t ? `time-to-oom=${t.seconds.toFixed(1)}s confidence=${t.confidence.toFixed(2)}` : "",
    m.psi ? `psi-full-avg10=${m.psi.fullAvg10}` : "",
    who(e.identity, e.cgroupPath),
  ]
    .filter(Boolean)
    .join(" ");
}
