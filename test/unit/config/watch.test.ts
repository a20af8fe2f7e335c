import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../../src/config/errors.ts";
import { resolveWatchConfig, watchArgs } from "../../../src/config/watch.ts";
import { runArgs } from "../../../src/config/run.ts";
import { wantsColor } from "../../../src/cli/watch.ts";

const DEFAULTS: Record<string, unknown> = Object.fromEntries(
  Object.entries(watchArgs).flatMap(([flag, def]) => ("default" in def ? [[flag, def.default]] : [])),
);
const resolve = (flags: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
  resolveWatchConfig({ ...DEFAULTS, ...flags }, env, (f) => f in flags, "worker-1");

describe("resolveWatchConfig", () => {
  test("defaults: a table of the default columns, warnings only, no metrics server, no stdout sink of run's", () => {
    const c = resolve();
    expect(c.output).toBe("columns");
    expect(c.fields).toEqual(["time", "node", "namespace", "pod", "container", "kind", "victim", "trigger", "rss"]);
    expect(c.run.metricsBindAddress).toBe("");
    expect(c.run.output).toBe("none");
    expect(c.run.logLevel).toBe("warn");
  });

  test("run's environment for metrics and output cannot turn them on in watch", () => {
    const c = resolve({}, { OOMTRACE_METRICS_BIND_ADDRESS: ":9102", OOMTRACE_OUTPUT: "ndjson", OOMTRACE_BPFTRACE: "/opt/bpftrace" });
    expect(c.run.metricsBindAddress).toBe("");
    expect(c.run.output).toBe("none");
    expect(c.run.bpftrace).toBe("/opt/bpftrace");
  });

  test("watch has run's flags under the same definitions, and none of its metrics flags", () => {
    for (const f of ["node-name", "bpftrace", "probe", "probe-mode", "kmsg", "host-root", "name-wait", "log-format", "namespace", "selector", "kind"] as const) {
      expect(watchArgs[f]).toBe(runArgs[f]);
    }
    expect("metrics-bind-address" in watchArgs).toBe(false);
    expect("metrics-pod-labels" in watchArgs).toBe(false);
  });

  test("-o, --fields and their errors", () => {
    expect(resolve({ output: "json" }).output).toBe("json");
    expect(resolve({ fields: "pod, kind,rss" }).fields).toEqual(["pod", "kind", "rss"]);
    expect(resolve({}, { OOMTRACE_WATCH_FIELDS: "cgroup" }).fields).toEqual(["cgroup"]);
    expect(() => resolve({ output: "yaml" })).toThrow(new ConfigError('--output must be one of columns, json; got "yaml"'));
    expect(() => resolve({ fields: "pod,bogus" })).toThrow('--fields: "bogus" is not a column');
    expect(() => resolve({ fields: "pod,pod" })).toThrow("names a column twice");
    expect(() => resolve({ fields: "pod", output: "json" })).toThrow("-o json always writes the whole event");
  });
});

describe("wantsColor", () => {
  test("only on a terminal, and not with NO_COLOR or TERM=dumb", () => {
    expect(wantsColor(true, {})).toBe(true);
    expect(wantsColor(false, {})).toBe(false);
    expect(wantsColor(true, { NO_COLOR: "1" })).toBe(false);
    expect(wantsColor(true, { TERM: "dumb" })).toBe(false);
  });
});
