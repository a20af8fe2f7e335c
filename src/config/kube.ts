// Kubernetes options of `oomtrace run`: citty definitions and validation (pure).
import type { Constraint } from "../types.ts";
import { ConfigError } from "./errors.ts";

export const OOM_KINDS: readonly Constraint[] = ["global", "memcg", "cpuset", "mempolicy", "unknown"];

/** OOM Tracer's key and value, so the descheduler fork's RemoveAnnotated plugin works unchanged. */
export const DEFAULT_VICTIM_ANNOTATION = "oom-tracer.alpha.kubernetes.io/evict-me=yes";

export const kubeArgs = {
  kubeconfig: { type: "string", description: "kubeconfig file; default: in-cluster service account [env KUBECONFIG]" },
  kubernetes: {
    type: "string",
    default: "auto",
    description: "auto | on | off: auto uses in-cluster config or --kubeconfig when there is one, else runs standalone [env OOMTRACE_KUBERNETES]",
  },
  "kube-qps": { type: "string", default: "50", description: "API requests per second, sustained [env OOMTRACE_KUBE_QPS]" },
  "kube-burst": { type: "string", default: "100", description: "API requests allowed in a burst above --kube-qps [env OOMTRACE_KUBE_BURST]" },
  "victim-annotation": {
    type: "string",
    default: DEFAULT_VICTIM_ANNOTATION,
    description: "key=value put on a victim's pod (JSON merge patch, only if absent); empty turns it off [env OOMTRACE_VICTIM_ANNOTATION]",
  },
  "victim-annotation-kinds": {
    type: "string",
    default: "global",
    description: "Kinds of OOM that annotate: all or a list of global,memcg,cpuset,mempolicy,unknown [env OOMTRACE_VICTIM_ANNOTATION_KINDS]",
  },
  "victim-condition": {
    type: "string",
    default: "",
    description: "Pod condition type set on a victim's pod through pods/status (e.g. OOMVictim); empty turns it off [env OOMTRACE_VICTIM_CONDITION]",
  },
  "victim-condition-kinds": {
    type: "string",
    default: "global",
    description: "Kinds of OOM that set the condition: all or a list [env OOMTRACE_VICTIM_CONDITION_KINDS]",
  },
  events: { type: "boolean", default: true, description: "Warning Events on the victim's pod (and the Node for global OOMs); --no-events to skip [env OOMTRACE_EVENTS]" },
  "event-kinds": { type: "string", default: "all", description: "Kinds of OOM that make Events: all or a list [env OOMTRACE_EVENT_KINDS]" },
  "event-command-line": {
    type: "boolean",
    default: false,
    description:
      "Add the victim container's command and args from the pod spec (not necessarily the killed process; never env) to its pod's Event; args may hold secrets [env OOMTRACE_EVENT_COMMAND_LINE]",
  },
  "state-dir": {
    type: "string",
    default: "/var/lib/oomtrace",
    description: "Where what was done for each kill is kept, so a restart acts on no kill twice [env OOMTRACE_STATE_DIR]",
  },
} as const;

export interface KubeConfig {
  mode: "auto" | "on" | "off";
  kubeconfig: string | null;
  qps: number;
  burst: number;
  annotation: { key: string; value: string } | null;
  annotationKinds: ReadonlySet<Constraint>;
  condition: string | null;
  conditionKinds: ReadonlySet<Constraint>;
  events: boolean;
  eventKinds: ReadonlySet<Constraint>;
  eventCommandLine: boolean;
  stateDir: string;
}

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function qualifiedName(flag: string, v: string): string {
  const name = v.slice(v.indexOf("/") + 1);
  const prefix = v.includes("/") ? v.slice(0, v.indexOf("/")) : "";
  if (QUALIFIED_NAME.test(v) && name.length <= 63 && prefix.length <= 253) return v;
  throw new ConfigError(`--${flag}: ${JSON.stringify(v)} is not a valid Kubernetes qualified name (optional DNS prefix/, then up to 63 of A-Z a-z 0-9 - _ .)`);
}

export function parseAnnotation(v: string): { key: string; value: string } | null {
  if (v.trim() === "") return null;
  const eq = v.indexOf("=");
  if (eq < 0) throw new ConfigError(`--victim-annotation must be key=value (e.g. ${DEFAULT_VICTIM_ANNOTATION}); got ${JSON.stringify(v)}`);
  const key = qualifiedName("victim-annotation", v.slice(0, eq).trim());
  return { key, value: v.slice(eq + 1) };
}

export function parseKinds(flag: string, v: string): ReadonlySet<Constraint> {
  const parts = v.split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.length === 1 && parts[0] === "all") return new Set(OOM_KINDS);
  for (const p of parts) {
    if (!(OOM_KINDS as readonly string[]).includes(p)) throw new ConfigError(`--${flag}: unknown OOM kind ${JSON.stringify(p)}; use all or a list of ${OOM_KINDS.join(",")}`);
  }
  if (parts.length === 0) throw new ConfigError(`--${flag} is empty; use all or a list of ${OOM_KINDS.join(",")}`);
  return new Set(parts as Constraint[]);
}

function positive(flag: string, v: string, integer: boolean): number {
  const n = Number(v);
  if (v.trim() !== "" && Number.isFinite(n) && n > 0 && n <= 10_000 && (!integer || Number.isInteger(n))) return n;
  throw new ConfigError(`--${flag} must be a ${integer ? "whole " : ""}number above 0 and at most 10000; got ${JSON.stringify(v)}`);
}

function bool(flag: string, args: Record<string, unknown>, env: string | undefined, given: (f: string) => boolean, def: boolean): boolean {
  if (given(flag) || given(`no-${flag}`)) return args[flag] !== false;
  if (env === undefined || env === "") return def;
  if (/^(1|true|yes|on)$/i.test(env)) return true;
  if (/^(0|false|no|off)$/i.test(env)) return false;
  throw new ConfigError(`the environment variable for --${flag} must be true or false; got ${JSON.stringify(env)}`);
}

function kubeconfigPath(v: string): string | null {
  if (v === "") return null;
  // kubectl merges a colon-separated KUBECONFIG list; the agent reads exactly one file.
  if (v.includes(":")) throw new ConfigError(`--kubeconfig (or KUBECONFIG) names several files (${JSON.stringify(v)}); oomtrace reads one: pass --kubeconfig FILE`);
  return v;
}

/** `pick` is the flag-over-environment reader of run.ts. */
export function resolveKubeConfig(
  pick: (flag: string, envName: string, emptyMeansOff?: boolean) => string,
  args: Record<string, unknown>,
  env: Record<string, string | undefined>,
  given: (flag: string) => boolean,
): KubeConfig {
  const mode = pick("kubernetes", "OOMTRACE_KUBERNETES");
  if (mode !== "auto" && mode !== "on" && mode !== "off") throw new ConfigError(`--kubernetes must be one of auto, on, off; got ${JSON.stringify(mode)}`);
  const condition = pick("victim-condition", "OOMTRACE_VICTIM_CONDITION", true).trim();
  return {
    mode,
    kubeconfig: kubeconfigPath(pick("kubeconfig", "KUBECONFIG")),
    qps: positive("kube-qps", pick("kube-qps", "OOMTRACE_KUBE_QPS"), false),
    burst: positive("kube-burst", pick("kube-burst", "OOMTRACE_KUBE_BURST"), true),
    annotation: parseAnnotation(pick("victim-annotation", "OOMTRACE_VICTIM_ANNOTATION", true)),
    annotationKinds: parseKinds("victim-annotation-kinds", pick("victim-annotation-kinds", "OOMTRACE_VICTIM_ANNOTATION_KINDS")),
    condition: condition === "" ? null : qualifiedName("victim-condition", condition),
    conditionKinds: parseKinds("victim-condition-kinds", pick("victim-condition-kinds", "OOMTRACE_VICTIM_CONDITION_KINDS")),
    events: bool("events", args, env.OOMTRACE_EVENTS, given, true),
    eventKinds: parseKinds("event-kinds", pick("event-kinds", "OOMTRACE_EVENT_KINDS")),
    eventCommandLine: bool("event-command-line", args, env.OOMTRACE_EVENT_COMMAND_LINE, given, false),
    stateDir: pick("state-dir", "OOMTRACE_STATE_DIR") || "/var/lib/oomtrace",
  };
}
