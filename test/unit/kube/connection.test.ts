import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectionError, fromKubeconfig, inCluster, tokenFile } from "../../../src/kube/connection.ts";
import { thrownMessage } from "../../helpers/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "oomtrace-conn-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const b64 = (s: string) => Buffer.from(s).toString("base64");

function kubeconfig(name: string, yaml: string): string {
  const p = join(dir, name);
  writeFileSync(p, yaml);
  return p;
}

const error = (f: () => unknown) => thrownMessage(ConnectionError, f);

describe("kubeconfig", () => {
  test("YAML with inline data: CA, client certificate and key, the current context's cluster", () => {
    const p = kubeconfig(
      "inline.yaml",
      `apiVersion: v1
kind: Config
current-context: b
contexts:
- name: a
  context: { cluster: one, user: u1 }
- name: b
  context: { cluster: two, user: u2 }
clusters:
- name: one
  cluster: { server: "https://one:6443" }
- name: two
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: ${b64("CA PEM")}
users:
- name: u1
  user: { token: nope }
- name: u2
  user:
    client-certificate-data: ${b64("CERT PEM")}
    client-key-data: ${b64("KEY PEM")}
`,
    );
    const c = fromKubeconfig(p);
    expect(c.server).toBe("https://10.0.0.1:6443");
    expect(c.tls).toEqual({ ca: "CA PEM", cert: "CERT PEM", key: "KEY PEM", rejectUnauthorized: true });
    expect(c.token()).toBeNull();
  });

  test("files relative to the kubeconfig, a token, insecure-skip-tls-verify", () => {
    writeFileSync(join(dir, "ca.crt"), "CA FROM FILE");
    const p = kubeconfig(
      "files.yaml",
      `current-context: c
contexts: [{ name: c, context: { cluster: k, user: u } }]
clusters: [{ name: k, cluster: { server: "https://k:443", certificate-authority: ca.crt, insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: abc } }]
`,
    );
    const c = fromKubeconfig(p);
    expect(c.tls).toEqual({ ca: "CA FROM FILE", rejectUnauthorized: false });
    expect(c.token()).toBe("abc");
  });

  test("what cannot work is a clear error", () => {
    expect(error(() => fromKubeconfig(join(dir, "missing.yaml")))).toContain("cannot read kubeconfig");
    expect(error(() => fromKubeconfig(kubeconfig("noctx.yaml", "clusters: []\n")))).toContain("has no current-context");
    expect(error(() => fromKubeconfig(kubeconfig("badctx.yaml", "current-context: x\ncontexts: []\n")))).toContain('no context named "x"');
    const exec = kubeconfig(
      "exec.yaml",
      `current-context: c
contexts: [{ name: c, context: { cluster: k, user: u } }]
clusters: [{ name: k, cluster: { server: "https://k" } }]
users: [{ name: u, user: { exec: { command: aws } } }]
`,
    );
    expect(error(() => fromKubeconfig(exec))).toContain("exec plugin or auth provider");
    const half = kubeconfig(
      "half.yaml",
      `current-context: c
contexts: [{ name: c, context: { cluster: k, user: u } }]
clusters: [{ name: k, cluster: { server: "https://k" } }]
users: [{ name: u, user: { client-certificate-data: ${b64("C")} } }]
`,
    );
    expect(error(() => fromKubeconfig(half))).toContain("needs both client-certificate and client-key");
  });
});

describe("in-cluster", () => {
  test("service host and port, the mounted CA and token; IPv6 in brackets", () => {
    const sa = mkdtempSync(join(dir, "sa-"));
    writeFileSync(join(sa, "token"), "tok-1\n");
    writeFileSync(join(sa, "ca.crt"), "CLUSTER CA");
    const c = inCluster({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }, sa)!;
    expect(c.server).toBe("https://[fd00::1]:443");
    expect(c.tls.ca).toBe("CLUSTER CA");
    expect(c.token()).toBe("tok-1");
    expect(inCluster({}, sa)).toBeNull();
    expect(inCluster({ KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" }, join(dir, "none"))).toBeNull();
  });

  test("a rotated token is read again once the last read is a minute old", () => {
    const p = join(dir, "rotating-token");
    writeFileSync(p, "first");
    let now = 0;
    const token = tokenFile(p, () => now);
    expect(token()).toBe("first");
    writeFileSync(p, "second");
    utimesSync(p, new Date(), new Date(Date.now() + 5000));
    now = 59_000;
    expect(token()).toBe("first");
    now = 61_000;
    expect(token()).toBe("second");
    rmSync(p);
    now = 200_000;
    expect(token()).toBe("second"); // being swapped: the last token stays
    expect(() => tokenFile(join(dir, "never"))()).toThrow(ConnectionError);
  });
});
