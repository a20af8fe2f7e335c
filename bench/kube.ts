// The Kubernetes side against the test API server: start-up to ready with the pod cache synced,
// kill → annotation latency (to the moment the server accepted the patch), and API requests
// per kill and at rest.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monotonicNs } from "../src/clock.ts";
import { makePod } from "../test/apiserver/fixtures.ts";
import { startApiServer, type ApiServer, type RequestRecord } from "../test/apiserver/server.ts";
import { BenchAgent } from "./agent.ts";
import type { KillLab, Pod } from "./kills.ts";
import { loadavg } from "./proc.ts";
import { quantile } from "./stats.ts";

export const ANNOTATION = "oomtrace.bench/victim";
const NAMESPACE = "bench";

/** Where accepted patches to pods land, by pod name, with the CLOCK_MONOTONIC ns of acceptance. */
export class KubeLab {
  readonly patchedAt = new Map<string, bigint>();
  private readonly stateDir = mkdtempSync(join(tmpdir(), "oomtrace-bench-state-"));
  private constructor(readonly api: ApiServer) {}

  static async start(): Promise<KubeLab> {
    let lab: KubeLab | undefined;
    const onResponse = (r: RequestRecord) => {
      const m = /^\/api\/v1\/namespaces\/[^/]+\/pods\/([^/]+)$/.exec(r.path);
      if (r.method === "PATCH" && m && r.code >= 200 && r.code < 300 && !lab!.patchedAt.has(m[1]!)) lab!.patchedAt.set(m[1]!, monotonicNs());
    };
    lab = new KubeLab(await startApiServer({ onResponse }));
    return lab;
  }

  /** The agent flags of issue 3 (Kubernetes writers): annotate memcg victims. */
  agentArgs(): string[] {
    return [
      "--kubernetes", "on",
      "--kubeconfig", this.api.kubeconfigPath("token"),
      "--victim-annotation", `${ANNOTATION}=yes`,
      "--victim-annotation-kinds", "memcg",
      "--state-dir", this.stateDir,
    ];
  }

  /**
   * Pods as on a busy cluster, before the agent starts: a full node (kubelet's default limit,
   * 110 pods) and pods of other nodes, which the agent's node-scoped list must not fetch.
   */
  populate(node: string, onNode = 110, elsewhere = 1000): void {
    for (let i = 0; i < onNode + elsewhere; i++) {
      const here = i < onNode;
      this.api.state.create(makePod({ name: `filler-${i}`, namespace: NAMESPACE, nodeName: here ? node : `other-node-${i % 50}` }));
    }
  }

  /** A pod object on our node whose UID and container id match the cgroup `pod`. */
  register(pod: Pod, node: string): string {
    const name = `bench-${pod.uid.slice(0, 8)}`;
    const obj = makePod({ name, namespace: NAMESPACE, nodeName: node, uid: pod.uid, qos: "BestEffort" });
    obj.status.containerStatuses[0].containerID = `containerd://${pod.containerId}`;
    this.api.state.create(obj);
    return name;
  }

  async stop(): Promise<void> {
    await this.api.stop();
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/**
 * Starts an agent with the Kubernetes flags and waits for /readyz. "unavailable", with the
 * agent's words, when this build does not know the flags (the writers are not merged yet) or
 * cannot start with them.
 */
export async function startKubeAgent(kube: KubeLab): Promise<({ agent: BenchAgent } & KubeStartup) | { unavailable: string }> {
  const from = kube.api.state.log.length;
  const agent = new BenchAgent(kube.agentArgs());
  try {
    const ready = await agent.ready();
    const attached = agent.logAt("probe attached");
    return {
      agent,
      readyMs: Number(ready - agent.spawnedNs) / 1e6,
      attachedMs: attached === undefined ? NaN : Number(attached - agent.spawnedNs) / 1e6,
      requests: requestsByKind(kube.api.state.log.slice(from)),
    };
  } catch (e) {
    await agent.stop();
    const said = (await agent.logText()).split("\n").filter((l) => l.trim());
    return { unavailable: said.find((l) => /unknown flag|error|cannot|failed/i.test(l)) ?? said.at(-1) ?? (e as Error).message };
  }
}

export interface KubeStartup {
  readyMs: number;
  attachedMs: number;
  /** API requests from exec to ready, by kind. */
  requests: Record<string, number>;
}

export interface AnnotationRun {
  kills: number;
  annotated: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** API requests during the kills, per kill. */
  requestsPerKill: number;
  requestsByKind: Record<string, number>;
  load1: number;
}

/** Kinds of request, with object names folded so a table stays short. */
const requestKind = (r: RequestRecord) => `${r.method} ${r.path.replace(/\/namespaces\/[^/]+/, "/namespaces/*").replace(/\/(pods|events)\/[^/]+/, "/$1/*")}`;

export function requestsByKind(records: RequestRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[requestKind(r)] = (out[requestKind(r)] ?? 0) + 1;
  return out;
}

/** `kills` kills one after another, each in a fresh pod the pod cache knows, waiting for each patch. */
export async function annotationLatency(agent: BenchAgent, kube: KubeLab, lab: KillLab, kills: number, node: string): Promise<AnnotationRun> {
  const pods = Array.from({ length: kills }, () => lab.pod());
  const names = pods.map((p) => kube.register(p, node));
  // Let the watch deliver the new pods to the agent's cache before the first kill.
  await Bun.sleep(2000);
  const fromRequest = kube.api.state.log.length;
  const ms: number[] = [];
  for (const [i, pod] of pods.entries()) {
    const { pid, signal } = await lab.killOnce(pod);
    if (signal !== "SIGKILL") throw new Error(`victim ${pid} ended with ${signal ?? "an exit code"}, not the OOM killer's SIGKILL`);
    const e = await agent.waitFor(`the event for victim ${pid}`, () => agent.events.find((x) => x.value.victim.pid === pid), 10_000, 2).catch(() => null);
    const at = await agent.waitFor(`the patch of ${names[i]}`, () => kube.patchedAt.get(names[i]!), 5_000, 2).catch(() => null);
    if (e && at) ms.push(Number(at - BigInt(e.value.kernel_time_ns)) / 1e6);
  }
  // Events and other writes may trail the patch: count what the kills caused once it is quiet.
  await Bun.sleep(2000);
  const during = kube.api.state.log.slice(fromRequest);
  return {
    kills,
    annotated: ms.length,
    p50Ms: quantile(ms, 0.5),
    p99Ms: quantile(ms, 0.99),
    maxMs: Math.max(...ms),
    requestsPerKill: during.length / kills,
    requestsByKind: requestsByKind(during),
    load1: loadavg()[0],
  };
}

/** Requests the agent makes while nothing happens, over `seconds`. */
export async function requestsAtRest(kube: KubeLab, seconds: number): Promise<{ seconds: number; requests: number; byKind: Record<string, number> }> {
  const from = kube.api.state.log.length;
  await Bun.sleep(seconds * 1000);
  const during = kube.api.state.log.slice(from);
  return { seconds, requests: during.length, byKind: requestsByKind(during) };
}

export type KubeResults =
  | { unavailable: string }
  | {
      startups: KubeStartup[];
      rest: { seconds: number; requests: number; byKind: Record<string, number> };
      annotation: AnnotationRun;
    };

/**
 * Start-up to ready with the pod cache synced (`startups` times), requests at rest, then kill →
 * annotation. Agents it starts go into `agents`, so that an interrupted run stops them.
 */
export async function kubePart(
  kube: KubeLab,
  lab: KillLab,
  agents: BenchAgent[],
  plan: { kubeStartupRuns: number; restSeconds: number; annotationKills: number },
  node: string,
  say: (s: string) => void,
): Promise<KubeResults> {
  kube.populate(node);
  const startups: KubeStartup[] = [];
  let current: BenchAgent | null = null;
  for (let i = 0; i < plan.kubeStartupRuns; i++) {
    if (current) await current.stop();
    agents.length = 0;
    const started = await startKubeAgent(kube);
    if ("unavailable" in started) {
      say(`Kubernetes part not available in this build: ${started.unavailable}`);
      return started;
    }
    const { agent, ...figures } = started;
    startups.push(figures);
    current = agent;
    agents.push(current);
  }
  say(`API requests at rest over ${plan.restSeconds} s`);
  await Bun.sleep(2000);
  const rest = await requestsAtRest(kube, plan.restSeconds);
  say(`kill → annotation: ${plan.annotationKills} kills`);
  const annotation = await annotationLatency(current!, kube, lab, plan.annotationKills, node);
  return { startups, rest, annotation };
}
