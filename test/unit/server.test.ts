import { describe, expect, test } from "bun:test";
import { parseBindAddress } from "../../src/server.ts";

describe("parseBindAddress", () => {
  test.each<[string, { hostname: string; port: number }]>([
    [":9102", { hostname: "0.0.0.0", port: 9102 }],
    ["127.0.0.1:9102", { hostname: "127.0.0.1", port: 9102 }],
    ["[::1]:9102", { hostname: "::1", port: 9102 }],
    ["[::]:80", { hostname: "::", port: 80 }],
    ["localhost:0", { hostname: "localhost", port: 0 }],
    ["0.0.0.0:65535", { hostname: "0.0.0.0", port: 65535 }],
    [" :9102 ", { hostname: "0.0.0.0", port: 9102 }],
  ])("%p", (addr, expected) => {
    expect(parseBindAddress(addr)).toEqual(expected);
  });

  test.each<[string]>([["9102"], ["127.0.0.1"], ["host:"], [":"], ["host:99999"], ["host:65536"], ["host:http"], ["::1:9102"], ["[::1]"], ["a:b:9102"], ["host:-1"]])(
    "%p throws with a message that shows the right form",
    (addr) => {
      expect(() => parseBindAddress(addr)).toThrow(`metrics bind address "${addr}" is not host:port (e.g. ":9102" or "127.0.0.1:9102"); use "" to disable`);
    },
  );
});
