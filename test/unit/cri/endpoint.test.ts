import { describe, expect, test } from "bun:test";
import { DEFAULT_SOCKETS, findSocket, socketPath } from "../../../src/cri/endpoint.ts";

describe("CRI endpoint", () => {
  test("the first usual socket that exists under the host root, in order", () => {
    const there = new Set(["/host/run/crio/crio.sock", "/host/run/k3s/containerd/containerd.sock"]);
    expect(findSocket("/host", (p) => there.has(p))).toBe("/host/run/crio/crio.sock");
    expect(findSocket("/", (p) => p === "/run/containerd/containerd.sock")).toBe("/run/containerd/containerd.sock");
    expect(findSocket("/host", () => false)).toBeNull();
    expect(DEFAULT_SOCKETS[0]).toBe("/run/containerd/containerd.sock");
  });

  test("unix:// URLs and absolute paths; nothing else", () => {
    expect(socketPath("unix:///run/x.sock")).toBe("/run/x.sock");
    expect(socketPath("/run/x.sock")).toBe("/run/x.sock");
    for (const bad of ["unix://run/x.sock", "tcp://127.0.0.1:1", "x.sock", "", "/a\0b"]) expect(socketPath(bad)).toBeNull();
  });
});
