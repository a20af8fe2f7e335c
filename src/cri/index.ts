// The CRI name source as the agent wires it: endpoint from the config, counters into metrics.
import type { ConsolaInstance } from "consola";
import type { RunConfig } from "../config/run.ts";
import type { Metrics } from "../sinks/metrics.ts";
import { CriClient } from "./client.ts";
import { DEFAULT_SOCKETS, findSocket } from "./endpoint.ts";
import { CriNames } from "./resolver.ts";

/** How long the names of a container the runtime no longer lists are kept: kubelet may remove a pod right after its kill. */
const KEEP_GONE_MS = 5 * 60_000;

/** The started resolver, or null when CRI is off. */
export function criResolver(cfg: RunConfig, metrics: Metrics, log: ConsolaInstance): CriNames | null {
  const { endpoint } = cfg.cri;
  if (endpoint === "off") return null;
  // Connecting again after an outage must not repeat the log line.
  let said: string | null | undefined;
  const names = new CriNames({
    connect: () => {
      const path = endpoint === "auto" ? findSocket(cfg.hostRoot) : endpoint.path;
      if (path !== said) {
        if (path) log.info(`cri: naming pods through the runtime at ${path}`);
        else log.info(`cri: no runtime socket under ${cfg.hostRoot} (${DEFAULT_SOCKETS.join(", ")}); looking again every ${cfg.cri.resyncMs} ms`);
        said = path;
      }
      return path ? new CriClient(path) : null;
    },
    resyncMs: cfg.cri.resyncMs,
    keepMs: KEEP_GONE_MS,
    onCall: (call, outcome) => metrics.criRequest(call, outcome),
    onRefused: (reason) => metrics.pipeline("attribute", "skipped", `cri_${reason}`),
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m), debug: (m) => log.debug(m) },
  });
  names.start();
  return names;
}
