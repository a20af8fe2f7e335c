import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../../src/config/errors.ts";
import { kubeArgs, type KubeConfig } from "../../../src/config/kube.ts";
import { resolveRunConfig, runArgs } from "../../../src/config/run.ts";
import { thrownMessage } from "../../helpers/errors.ts";

const DEFAULTS: Record<string, unknown> = Object.fromEntries(Object.entries(runArgs).flatMap(([flag, def]) => ("default" in def ? [[flag, def.default]] : [])));

function kube(flags: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}): KubeConfig {
  return resolveRunConfig({ ...DEFAULTS, ...flags }, env, (f) => f in flags || f.replace(/^no-/, "") in flags, "worker-1").kube;
}

const configError = (f: () => unknown) => thrownMessage(ConfigError, f);

describe("Kubernetes options", () => {
  test("every Kubernetes flag is a run flag", () => {
    for (const flag of Object.keys(kubeArgs)) expect(runArgs).toHaveProperty(flag);
  });

  test("defaults: auto, OOM Tracer's annotation on global kills, no condition, Events for every kind", () => {
    const k = kube();
    expect(k).toMatchObject({ mode: "auto", kubeconfig: null, qps: 50, burst: 100, condition: null, events: true, eventCommandLine: false, stateDir: "/var/lib/oomtrace" });
    expect(k.annotation).toEqual({ key: "oom-tracer.alpha.kubernetes.io/evict-me", value: "yes" });
    expect([...k.annotationKinds]).toEqual(["global"]);
    expect([...k.conditionKinds]).toEqual(["global"]);
    expect([...k.eventKinds].sort()).toEqual(["cpuset", "global", "memcg", "mempolicy", "unknown"]);
  });

  test("environment variables fill what the command line did not give", () => {
    const k = kube(
      { "kube-qps": "5" },
      {
        KUBECONFIG: "/etc/kube.conf",
        OOMTRACE_KUBERNETES: "on",
        OOMTRACE_KUBE_QPS: "7",
        OOMTRACE_KUBE_BURST: "9",
        OOMTRACE_VICTIM_ANNOTATION: "example.com/oom=true",
        OOMTRACE_VICTIM_ANNOTATION_KINDS: "global,memcg",
        OOMTRACE_VICTIM_CONDITION: "OOMVictim",
        OOMTRACE_VICTIM_CONDITION_KINDS: "all",
        OOMTRACE_EVENTS: "false",
        OOMTRACE_EVENT_KINDS: "memcg",
        OOMTRACE_EVENT_COMMAND_LINE: "true",
        OOMTRACE_STATE_DIR: "/data/oomtrace",
      },
    );
    expect(k).toMatchObject({ mode: "on", kubeconfig: "/etc/kube.conf", qps: 5, burst: 9, condition: "OOMVictim", events: false, eventCommandLine: true, stateDir: "/data/oomtrace" });
    expect(k.annotation).toEqual({ key: "example.com/oom", value: "true" });
    expect([...k.annotationKinds]).toEqual(["global", "memcg"]);
    expect(k.conditionKinds.size).toBe(5);
    expect([...k.eventKinds]).toEqual(["memcg"]);
  });

  test("an empty annotation turns it off, also from the environment; --no-events wins over the environment", () => {
    expect(kube({ "victim-annotation": "" }).annotation).toBeNull();
    expect(kube({}, { OOMTRACE_VICTIM_ANNOTATION: "" }).annotation).toBeNull();
    expect(kube({ events: false }, { OOMTRACE_EVENTS: "true" }).events).toBe(false);
    expect(kube({ "victim-annotation": "k=" }).annotation).toEqual({ key: "k", value: "" });
  });

  test("bad values are clear errors", () => {
    expect(configError(() => kube({ kubernetes: "yes" }))).toContain("--kubernetes must be one of auto, on, off");
    expect(configError(() => kube({ "kube-qps": "0" }))).toContain("--kube-qps must be a number above 0");
    expect(configError(() => kube({ "kube-burst": "1.5" }))).toContain("--kube-burst must be a whole number");
    expect(configError(() => kube({ "victim-annotation": "no-equals" }))).toContain("--victim-annotation must be key=value");
    expect(configError(() => kube({ "victim-annotation": "bad key!=1" }))).toContain("not a valid Kubernetes qualified name");
    expect(configError(() => kube({ "victim-condition": "has space" }))).toContain("--victim-condition");
    expect(configError(() => kube({ "event-kinds": "global,oops" }))).toContain('unknown OOM kind "oops"');
    expect(configError(() => kube({ "victim-condition-kinds": " , " }))).toContain("is empty");
    expect(configError(() => kube({}, { OOMTRACE_EVENTS: "maybe" }))).toContain("must be true or false");
    expect(configError(() => kube({}, { KUBECONFIG: "/a/config:/b/config" }))).toContain("oomtrace reads one: pass --kubeconfig FILE");
  });
});
