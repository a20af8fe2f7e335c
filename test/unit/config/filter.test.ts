import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../../src/config/errors.ts";
import { type FilterFlag, resolveFilter } from "../../../src/config/filter.ts";
import { MATCH_ALL } from "../../../src/filter/event-filter.ts";

const none: Record<FilterFlag, string[]> = { namespace: [], pod: [], container: [], selector: [], kind: [] };
const resolve = (flags: Partial<Record<FilterFlag, string[]>> = {}, all = false, env: Record<string, string> = {}) =>
  resolveFilter({ ...none, ...flags }, all, env);

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("resolveFilter", () => {
  test("nothing given: every kill", () => {
    expect(resolve()).toEqual(MATCH_ALL);
    expect(resolve({}, true)).toEqual(MATCH_ALL);
  });

  test("repeats and commas add up; !ns excludes", () => {
    const f = resolve({ namespace: ["prod", "!kube-system,staging"], pod: ["web-0,web-1"], container: ["app"], kind: ["memcg", "global"] });
    expect(f.namespaces).toEqual(["prod", "staging"]);
    expect(f.excludeNamespaces).toEqual(["kube-system"]);
    expect(f.pods).toEqual(["web-0", "web-1"]);
    expect(f.containers).toEqual(["app"]);
    expect(f.kinds).toEqual(["memcg", "global"]);
  });

  test("repeated selectors are all required", () => {
    expect(resolve({ selector: ["app=web", "tier in (a,b)"] }).selector).toEqual([
      { key: "app", op: "in", values: ["web"] },
      { key: "tier", op: "in", values: ["a", "b"] },
    ]);
    expect(resolve({ selector: [""] }).selector).toBeNull();
  });

  test("the environment fills a flag that was not given, and only then", () => {
    const env = { OOMTRACE_NAMESPACE: "!kube-system", OOMTRACE_KIND: "global", OOMTRACE_SELECTOR: "app=web,team", OOMTRACE_POD: "a", OOMTRACE_CONTAINER: "c" };
    const f = resolve({ kind: ["memcg"] }, false, env);
    expect(f.kinds).toEqual(["memcg"]);
    expect(f.excludeNamespaces).toEqual(["kube-system"]);
    expect(f.selector).toHaveLength(2);
    expect(f.pods).toEqual(["a"]);
    expect(f.containers).toEqual(["c"]);
    expect(resolve({}, false, { OOMTRACE_KIND: "" }).kinds).toEqual([]);
  });

  test("bad values say what is allowed", () => {
    expect(configError(() => resolve({ namespace: ["Prod"] }))).toContain('--namespace: "Prod" is not a valid namespace name');
    expect(configError(() => resolve({ namespace: ["!"] }))).toContain('"" is not a valid namespace name');
    expect(configError(() => resolve({ namespace: ["a,,b"] }))).toContain("--namespace has an empty name");
    expect(configError(() => resolve({ namespace: [""] }))).toContain("--namespace has an empty name");
    expect(configError(() => resolve({ namespace: ["a\u001b[2Jb"] }))).toContain('"a\\u001b[2Jb" is not a valid');
    expect(configError(() => resolve({ kind: ["memcg,oom"] }))).toContain('--kind "oom" is not a kind of OOM; use global, memcg, cpuset, mempolicy, unknown');
    expect(configError(() => resolve({ pod: ["Web"] }))).toContain("not a valid pod name");
    expect(configError(() => resolve({ container: ["a.b"] }))).toContain("not a valid container name");
    expect(configError(() => resolve({ selector: ["app=web,"] }))).toContain('--selector "app=web,": the selector ends with a comma');
    expect(configError(() => resolve({ namespace: ["prod"] }, true))).toContain("-A (every namespace) contradicts -n prod");
  });

  test("-A with exclusions is every namespace but those", () => {
    expect(resolve({ namespace: ["!kube-system"] }, true).excludeNamespaces).toEqual(["kube-system"]);
  });
});
