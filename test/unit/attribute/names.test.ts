import { describe, expect, test } from "bun:test";
import { namesMatch, resolveNames, withNames } from "../../../src/attribute/names.ts";
import type { CgroupIdentity, NameResolver, OomEvent, WorkloadNames } from "../../../src/types.ts";

const UID = "0b2c7e4a-58c1-4a3e-9d1f-2f3b6c7d8e9f";
const CID = "abfbf277763b4ba2b4f6d1e7c0f3a9e2d5c8b1a4f7e0d3c6b9a2f5e8d1c4b7a0";
const ID: CgroupIdentity = {
  workload: "kubernetes",
  pod: { uid: UID, qos: "burstable", namespace: null, name: null },
  container: { id: CID, runtime: "containerd", name: null },
  sandbox: false,
  unit: null,
  level: "container",
};

function names(source: WorkloadNames["source"], over: Partial<WorkloadNames["pod"]> = {}, cid: string | null = CID): WorkloadNames {
  return {
    source,
    pod: { uid: UID, namespace: "team-a", name: `web-${source}`, labels: {}, ...over },
    container: { id: cid, name: "app", image: null },
  };
}

/** A resolver that answers `cached` at once and `later` after `delayMs`; counts its calls. */
function resolver(source: WorkloadNames["source"], opts: { cached?: WorkloadNames | null; later?: WorkloadNames | null; delayMs?: number; throws?: boolean }) {
  const calls = { lookup: 0, resolve: 0 };
  const r: NameResolver = {
    source,
    lookup() {
      calls.lookup++;
      if (opts.throws) throw new Error("boom");
      return opts.cached ?? null;
    },
    async resolve() {
      calls.resolve++;
      if (opts.throws) throw new Error("boom");
      await Bun.sleep(opts.delayMs ?? 0);
      return opts.later ?? null;
    },
  };
  return { r, calls };
}

describe("resolveNames", () => {
  test("a cached answer from the first resolver wins without asking the others", async () => {
    const api = resolver("apiserver", { cached: names("apiserver") });
    const cri = resolver("cri", { cached: names("cri") });
    const n = await resolveNames(ID, [api.r, cri.r], Date.now() + 1000);
    expect(n?.source).toBe("apiserver");
    expect(cri.calls).toEqual({ lookup: 0, resolve: 0 });
  });

  test("a cache miss in the first, hit in the second: the second answers at once", async () => {
    const api = resolver("apiserver", { later: names("apiserver"), delayMs: 500 });
    const cri = resolver("cri", { cached: names("cri") });
    const t0 = Date.now();
    expect((await resolveNames(ID, [api.r, cri.r], Date.now() + 1000))?.source).toBe("cri");
    expect(Date.now() - t0).toBeLessThan(400);
    expect(api.calls.resolve).toBe(0);
  });

  test("when nobody knows yet, a late answer from the more trusted resolver wins", async () => {
    const api = resolver("apiserver", { later: names("apiserver"), delayMs: 50 });
    const cri = resolver("cri", { later: names("cri"), delayMs: 0 });
    expect((await resolveNames(ID, [api.r, cri.r], Date.now() + 1000))?.source).toBe("apiserver");
  });

  test("the deadline bounds a resolver that overruns it", async () => {
    const api = resolver("apiserver", { later: names("apiserver"), delayMs: 5000 });
    const cri = resolver("cri", { later: names("cri"), delayMs: 0 });
    const t0 = Date.now();
    expect((await resolveNames(ID, [api.r, cri.r], Date.now() + 100))?.source).toBe("cri");
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  test("a resolver that throws counts as no answer", async () => {
    const bad = resolver("apiserver", { throws: true });
    const cri = resolver("cri", { later: names("cri") });
    expect((await resolveNames(ID, [bad.r, cri.r], Date.now() + 100))?.source).toBe("cri");
  });

  test("an answer for another pod or container is refused, cached or late", async () => {
    const wrongPod = resolver("apiserver", { cached: names("apiserver", { uid: "11111111-2222-3333-4444-555555555555" }) });
    const wrongCtr = resolver("cri", { later: names("cri", {}, "f".repeat(64)) });
    expect(await resolveNames(ID, [wrongPod.r, wrongCtr.r], Date.now() + 50)).toBeNull();
  });

  test("no pod uid and no container id: nothing to ask", async () => {
    const api = resolver("apiserver", { cached: names("apiserver") });
    const systemd: CgroupIdentity = { workload: "systemd", pod: null, container: null, sandbox: null, unit: "x.service", level: "other" };
    expect(await resolveNames(systemd, [api.r], Date.now() + 50)).toBeNull();
    expect(await resolveNames(null, [api.r], Date.now() + 50)).toBeNull();
    expect(api.calls.lookup).toBe(0);
  });

  test("no resolvers: null at once", async () => {
    expect(await resolveNames(ID, [], Date.now() + 10_000)).toBeNull();
  });
});

describe("withNames", () => {
  const event = (identity: CgroupIdentity | null) => ({ identity, names: null }) as unknown as OomEvent;

  test("fills namespace, pod and container names; keeps the kernel's ids and QoS", () => {
    const e = withNames(event(ID), names("cri"));
    expect(e.identity?.pod).toEqual({ uid: UID, qos: "burstable", namespace: "team-a", name: "web-cri" });
    expect(e.identity?.container).toEqual({ id: CID, runtime: "containerd", name: "app" });
    expect(e.names?.source).toBe("cri");
  });

  test("a pod-level victim (no container) gets pod names only", () => {
    const e = withNames(event({ ...ID, container: null, level: "pod" }), names("apiserver"));
    expect(e.identity?.container).toBeNull();
    expect(e.identity?.pod?.name).toBe("web-apiserver");
  });

  test("names that disagree with the kernel's ids are not applied", () => {
    const e = event(ID);
    expect(withNames(e, names("apiserver", { uid: "other" }))).toBe(e);
    expect(namesMatch(ID, names("cri", {}, null))).toBe(true);
  });
});
