import { describe, expect, test } from "bun:test";
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from "../../apiserver/selectors.ts";

describe("field selectors", () => {
  test("=, == and != terms, empty terms skipped", () => {
    expect(parseFieldSelector("spec.nodeName=n1,,metadata.name==web-1,status.phase!=Failed")).toEqual([
      { field: "spec.nodeName", op: "=", value: "n1" },
      { field: "metadata.name", op: "=", value: "web-1" },
      { field: "status.phase", op: "!=", value: "Failed" },
    ]);
    expect(parseFieldSelector("")).toEqual([]);
    expect(parseFieldSelector(null)).toEqual([]);
  });

  test("an empty value selects the empty field (unscheduled pods)", () => {
    const terms = parseFieldSelector("spec.nodeName=");
    expect(matchFields(terms, { "spec.nodeName": "" })).toBe(true);
    expect(matchFields(terms, { "spec.nodeName": "n1" })).toBe(false);
  });

  test("backslash escapes , = and \\ in values", () => {
    expect(parseFieldSelector("a=x\\,y,b=p\\=q\\\\")).toEqual([
      { field: "a", op: "=", value: "x,y" },
      { field: "b", op: "=", value: "p=q\\" },
    ]);
  });

  test.each(["nodename", "a=b\\x", "a=b=c"])("rejects %p", (s) => {
    expect(() => parseFieldSelector(s)).toThrow(SelectorError);
  });

  test("matching is a conjunction", () => {
    const f = { "spec.nodeName": "n1", "metadata.name": "web-1", "status.phase": "Running" };
    expect(matchFields(parseFieldSelector("spec.nodeName=n1,metadata.name!=web-2"), f)).toBe(true);
    expect(matchFields(parseFieldSelector("spec.nodeName=n1,status.phase=Pending"), f)).toBe(false);
  });
});

describe("label selectors", () => {
  test.each<[string, object[]]>([
    ["app=web", [{ key: "app", op: "=", values: ["web"] }]],
    ["app==web", [{ key: "app", op: "=", values: ["web"] }]],
    ["app!=web", [{ key: "app", op: "!=", values: ["web"] }]],
    ["tier in (fe, be),env notin (dev)", [
      { key: "tier", op: "in", values: ["fe", "be"] },
      { key: "env", op: "notin", values: ["dev"] },
    ]],
    ["canary", [{ key: "canary", op: "exists", values: [] }]],
    ["!canary", [{ key: "canary", op: "!", values: [] }]],
    ["app.kubernetes.io/name=x, n>3", [
      { key: "app.kubernetes.io/name", op: "=", values: ["x"] },
      { key: "n", op: "gt", values: ["3"] },
    ]],
  ])("parses %p", (s, reqs) => {
    expect(parseLabelSelector(s)).toEqual(reqs as never);
  });

  test.each(["app=", "a in (x", "-bad=1", "n>x", "a=b c"])("%p: parse or reject consistently", (s) => {
    if (s === "app=") expect(parseLabelSelector(s)).toEqual([{ key: "app", op: "=", values: [""] }]);
    else expect(() => parseLabelSelector(s)).toThrow(SelectorError);
  });

  test("matching follows Kubernetes semantics for missing keys", () => {
    const labels = { app: "web", tier: "fe", n: "5" };
    const m = (s: string, l: Record<string, string> | undefined = labels) => matchLabels(parseLabelSelector(s), l);
    expect(m("app=web,tier in (fe,be)")).toBe(true);
    expect(m("app!=db")).toBe(true);
    expect(m("env!=prod")).toBe(true); // missing key matches !=
    expect(m("env notin (prod)")).toBe(true); // and notin
    expect(m("env in (prod)")).toBe(false);
    expect(m("!env,app")).toBe(true);
    expect(m("n>4,n<6")).toBe(true);
    expect(m("n>5")).toBe(false);
    expect(matchLabels(parseLabelSelector("app"), undefined)).toBe(false);
    expect(m("")).toBe(true);
  });
});
