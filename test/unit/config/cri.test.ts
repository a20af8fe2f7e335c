import { describe, expect, test } from "bun:test";
import { ConfigError, resolveRunConfig, runArgs } from "../../../src/config/run.ts";

const DEFAULTS: Record<string, unknown> = Object.fromEntries(
  Object.entries(runArgs).flatMap(([flag, def]) => ("default" in def ? [[flag, def.default]] : [])),
);
const cri = (flags: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
  resolveRunConfig({ ...DEFAULTS, ...flags }, env, (f) => f in flags, "worker-1").cri;

describe("CRI flags", () => {
  test("default: search the usual sockets, list every 10 s", () => {
    expect(cri()).toEqual({ endpoint: "auto", resyncMs: 10_000 });
  });

  test("an endpoint as unix:// URL or plain path; the flag beats the environment", () => {
    expect(cri({ "cri-endpoint": "unix:///run/crio/crio.sock" }).endpoint).toEqual({ path: "/run/crio/crio.sock" });
    expect(cri({}, { OOMTRACE_CRI_ENDPOINT: "/x/containerd.sock" }).endpoint).toEqual({ path: "/x/containerd.sock" });
    expect(cri({ "cri-endpoint": "/a.sock" }, { OOMTRACE_CRI_ENDPOINT: "/b.sock" }).endpoint).toEqual({ path: "/a.sock" });
  });

  test("off by --no-cri, by an empty flag, or by an empty variable", () => {
    expect(cri({ cri: false }).endpoint).toBe("off");
    expect(cri({ "cri-endpoint": "" }).endpoint).toBe("off");
    expect(cri({}, { OOMTRACE_CRI_ENDPOINT: "" }).endpoint).toBe("off");
  });

  test("bad endpoints and resync values are errors that say what is allowed", () => {
    for (const bad of ["tcp://1.2.3.4:10010", "relative.sock", "unix://relative", "/a\0b"]) {
      expect(() => cri({ "cri-endpoint": bad })).toThrow(ConfigError);
    }
    expect(() => cri({ "cri-endpoint": "npipe:////./pipe/x" })).toThrow(/unix:\/\/\/absolute\/path/);
    for (const bad of ["0", "999", "3600001", "1e4", "-5", " 2000"]) expect(() => cri({ "cri-resync": bad })).toThrow(ConfigError);
    expect(cri({ "cri-resync": "1000" }).resyncMs).toBe(1000);
  });
});
