// Writes a kubeconfig with one cluster, one user and one context. JSON is valid YAML,
// so kubectl and client libraries read it as they read any kubeconfig.
import { writeFileSync } from "node:fs";

export type KubeconfigUser = { token: string } | { clientCertPem: string; clientKeyPem: string };

const b64 = (s: string) => Buffer.from(s).toString("base64");

export function kubeconfigFor(server: string, caPem: string, user: KubeconfigUser, namespace = "default"): object {
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "test", cluster: { server, "certificate-authority-data": b64(caPem) } }],
    users: [{ name: "test", user: "token" in user ? { token: user.token } : { "client-certificate-data": b64(user.clientCertPem), "client-key-data": b64(user.clientKeyPem) } }],
    contexts: [{ name: "test", context: { cluster: "test", user: "test", namespace } }],
    "current-context": "test",
    preferences: {},
  };
}

export function writeKubeconfig(path: string, server: string, caPem: string, user: KubeconfigUser, namespace?: string): string {
  writeFileSync(path, JSON.stringify(kubeconfigFor(server, caPem, user, namespace), null, 2), { mode: 0o600 });
  return path;
}
