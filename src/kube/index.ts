// Connects the agent to Kubernetes: the pod cache as the first name resolver, the actions as a sink.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConsolaInstance } from "consola";
import type { Registry } from "prom-client";
import { ConfigError } from "../config/errors.ts";
import type { KubeConfig } from "../config/kube.ts";
import { kubeSink } from "../sinks/kube.ts";
import type { NameResolver, Sink } from "../types.ts";
import { accessReport, checkAccess, requiredPermissions } from "./access.ts";
import { KubeClient } from "./client.ts";
import { ConnectionError, fromKubeconfig, inCluster, type Connection } from "./connection.ts";
import { Journal } from "./journal.ts";
import { KubeMetrics } from "./metrics.ts";
import { PodCache } from "./pod-cache.ts";

export interface KubeParts {
  resolver: NameResolver;
  /** The writers (annotation, condition, Events); null when read-only. */
  sink: Sink | null;
  stop(): Promise<void>;
}

/** The connection the options ask for; null means standalone. */
export function chooseConnection(cfg: KubeConfig, env: Record<string, string | undefined>): Connection | null {
  if (cfg.mode === "off") return null;
  try {
    if (cfg.kubeconfig) return fromKubeconfig(cfg.kubeconfig);
    const c = inCluster(env);
    if (c || cfg.mode === "auto") return c;
  } catch (e) {
    if (e instanceof ConnectionError) throw new ConfigError(e.message);
    throw e;
  }
  throw new ConfigError("--kubernetes on, but there is no in-cluster service account (KUBERNETES_SERVICE_HOST and its token) and no --kubeconfig");
}

function bootId(hostRoot: string): string {
  try {
    return readFileSync(join(hostRoot, "/proc/sys/kernel/random/boot_id"), "utf8").trim();
  } catch {
    return "unknown-boot";
  }
}

export function startKube(o: {
  cfg: KubeConfig;
  node: string;
  hostRoot: string;
  log: ConsolaInstance;
  registry: Registry;
  env: Record<string, string | undefined>;
  /** False for `watch`: the pod cache only, no writer, and only the read permissions are checked. */
  write: boolean;
}): KubeParts | null {
  const conn = chooseConnection(o.cfg, o.env);
  if (!conn) {
    if (o.cfg.mode === "auto") o.log.info("Kubernetes: no in-cluster service account and no --kubeconfig; running standalone (no pod names from the API server, no annotations, conditions or Events)");
    return null;
  }
  const log = o.log.withTag("kube");
  const metrics = new KubeMetrics(o.registry);
  const client = new KubeClient(conn, { qps: o.cfg.qps, burst: o.cfg.burst });
  log.info(`Kubernetes: API server ${conn.server} (${conn.origin}), pods of node ${o.node}`);
  if (o.write && o.cfg.eventCommandLine && o.cfg.events)
    log.warn(
      "--event-command-line: pod Events show the victim container's command and args as the pod spec writes them ($(VAR) unexpanded, never env); anyone who may read Events in the pod's namespace sees them, and args may hold secrets",
    );

  // An outage is said once when it starts and once when it ends, not once per retry.
  let down: string | null = null;
  const cache = new PodCache({
    client,
    node: o.node,
    onError: (what, e) => {
      const msg = (e as Error).message;
      if (down === null) log.warn(`${what} failed: ${msg}; kills are reported without pod names until the API server answers (retrying with backoff)`);
      down = msg;
    },
    onChange: (pods) => metrics.podsCached(pods),
    onSkipped: () => metrics.malformedPod(),
    onSynced: (pods, relist) => {
      if (down !== null) log.info(`API server answers again: ${pods} pods of node ${o.node} listed`);
      else if (!relist) log.info(`pod cache synced: ${pods} pods of node ${o.node}`);
      down = null;
    },
  });
  cache.start();

  const sink = o.write ? kubeSink({ client, cache, cfg: o.cfg, node: o.node, journal: new Journal(o.cfg.stateDir, bootId(o.hostRoot), (m) => log.warn(m)), metrics, log }) : null;
  sink?.resume();

  // What the options need, checked once; missing rights are logged, the agent keeps running.
  const actions = o.write ? o.cfg : { annotation: null, condition: null, events: false };
  void checkAccess(client, requiredPermissions(actions)).then((r) => {
    for (const line of accessReport(r)) {
      if (r.missing.length) log.error(line);
      else log.warn(line);
    }
  });

  return {
    resolver: cache,
    sink,
    async stop() {
      await sink?.close?.();
      await cache.stop();
    },
  };
}
