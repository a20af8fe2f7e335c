import { describe, expect, test } from "bun:test";
import { MAX_SELECTOR_LENGTH, parseSelector, SelectorError, selectorMatches } from "../../../src/filter/selector.ts";

function error(text: string): string {
  try {
    parseSelector(text);
  } catch (e) {
    expect(e).toBeInstanceOf(SelectorError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe("parseSelector", () => {
  test("every operator kubectl knows for labels", () => {
    expect(parseSelector("app=web, tier==front,env!=prod,zone in (a, b),team notin (x),canary,!legacy")).toEqual([
      { key: "app", op: "in", values: ["web"] },
      { key: "tier", op: "in", values: ["front"] },
      { key: "env", op: "notin", values: ["prod"] },
      { key: "zone", op: "in", values: ["a", "b"] },
      { key: "team", op: "notin", values: ["x"] },
      { key: "canary", op: "exists" },
      { key: "legacy", op: "absent" },
    ]);
  });

  test("prefixed keys, empty values, whitespace and an empty selector", () => {
    expect(parseSelector("app.kubernetes.io/name=api")).toEqual([{ key: "app.kubernetes.io/name", op: "in", values: ["api"] }]);
    expect(parseSelector("tier=")).toEqual([{ key: "tier", op: "in", values: [""] }]);
    expect(parseSelector("x in (a,,b)")).toEqual([{ key: "x", op: "in", values: ["a", "", "b"] }]);
    expect(parseSelector("  a\t=\tb  ")).toEqual([{ key: "a", op: "in", values: ["b"] }]);
    expect(parseSelector("")).toEqual([]);
    expect(parseSelector("   ")).toEqual([]);
    // "in" and "notin" are words too: a label may be called that.
    expect(parseSelector("in in (in)")).toEqual([{ key: "in", op: "in", values: ["in"] }]);
  });

  test("hostile and broken input is refused with where and what", () => {
    expect(error("app=web,")).toContain("ends with a comma");
    expect(error(",app")).toContain("expected a label key at column 1");
    expect(error("a in (x")).toContain("expected , or ) in the value set");
    expect(error("a in x")).toContain("expected ( after in");
    expect(error("a in ()")).toContain("is empty");
    expect(error("a notin ( )")).toContain("is empty");
    expect(error("a=b=c")).toContain('expected , between requirements at column 4, got "="');
    expect(error("a b")).toContain("expected =, ==, !=, in or notin");
    expect(error("!")).toContain("expected a label key after ! at column 2, got the end");
    expect(error("!a=b")).toContain("expected , between requirements");
    expect(error("a>1")).toContain("operator > at column 2 is not supported");
    expect(error("a=\u001b[31mred")).toContain('unexpected character "\\u001b" at column 3');
    expect(error("a=b\nc=d")).toContain('unexpected character "\\n"');
    expect(error("a=(b)")).toContain("expected , between requirements");
    expect(error("app=wéb")).toContain("unexpected character");
    expect(error("-a=b")).toContain('label key "-a" at column 1 is not valid');
    expect(error("a=b-")).toContain('label value "b-" at column 3 is not valid');
    expect(error(`k=${"v".repeat(64)}`)).toContain("is not valid");
    expect(error(`${"k".repeat(64)}`)).toContain("is not valid");
    expect(error("Upper.Case/x=1")).toContain("prefix that is not a lowercase DNS subdomain");
    expect(error("a/b/c=1")).toContain("is not valid");
    expect(error("a in ((b))")).toContain("expected , or )");
    expect(error("a".repeat(MAX_SELECTOR_LENGTH + 1))).toContain("at most 4096");
  });

  test("deeply repeated input costs little and is either parsed or refused", () => {
    const many = Array.from({ length: 400 }, (_, i) => `k${i}=v`).join(",");
    expect(parseSelector(many)).toHaveLength(400);
    expect(error("(".repeat(3000))).toContain("expected a label key");
  });
});

describe("selectorMatches", () => {
  const labels = { app: "web", env: "prod", empty: "" };
  const m = (s: string, l: Record<string, string> = labels) => selectorMatches(parseSelector(s), l);

  test("Kubernetes semantics, including != and notin on missing labels", () => {
    expect(m("app=web")).toBe(true);
    expect(m("app=api")).toBe(false);
    expect(m("app!=api")).toBe(true);
    expect(m("missing!=x")).toBe(true);
    expect(m("missing notin (x)")).toBe(true);
    expect(m("env notin (prod,dev)")).toBe(false);
    expect(m("env in (dev,prod)")).toBe(true);
    expect(m("missing in (x)")).toBe(false);
    expect(m("app")).toBe(true);
    expect(m("!app")).toBe(false);
    expect(m("!missing")).toBe(true);
    expect(m("empty=")).toBe(true);
    expect(m("missing=")).toBe(false);
    expect(m("app=web,env=dev")).toBe(false);
    expect(m("")).toBe(true);
  });

  test("labels named like Object's own properties are not mistaken for present", () => {
    expect(m("constructor")).toBe(false);
    expect(m("!toString")).toBe(true);
    expect(m("hasOwnProperty!=x")).toBe(true);
  });
});
