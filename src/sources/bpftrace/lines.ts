// What each line of `bpftrace -f json` means to the agent: readiness, losses, or a contract record.
import type { ConsolaInstance } from "consola";
import { decodeBpftraceLine } from "../../decode/bpftrace-line.ts";
import { decodeRecord, type ProbeRecord } from "../../decode/records.ts";
import type { Metrics } from "../../sinks/metrics.ts";
import type { ProbeScript } from "./supervisor.ts";

/** Returns the supervisor's line handler; records of the contract go to `onRecord`. */
export function bpftraceLineHandler(deps: {
  metrics: Metrics;
  log: ConsolaInstance;
  onRecord: (record: ProbeRecord) => void;
}): (line: string, script: ProbeScript) => "attached" | void {
  const { metrics, log } = deps;
  return (line, script) => {
    const mode = script.mode;
    const d = decodeBpftraceLine(line);
    if (!d.ok) {
      metrics.pipeline("decode", "error", d.error.code);
      log.warn(`bpftrace line skipped (${d.error.code}): ${d.error.message}`);
      return;
    }
    const v = d.value;
    switch (v.type) {
      case "attached":
        // The built-in probe says it is ready from BEGIN: bpftrace prints attached_probes before attaching.
        if (script.announcesReady) {
          log.debug(`bpftrace is attaching ${v.probes} probes (${mode})`);
          return;
        }
        log.info(`probe attached: ${mode}, ${v.probes} probes`);
        return "attached";
      case "lost":
        metrics.lostEvents("bpftrace", v.count);
        log.warn(`bpftrace lost ${v.count} events: the kernel buffer overflowed; kmsg covers the kills it can`);
        return;
      case "helper_error":
        metrics.pipeline("decode", "error", "helper_error");
        log.debug(`bpftrace helper error: ${v.message}`);
        return;
      case "printf":
        metrics.pipeline("decode", "skipped", "printf");
        log.debug(`bpftrace printf ignored (the contract uses print tuples): ${v.text}`);
        return;
      case "ignored":
        return;
      case "value": {
        const r = decodeRecord(v.data);
        if (!r.ok) {
          metrics.pipeline("decode", "error", "contract");
          log.warn(`probe output breaks the contract: ${r.error.message}; line: ${line.slice(0, 200)}`);
          return;
        }
        if (r.value.tag === "ready") {
          log.info(`probe attached: ${mode}`);
          return "attached";
        }
        if (r.value.tag === "sym") {
          log.debug(`bpftrace loaded kernel symbols (${r.value.name})`);
          return;
        }
        metrics.pipeline("decode", "observed", r.value.tag);
        deps.onRecord(r.value);
        return;
      }
    }
  };
}
