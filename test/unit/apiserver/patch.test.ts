import { describe, expect, test } from "bun:test";
import { applyPatch, type Json, jsonPatch, mergePatch, POD_MERGE_KEYS, PatchError, strategicMergePatch } from "../../apiserver/patch.ts";

describe("mergePatch (RFC 7386)", () => {
  test.each<[Json, Json, Json]>([
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])("%j + %j = %j", (target, patch, result) => {
    expect(mergePatch(target, patch)).toEqual(result);
  });

  test("does not modify its inputs", () => {
    const target = { a: { b: 1 } };
    const patch = { a: { c: 2 } };
    mergePatch(target, patch);
    expect(target).toEqual({ a: { b: 1 } });
    expect(patch).toEqual({ a: { c: 2 } });
  });
});

describe("strategicMergePatch", () => {
  const pod = {
    metadata: { name: "p", labels: { a: "1" }, finalizers: ["x"] },
    spec: { containers: [{ name: "app", image: "a:1" }, { name: "side", image: "s:1" }], tolerations: [{ key: "t1" }] },
    status: {
      phase: "Running",
      conditions: [
        { type: "Ready", status: "True" },
        { type: "PodScheduled", status: "True" },
      ],
    },
  };

  test("status.conditions merge by type: update in place and append new", () => {
    const out = strategicMergePatch(pod, { status: { conditions: [{ type: "Ready", status: "False", reason: "OOMKilled" }, { type: "oomtrace.io/OOMKilled", status: "True" }] } }, POD_MERGE_KEYS) as any;
    expect(out.status.conditions).toEqual([
      { type: "Ready", status: "False", reason: "OOMKilled" },
      { type: "PodScheduled", status: "True" },
      { type: "oomtrace.io/OOMKilled", status: "True" },
    ]);
    expect(out.status.phase).toBe("Running");
  });

  test("a merge patch of the same body replaces the list instead", () => {
    const out = mergePatch(pod as unknown as Json, { status: { conditions: [{ type: "X", status: "True" }] } }) as any;
    expect(out.status.conditions).toEqual([{ type: "X", status: "True" }]);
  });

  test("$patch: delete removes a list element by key", () => {
    const out = strategicMergePatch(pod, { status: { conditions: [{ type: "PodScheduled", $patch: "delete" }] } }, POD_MERGE_KEYS) as any;
    expect(out.status.conditions).toEqual([{ type: "Ready", status: "True" }]);
  });

  test("$patch: replace on a list element replaces the whole list; on a map replaces the map", () => {
    const list = strategicMergePatch(pod, { status: { conditions: [{ $patch: "replace" }, { type: "Only", status: "True" }] } }, POD_MERGE_KEYS) as any;
    expect(list.status.conditions).toEqual([{ type: "Only", status: "True" }]);
    const map = strategicMergePatch(pod, { metadata: { labels: { $patch: "replace", b: "2" } } }, POD_MERGE_KEYS) as any;
    expect(map.metadata.labels).toEqual({ b: "2" });
  });

  test("nested merge keys: containers by name, without touching the others", () => {
    const out = strategicMergePatch(pod, { spec: { containers: [{ name: "side", image: "s:2" }] } }, POD_MERGE_KEYS) as any;
    expect(out.spec.containers).toEqual([
      { name: "app", image: "a:1" },
      { name: "side", image: "s:2" },
    ]);
  });

  test("lists without a merge key are replaced; scalar merge lists are unions; null deletes", () => {
    const out = strategicMergePatch(pod, { spec: { tolerations: [{ key: "t2" }] }, metadata: { finalizers: ["y", "x"], labels: { a: null } } }, POD_MERGE_KEYS) as any;
    expect(out.spec.tolerations).toEqual([{ key: "t2" }]);
    expect(out.metadata.finalizers).toEqual(["x", "y"]);
    expect(out.metadata.labels).toEqual({});
  });

  test("directives: $setElementOrder is accepted and ignored, $deleteFromPrimitiveList removes", () => {
    const out = strategicMergePatch(
      pod,
      { metadata: { "$deleteFromPrimitiveList/finalizers": ["x"] }, status: { "$setElementOrder/conditions": [{ type: "PodScheduled" }, { type: "Ready" }], conditions: [{ type: "Ready", status: "Unknown" }] } },
      POD_MERGE_KEYS,
    ) as any;
    expect(out.metadata.finalizers).toEqual([]);
    expect(out.status.conditions[0]).toEqual({ type: "Ready", status: "Unknown" });
    expect(Object.keys(out.status)).not.toContain("$setElementOrder/conditions");
  });

  test("an element without the merge key is a 400", () => {
    expect(() => strategicMergePatch(pod, { status: { conditions: [{ status: "True" }] } }, POD_MERGE_KEYS)).toThrow(PatchError);
    try {
      strategicMergePatch(pod, { status: { conditions: [{ status: "True" }] } }, POD_MERGE_KEYS);
    } catch (e) {
      expect((e as PatchError).code).toBe(400);
      expect((e as PatchError).message).toContain("does not contain declared merge key: type");
    }
  });

  test("does not modify its inputs", () => {
    const before = JSON.stringify(pod);
    strategicMergePatch(pod, { status: { conditions: [{ type: "Ready", status: "False" }] } }, POD_MERGE_KEYS);
    expect(JSON.stringify(pod)).toBe(before);
  });
});

describe("jsonPatch (RFC 6902)", () => {
  const doc = { a: { b: [1, 2, 3] }, "x/y": { "m~n": 1 } };

  test("add to an object, insert into an array, append with -", () => {
    expect(jsonPatch(doc, [{ op: "add", path: "/a/c", value: true }])).toMatchObject({ a: { b: [1, 2, 3], c: true } });
    expect((jsonPatch(doc, [{ op: "add", path: "/a/b/1", value: 9 }]) as any).a.b).toEqual([1, 9, 2, 3]);
    expect((jsonPatch(doc, [{ op: "add", path: "/a/b/-", value: 4 }]) as any).a.b).toEqual([1, 2, 3, 4]);
  });

  test("remove, replace, move, copy", () => {
    expect((jsonPatch(doc, [{ op: "remove", path: "/a/b/0" }]) as any).a.b).toEqual([2, 3]);
    expect((jsonPatch(doc, [{ op: "replace", path: "/a/b", value: [] }]) as any).a.b).toEqual([]);
    expect(jsonPatch({ a: 1 }, [{ op: "move", from: "/a", path: "/b" }])).toEqual({ b: 1 });
    expect(jsonPatch({ a: { x: 1 } }, [{ op: "copy", from: "/a", path: "/b" }])).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });

  test("~1 and ~0 escape / and ~", () => {
    expect((jsonPatch(doc, [{ op: "replace", path: "/x~1y/m~0n", value: 2 }]) as any)["x/y"]).toEqual({ "m~n": 2 });
  });

  test("test passes on equal values and fails (422) otherwise", () => {
    expect(jsonPatch(doc, [{ op: "test", path: "/a/b", value: [1, 2, 3] }])).toEqual(doc);
    expect(() => jsonPatch(doc, [{ op: "test", path: "/a/b/0", value: 2 }])).toThrow("testing value /a/b/0 failed");
    expect(() => jsonPatch(doc, [{ op: "test", path: "/nope", value: 1 }])).toThrow(PatchError);
  });

  test("operations apply in order, all or nothing", () => {
    const out = jsonPatch({ n: 1 }, [
      { op: "test", path: "/n", value: 1 },
      { op: "replace", path: "/n", value: 2 },
    ]);
    expect(out).toEqual({ n: 2 });
    const input = { n: 1 };
    expect(() =>
      jsonPatch(input, [
        { op: "replace", path: "/n", value: 2 },
        { op: "test", path: "/n", value: 1 },
      ]),
    ).toThrow();
    expect(input).toEqual({ n: 1 });
  });

  test.each<[string, Json, 400 | 422]>([
    ["not a list", { op: "add" }, 400],
    ["unknown op", [{ op: "frobnicate", path: "/a" }], 400],
    ["missing value", [{ op: "add", path: "/a" }], 400],
    ["missing parent", [{ op: "add", path: "/no/such", value: 1 }], 422],
    ["remove missing key", [{ op: "remove", path: "/zzz" }], 422],
    ["replace missing key", [{ op: "replace", path: "/zzz", value: 1 }], 422],
    ["array index out of range", [{ op: "add", path: "/a/b/7", value: 1 }], 422],
  ])("%s -> %d", (_, ops, code) => {
    try {
      jsonPatch(doc, ops);
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(PatchError);
      expect((e as PatchError).code).toBe(code);
    }
  });
});

describe("applyPatch", () => {
  test("dispatches on the content type", () => {
    const doc = { status: { conditions: [{ type: "A", status: "True" }] } };
    const body = JSON.stringify({ status: { conditions: [{ type: "B", status: "True" }] } });
    expect((applyPatch("application/merge-patch+json", doc, body, POD_MERGE_KEYS) as any).status.conditions).toHaveLength(1);
    expect((applyPatch("application/strategic-merge-patch+json", doc, body, POD_MERGE_KEYS) as any).status.conditions).toHaveLength(2);
    expect(applyPatch("application/json-patch+json", doc, '[{"op":"remove","path":"/status"}]', POD_MERGE_KEYS)).toEqual({});
  });

  test("a body that is not JSON, or not an object for merge patches, is a 400", () => {
    expect(() => applyPatch("application/merge-patch+json", {}, "{nope", {})).toThrow("error decoding patch");
    try {
      applyPatch("application/merge-patch+json", {}, "[1]", {});
    } catch (e) {
      expect((e as PatchError).code).toBe(400);
    }
  });
});
