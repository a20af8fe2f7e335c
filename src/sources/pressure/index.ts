// The early-warning source: wires the monitor to the agent's log, metrics and name resolvers.
import type { ConsolaInstance } from "consola";
import type { PressureConfig } from "../../config/pressure.ts";
import { knownNames, withNames } from "../../attribute/names.ts";
import type { Metrics } from "../../sinks/metrics.ts";
import type { NameResolver, PressureEvent } from "../../types.ts";
import { defaultWalkRoot, HierarchyError } from "./cgroups.ts";
import { PressureMonitor } from "./monitor.ts";
import type { Heartbeat } from "../../heartbeat.ts";

export { PressureMonitor };

/**
 * Starts sampling, or returns null when it is off or cannot run here: a node without a memory
 * hierarchy still gets its kills reported. Throws when --pressure-cgroup-root names no memory cgroup.
 */
export function startPressure(o: {
  cfg: PressureConfig;
  hostRoot: string;
  node: string;
  log: ConsolaInstance;
  metrics: Metrics;
  resolvers: readonly NameResolver[];
  heartbeat: Heartbeat;
  onWarning(event: PressureEvent): void;
}): PressureMonitor | null {
  if (!o.cfg.enabled) return null;
  const failed = new Set<string>();
  let monitor: PressureMonitor;
  try {
    monitor = new PressureMonitor({
      walkRoot: o.cfg.cgroupRoot ?? defaultWalkRoot(o.hostRoot),
      intervalMs: o.cfg.intervalMs,
      windowMs: o.cfg.windowMs,
      thresholds: o.cfg.thresholds,
      node: o.node,
      onWarning: o.onWarning,
      onEstimate: (c, estimate) => {
        const id = withNames({ identity: c.identity, names: null }, knownNames(c.identity, o.resolvers)).identity;
        // Until a name source knows the pod, its UID and the container id keep the series apart.
        const labels = { namespace: id.pod?.namespace ?? "", pod: id.pod?.name ?? id.pod?.uid ?? "", container: id.container?.name ?? id.container?.id ?? "" };
        o.metrics.setTimeToOom(c.dir, labels, estimate?.seconds ?? null);
      },
      onError: (c, e) => {
        o.metrics.pipeline("source", "error", "pressure_read");
        // Once per cgroup: the same failure every interval would flood the log.
        if (!failed.has(c.dir)) o.log.warn(`early warning cannot read ${c.dir}: ${e.message}; that container is not watched`);
        failed.add(c.dir);
      },
    });
  } catch (e) {
    // A root the operator named must be right; without one, kills are still worth reporting.
    if (!(e instanceof HierarchyError) || o.cfg.cgroupRoot !== null) throw e;
    o.log.error(`early warning is off: ${e.message}`);
    return null;
  }
  monitor.start(o.heartbeat);
  const h = monitor.hierarchy;
  o.log.info(
    `early warning: ${monitor.containers} containers with a limit (cgroup ${h.version}${h.unified ? `, PSI from ${h.unified} where it has the container` : ""}), sampled every ${o.cfg.intervalMs} ms`,
  );
  return monitor;
}
