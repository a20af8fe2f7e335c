// Writes each event as one line on stdout (NDJSON or text); logs go to stderr.
import type { OomEvent, PressureEvent, Sink } from "../types.ts";
import { formatNdjson, formatText } from "./format.ts";
import { formatPressureNdjson, formatPressureText } from "./pressure-format.ts";

export function stdoutSink(format: "ndjson" | "text", write: (s: string) => void = (s) => process.stdout.write(s)): Sink {
  const fmt = format === "ndjson" ? formatNdjson : formatText;
  const fmtPressure = format === "ndjson" ? formatPressureNdjson : formatPressureText;
  return {
    name: `stdout-${format}`,
    write: (e: OomEvent) => write(fmt(e) + "\n"),
    pressure: (e: PressureEvent) => write(fmtPressure(e) + "\n"),
  };
}
