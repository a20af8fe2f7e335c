import { describe, expect, test } from "bun:test";
import { filterFromArgs, rejectUnknown, repeatedValues } from "../../../src/cli/args.ts";
import { ConfigError } from "../../../src/config/errors.ts";
import { REPEATABLE_FILTER_FLAGS } from "../../../src/config/filter.ts";
import { runArgs } from "../../../src/config/run.ts";

describe("repeatedValues", () => {
  test("every spelling of a repeated flag counts, other flags' values are not taken", () => {
    const raw = ["--output", "text", "-n", "a", "-nb", "--namespace=c", "--namespace", "!d", "-A", "-l", "x=1", "--kmsg", "--no-metrics-pod-labels", "--pod", "p"];
    const v = repeatedValues(raw, runArgs, REPEATABLE_FILTER_FLAGS);
    expect(v.namespace).toEqual(["a", "b", "c", "!d"]);
    expect(v.selector).toEqual(["x=1"]);
    expect(v.pod).toEqual(["p"]);
    expect(v.kind).toEqual([]);
  });

  test("a flag without a value comes back empty, so that validation names it; after -- nothing counts", () => {
    expect(repeatedValues(["-n"], runArgs, ["namespace"]).namespace).toEqual([""]);
    expect(repeatedValues(["--", "-n", "a"], runArgs, ["namespace"]).namespace).toEqual([]);
  });

  test("filterFromArgs builds the filter, -A included", () => {
    const f = filterFromArgs(["-A", "-n", "!kube-system", "--kind", "memcg"], runArgs, { "all-namespaces": true }, {});
    expect(f.excludeNamespaces).toEqual(["kube-system"]);
    expect(f.kinds).toEqual(["memcg"]);
    expect(() => filterFromArgs(["-A", "-n", "prod"], runArgs, { "all-namespaces": true }, {})).toThrow(ConfigError);
  });
});

describe("rejectUnknown", () => {
  test("short aliases and their joined forms are known; typos are not", () => {
    expect(() => rejectUnknown(["-n", "a", "-nb", "-A", "-Al", "x", "--no-kmsg"], runArgs)).not.toThrow();
    expect(() => rejectUnknown(["-x"], runArgs)).toThrow("unknown flag -x");
    expect(() => rejectUnknown(["--namespcae", "a"], runArgs)).toThrow("unknown flag --namespcae");
    expect(() => rejectUnknown(["--", "--anything"], runArgs)).not.toThrow();
  });
});
