import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Journal, SERIES_WINDOW_MS } from "../../../src/kube/journal.ts";

const root = mkdtempSync(join(tmpdir(), "oomtrace-journal-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fresh = () => mkdtempSync(join(root, "s-"));

describe("Journal", () => {
  test("done kills, unfinished work and open series survive a restart of the same boot", () => {
    const dir = fresh();
    const a = new Journal(dir, "boot-1", (m) => { throw new Error(m); });
    a.begin("k1", { event: "{}", todo: ["annotation", "pod-event"] });
    a.finish("k1", 1);
    a.begin("k2", { event: "{}", todo: ["annotation", "pod-event"] });
    a.step("k2", "annotation");
    a.setSeries("Pod/u/R", { namespace: "ns", name: "e1", count: 2, lastMs: 1000 }, 1000);
    const b = new Journal(dir, "boot-1", () => {});
    expect(b.isDone("k1")).toBe(true);
    expect(b.isDone("k2")).toBe(false);
    expect(b.pending()).toEqual([["k2", { event: "{}", todo: ["pod-event"] }]]);
    expect(b.series("Pod/u/R", 1000 + SERIES_WINDOW_MS - 1)).toEqual({ namespace: "ns", name: "e1", count: 2, lastMs: 1000 });
    expect(b.series("Pod/u/R", 1000 + SERIES_WINDOW_MS)).toBeNull();
  });

  test("after a reboot old kill keys and pending work are dropped", () => {
    const dir = fresh();
    const a = new Journal(dir, "boot-1", () => {});
    a.begin("k", { event: "{}", todo: ["pod-event"] });
    const b = new Journal(dir, "boot-2", () => {});
    expect(b.pending()).toEqual([]);
  });

  test("a damaged state file is reported and replaced, not fatal", () => {
    const dir = fresh();
    writeFileSync(join(dir, "kube-actions.json"), "{not json");
    const said: string[] = [];
    const j = new Journal(dir, "boot-1", (m) => said.push(m));
    expect(said[0]).toContain("is damaged");
    j.finish("k", 1);
    expect(JSON.parse(readFileSync(join(dir, "kube-actions.json"), "utf8")).done).toEqual({ k: 1 });
  });

  test("an unwritable state dir is reported, and the agent goes on", () => {
    const said: string[] = [];
    const j = new Journal("/proc/oomtrace-cannot-exist", "boot-1", (m) => said.push(m));
    j.finish("k", 1);
    expect(j.isDone("k")).toBe(true);
    expect(said.some((m) => m.includes("cannot create --state-dir"))).toBe(true);
    expect(said.some((m) => m.includes("a restart may act on a kill twice"))).toBe(true);
  });
});
