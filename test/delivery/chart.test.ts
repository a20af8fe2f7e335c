// The Helm chart without helm: its schema, the values its templates use, the agent's flags and
// environment it sets, least RBAC per action, and its rendering checked by Kubernetes' own schemas
// (kubernetes-models) and kubectl's offline decoding. deploy/oomtrace.yaml must be the rendering.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { ServiceAccount, Service } from "kubernetes-models/v1";
import { ClusterRole, ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { CHART, PLAIN_MANIFEST, defaultValues, mergeValues, renderChart } from "../../scripts/chart/render.ts";
import { tmpdir } from "node:os";
import { BINARY } from "../helpers/agent.ts";
import { agentEnvNames, isBooleanFlag } from "../helpers/agent-env.ts";

type Obj = Record<string, any>;
const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8"));
const validateValues = new Ajv({ allErrors: true, strict: false }).compile(schema);
const docs = (manifest: string): Obj[] => manifest.split(/^---$/m).map((d) => Bun.YAML.parse(d) as Obj | null).filter((d): d is Obj => !!d);
const render = (over: Obj = {}) => docs(renderChart(mergeValues(defaultValues(), over)).manifest);
const byKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const container = (objs: Obj[]) => byKind(objs, "DaemonSet")[0]!.spec.template.spec.containers[0];
const envOf = (objs: Obj[]) => Object.fromEntries(container(objs).env.map((e: Obj) => [e.name, e.value ?? e.valueFrom]));

/** Every value turned on or away from its default. */
const ALL_ON: Obj = {
  kubernetes: { condition: { type: "OOMVictim", kinds: ["global", "memcg"] }, annotation: { kinds: ["all"] }, events: { commandLine: true } },
  filters: { namespaces: ["shop", "!kube-system"], pods: ["web-1"], containers: ["app"], selector: "tier=web", kinds: ["memcg"] },
  cri: { enabled: false },
  metrics: { port: 9300, podLabels: false, serviceMonitor: { enabled: true, labels: { release: "prom" } } },
  agent: { kmsg: true },
  securityContext: { privileged: true },
  extraArgs: ["--name-wait", "500"],
  extraEnv: [{ name: "OOMTRACE_LOG_LEVEL", value: "debug" }],
  podLabels: { team: "sre" },
  podAnnotations: { a: "b" },
  affinity: { nodeAffinity: {} },
  imagePullSecrets: [{ name: "reg" }],
};

describe("values.schema.json", () => {
  test("accepts the default values and the all-on variant", () => {
    expect(validateValues(defaultValues()), JSON.stringify(validateValues.errors)).toBe(true);
    expect(validateValues(mergeValues(defaultValues(), ALL_ON)), JSON.stringify(validateValues.errors)).toBe(true);
  });

  const bad: [string, Obj][] = [
    ["an unknown OOM kind", { kubernetes: { annotation: { kinds: ["oom"] } } }],
    ["all mixed with a kind", { kubernetes: { events: { kinds: ["all", "global"] } } }],
    ["an annotation without =value", { kubernetes: { annotation: { value: "oom-tracer.alpha.kubernetes.io/evict-me" } } }],
    ["a condition type with a space", { kubernetes: { condition: { type: "OOM Victim" } } }],
    ["a mode that is not auto/on/off", { kubernetes: { mode: "yes" } }],
    ["a port out of range", { metrics: { port: 70000 } }],
    ["a port as a string", { metrics: { port: "9102" } }],
    ["a misspelt key", { metrics: { servicemonitor: { enabled: true } } }],
    ["an unknown top-level key", { daemonset: {} }],
    ["a relative state dir", { stateDir: "var/lib/oomtrace" }],
    ["a bad namespace filter", { filters: { namespaces: ["Shop"] } }],
    ["a probe mode that does not exist", { agent: { probeMode: "uprobe" } }],
    ["a non-root user", { securityContext: { runAsUser: 1000 } }],
    ["an extra arg that is not a string", { extraArgs: ["--name-wait", 500] }],
    ["a CRI endpoint that is not a unix socket", { cri: { endpoint: "tcp://1.2.3.4:1" } }],
  ];
  for (const [what, over] of bad) {
    test(`rejects ${what}`, () => {
      expect(validateValues(mergeValues(defaultValues(), over))).toBe(false);
    });
  }
});

/** Leaf paths of a values tree; lists and empty maps are leaves. */
function leaves(v: unknown, prefix = ""): string[] {
  if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) {
    return Object.entries(v).flatMap(([k, x]) => leaves(x, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}
const covers = (ancestor: string, path: string) => path === ancestor || path.startsWith(`${ancestor}.`);

describe("templates and values.yaml", () => {
  const templates = readdirSync(join(CHART, "templates")).map((f) => readFileSync(join(CHART, "templates", f), "utf8"));
  const refs = new Set(templates.flatMap((t) => [...t.matchAll(/\.Values((?:\.[A-Za-z0-9_]+)+)/g)].map((m) => m[1]!.slice(1))));
  const values = defaultValues();
  const valuePaths = leaves(values);

  test("every value a template reads exists in values.yaml", () => {
    const missing = [...refs].filter((r) => !valuePaths.some((p) => covers(r, p)));
    expect(missing).toEqual([]);
  });

  test("every value in values.yaml is read by a template", () => {
    const unused = valuePaths.filter((p) => ![...refs].some((r) => covers(r, p)));
    expect(unused).toEqual([]);
  });

  test("the chart README has a row for every value and none for values that do not exist", () => {
    const readme = readFileSync(join(CHART, "README.md"), "utf8").split("\n## Values\n")[1]!.split("\n## ")[0]!;
    const rows = [...readme.matchAll(/^\| `([A-Za-z0-9_.]+)` \|/gm)].map((m) => m[1]!);
    expect(valuePaths.filter((p) => !rows.some((r) => covers(r, p)))).toEqual([]);
    expect(rows.filter((r) => !valuePaths.some((p) => covers(r, p)))).toEqual([]);
  });
});

describe("the flags and environment the DaemonSet gives the agent", () => {
  const envRead = agentEnvNames();

  for (const [label, over] of [["defaults", {}], ["all on", ALL_ON]] as const) {
    test(`${label}: every variable is one the agent reads, every flag one it has`, () => {
      const c = container(render(over));
      const unknown = c.env.map((e: Obj) => e.name as string).filter((n: string) => !envRead.has(n));
      expect(unknown).toEqual([]);
      expect(c.args[0]).toBe("run");
      for (const a of c.args.slice(1).filter((x: string) => x.startsWith("--no-"))) expect(isBooleanFlag(a.slice("--no-".length))).toBe(true);
    });
  }

  for (const [label, over] of [["defaults", {}], ["all on", ALL_ON]] as const) {
    test(`${label}: the compiled agent accepts the environment and args the DaemonSet gives it`, () => {
      // With no bpftrace and no kmsg nothing can run (exit 1) — but only after the configuration was
      // accepted; a rejected value exits 2 with its reason.
      const c = container(render(over));
      const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
      for (const e of c.env) env[e.name] = e.value ?? "test-node";
      const r = Bun.spawnSync([BINARY, ...c.args, "--bpftrace", "/nonexistent", "--no-kmsg", "--metrics-bind-address", ""], { env, stdout: "pipe", stderr: "pipe", cwd: tmpdir() });
      expect(r.stderr.toString()).toContain("no probe can run");
      expect(r.exitCode).toBe(1);
    });
  }

  test("values reach the agent as it parses them", () => {
    const env = envOf(render(ALL_ON));
    expect(env.OOMTRACE_VICTIM_CONDITION).toBe("OOMVictim");
    expect(env.OOMTRACE_VICTIM_CONDITION_KINDS).toBe("global,memcg");
    expect(env.OOMTRACE_VICTIM_ANNOTATION_KINDS).toBe("all");
    expect(env.OOMTRACE_EVENT_COMMAND_LINE).toBe("true");
    expect(env.OOMTRACE_NAMESPACE).toBe("shop,!kube-system");
    expect(env.OOMTRACE_SELECTOR).toBe("tier=web");
    expect(env.OOMTRACE_CRI_ENDPOINT).toBe("");
    expect(env.OOMTRACE_METRICS_BIND_ADDRESS).toBe(":9300");
    expect(env.NODE_NAME).toEqual({ fieldRef: { fieldPath: "spec.nodeName" } });
    const c = container(render(ALL_ON));
    expect(c.args).toEqual(["run", "--no-metrics-pod-labels", "--name-wait", "500"]);
    expect(c.volumeMounts.map((m: Obj) => m.name)).toEqual(["sys", "kmsg", "state", "tmp"]);
    const d = envOf(render());
    expect(d.OOMTRACE_VICTIM_ANNOTATION).toBe("oom-tracer.alpha.kubernetes.io/evict-me=yes");
    expect(d.OOMTRACE_EVENT_KINDS).toBe("all");
    expect(d).not.toHaveProperty("OOMTRACE_NAMESPACE");
    expect(container(render()).args).toEqual(["run", "--no-kmsg"]);
  });
});

describe("least RBAC for the actions that are on", () => {
  const rules = (over: Obj) => byKind(render(over), "ClusterRole")[0]!.rules as Obj[];
  test("defaults (annotation and Events): pods list/watch/get/patch and events.k8s.io events create/patch, no pods/status", () => {
    expect(rules({})).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch", "get", "patch"] },
      { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
    ]);
  });
  test("the condition adds pods/status patch; no annotation and no Events leave the pod cache's list/watch", () => {
    expect(rules({ kubernetes: { condition: { type: "OOMVictim" } } })).toContainEqual({ apiGroups: [""], resources: ["pods/status"], verbs: ["patch"] });
    expect(rules({ kubernetes: { annotation: { value: "" }, events: { enabled: false } } })).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] }]);
  });
  test("the binding names the DaemonSet's service account", () => {
    const objs = render();
    const sa = byKind(objs, "ServiceAccount")[0]!;
    expect(byKind(objs, "ClusterRoleBinding")[0]!.subjects).toEqual([{ kind: "ServiceAccount", name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    expect(byKind(objs, "DaemonSet")[0]!.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
  });
});

describe("the rendering", () => {
  // The models' constructors want their typed shape; a rendered object is checked by validate() instead.
  const MODELS = { DaemonSet, ServiceAccount, Service, ClusterRole, ClusterRoleBinding, ServiceMonitor } as unknown as Record<string, new (o: Obj) => { validate(): void }>;
  for (const [label, over] of [["defaults", {}], ["all on", ALL_ON]] as const) {
    test(`${label}: every object passes its Kubernetes schema`, () => {
      const objs = render(over);
      expect(objs.map((o) => o.kind)).toEqual(
        label === "defaults" ? ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet"] : ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "DaemonSet", "ServiceMonitor"],
      );
      for (const o of objs) new MODELS[o.kind]!(o).validate();
    });
  }

  test("the schemas do catch a broken object (the check can fail)", () => {
    const ds = byKind(render(), "DaemonSet")[0]!;
    ds.spec.template.spec.containers[0].securityContext.capabilities.add = "BPF";
    expect(() => new DaemonSet(ds).validate()).toThrow(/capabilities\/add must be array/);
  });

  test("deploy/oomtrace.yaml is the rendering of the defaults (bun scripts/chart/render.ts --write)", () => {
    const file = readFileSync(PLAIN_MANIFEST, "utf8");
    expect(file.slice(file.indexOf("\n---\n") + 1)).toBe(renderChart().manifest);
  });

  test("kubectl decodes every object of deploy/oomtrace.yaml offline", () => {
    const r = Bun.spawnSync(["kubectl", "label", "--local", "-f", PLAIN_MANIFEST, "checked=yes", "--dry-run=client", "-o", "name"], {
      env: { ...process.env, KUBECONFIG: "/dev/null" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString().trim().split("\n")).toEqual([
      "serviceaccount/oomtrace",
      "clusterrole.rbac.authorization.k8s.io/oomtrace",
      "clusterrolebinding.rbac.authorization.k8s.io/oomtrace",
      "daemonset.apps/oomtrace",
    ]);
  });

  test("NOTES.txt renders, and warns when kmsg is on in a container that cannot open it", () => {
    const notes = (over: Obj) => renderChart(mergeValues(defaultValues(), over)).notes;
    expect(notes({})).toContain("annotation oom-tracer.alpha.kubernetes.io/evict-me=yes on victims' pods, for OOM kinds: global");
    expect(notes({})).not.toContain("WARNING");
    expect(notes({ agent: { kmsg: true } })).toContain("WARNING: agent.kmsg is on but the container is not privileged");
    expect(notes({ agent: { kmsg: true }, securityContext: { privileged: true } })).not.toContain("WARNING");
  });
});
