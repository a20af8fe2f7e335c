import { describe, expect, test } from "bun:test";
import { argDefaults, ConfigError, resolveRunConfig, runArgs, type RunConfig } from "../../../src/config/run.ts";

/** What citty hands over: the defaults of runArgs, with the given flags on top. */
const DEFAULTS = argDefaults(runArgs);

function resolve(flags: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}, hostname = "worker-1"): RunConfig {
  return resolveRunConfig({ ...DEFAULTS, ...flags }, env, (f) => f in flags, hostname);
}

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("resolveRunConfig", () => {
  test("defaults: hostname as node name and the documented defaults", () => {
    // The Kubernetes options have their own tests (kube.test.ts).
    const { kube: _, ...core } = resolve({}, {}, "worker-1");
    expect(core).toEqual({
      nodeName: "worker-1",
      output: "ndjson",
      logLevel: "info",
      logFormat: "fancy",
      metricsBindAddress: ":9102",
      metricsPodLabels: true,
      probeFile: null,
      probeMode: "auto",
      bpftrace: "bpftrace",
      kmsg: true,
      hostRoot: "/",
      nameWaitMs: 2000,
      pressure: expect.anything(), // test/unit/config/pressure.test.ts
    });
  });

  test("a flag beats the environment", () => {
    const c = resolve(
      { "node-name": "from-flag", "log-level": "warn", "probe-mode": "kprobe" },
      { NODE_NAME: "from-env", OOMTRACE_LOG_LEVEL: "debug", OOMTRACE_PROBE_MODE: "tracepoint" },
    );
    expect(c.nodeName).toBe("from-flag");
    expect(c.logLevel).toBe("warn");
    expect(c.probeMode).toBe("kprobe");
  });

  test("the environment fills what no flag gave, over the defaults", () => {
    const c = resolve({}, { NODE_NAME: "node-7.example.com", OOMTRACE_LOG_LEVEL: "debug", OOMTRACE_PROBE_MODE: "tracepoint" });
    expect(c.nodeName).toBe("node-7.example.com");
    expect(c.logLevel).toBe("debug");
    expect(c.probeMode).toBe("tracepoint");
  });

  test("a flag given with its default value still beats the environment", () => {
    expect(resolve({ "log-level": "info" }, { OOMTRACE_LOG_LEVEL: "trace" }).logLevel).toBe("info");
  });

  test("empty NODE_NAME falls back to the hostname", () => {
    expect(resolve({}, { NODE_NAME: "" }, "host-a").nodeName).toBe("host-a");
  });

  test("--no-kmsg and --no-metrics-pod-labels", () => {
    const c = resolve({ kmsg: false, "metrics-pod-labels": false });
    expect(c.kmsg).toBe(false);
    expect(c.metricsPodLabels).toBe(false);
  });

  test("--probe names a file; OOMTRACE_PROBE when not given", () => {
    expect(resolve({ probe: "/etc/my.bt" }).probeFile).toBe("/etc/my.bt");
    expect(resolve({}, { OOMTRACE_PROBE: "/env.bt" }).probeFile).toBe("/env.bt");
  });

  test("an empty --metrics-bind-address is allowed (disables the server)", () => {
    expect(resolve({ "metrics-bind-address": "" }).metricsBindAddress).toBe("");
    expect(resolve({ "metrics-bind-address": "" }, { OOMTRACE_METRICS_BIND_ADDRESS: "0.0.0.0:1" }).metricsBindAddress).toBe("");
  });

  test("--name-wait takes whole milliseconds up to a minute, from flag or OOMTRACE_NAME_WAIT", () => {
    expect(resolve({ "name-wait": "0" }).nameWaitMs).toBe(0);
    expect(resolve({}, { OOMTRACE_NAME_WAIT: "60000" }).nameWaitMs).toBe(60_000);
    for (const bad of ["-1", "1.5", "2s", "60001", "", "0x10", "1e3"]) {
      const e = configError(() => resolve({ "name-wait": bad }));
      expect(e.message).toContain("--name-wait");
      expect(e.message).toContain(JSON.stringify(bad));
    }
  });

  test("253 characters is the longest valid node name", () => {
    const name = "a".repeat(253);
    expect(resolve({ "node-name": name }).nodeName).toBe(name);
  });

  test.each<[string, string]>([
    ["uppercase", "Worker-1"],
    ["space", "worker 1"],
    ["quote", 'worker"1'],
    ["single quote", "worker'1"],
    ["newline", "worker\n1"],
    ["300 characters", "a".repeat(300)],
    ["254 characters", "a".repeat(254)],
    ["leading dash", "-worker"],
    ["trailing dot", "worker."],
    ["underscore", "worker_1"],
  ])("invalid node name (%s) → ConfigError that says how to fix it", (_label, name) => {
    const e = configError(() => resolve({ "node-name": name }));
    expect(e.code).toBe("E_CONFIG");
    expect(e.message).toContain("--node-name");
    expect(e.message).toContain("NODE_NAME");
    expect(e.message).toContain("lowercase");
  });

  test("an invalid hostname (the default) is refused the same way", () => {
    const e = configError(() => resolve({}, {}, "My_Host"));
    expect(e.message).toContain("My_Host");
    expect(e.message).toContain("--node-name");
  });

  test.each<[flag: string, value: string, allowed: string]>([
    ["output", "json", "ndjson, text, none"],
    ["log-format", "text", "fancy, json"],
    ["probe-mode", "kfunc", "auto, fentry, kprobe, tracepoint"],
    ["log-level", "verbose", "silent, error, warn, info, debug, trace"],
  ])("--%s %p → ConfigError naming the allowed values", (flag, value, allowed) => {
    const e = configError(() => resolve({ [flag]: value }));
    expect(e.message).toContain(`--${flag}`);
    expect(e.message).toContain(allowed);
    expect(e.message).toContain(JSON.stringify(value));
  });

  test("a bad value from the environment is refused too", () => {
    const e = configError(() => resolve({}, { OOMTRACE_PROBE_MODE: "KPROBE" }));
    expect(e.message).toContain("--probe-mode");
    expect(e.message).toContain('"KPROBE"');
  });
});
