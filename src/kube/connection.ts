// Where the API server is and how to authenticate: in-cluster service account or a kubeconfig file.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface Connection {
  /** https://host:port, no trailing slash. */
  server: string;
  /** Where it came from, for logs: "in-cluster" or the kubeconfig path. */
  origin: string;
  tls: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
  /** Current bearer token, re-read from its file as it rotates; null with client-certificate auth. */
  token(): string | null;
}

export class ConnectionError extends Error {}

/**
 * A token file re-read once it is older than a minute (as client-go does): projected service-account
 * tokens rotate hourly, and the kubelet swaps the file atomically.
 */
export function tokenFile(path: string, now: () => number = Date.now, maxAgeMs = 60_000): () => string {
  let value = "";
  let readAt = -Infinity;
  let mtime = -1;
  return () => {
    if (now() - readAt < maxAgeMs && value) return value;
    try {
      const m = statSync(path).mtimeMs;
      if (m !== mtime || !value) value = readFileSync(path, "utf8").trim();
      mtime = m;
      readAt = now();
    } catch (e) {
      // Keep the last token while the file is being swapped; none at all is an error.
      if (!value) throw new ConnectionError(`cannot read the service account token ${path}: ${(e as Error).message}`);
    }
    return value;
  };
}

/** In-cluster config from KUBERNETES_SERVICE_HOST/PORT and the mounted service account; null outside a pod. */
export function inCluster(env: Record<string, string | undefined>, dir = SERVICE_ACCOUNT_DIR): Connection | null {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port || !existsSync(join(dir, "token"))) return null;
  const hostPart = host.includes(":") ? `[${host}]` : host; // IPv6 service address
  const caPath = join(dir, "ca.crt");
  return {
    server: `https://${hostPart}:${port}`,
    origin: "in-cluster",
    tls: { ...(existsSync(caPath) ? { ca: readFileSync(caPath, "utf8") } : {}), rejectUnauthorized: true },
    token: tokenFile(join(dir, "token")),
  };
}

type Obj = Record<string, any>;

function named(list: unknown, name: string, what: string, path: string): Obj {
  const hit = Array.isArray(list) ? list.find((x) => x && typeof x === "object" && x.name === name) : undefined;
  if (!hit || typeof hit[what] !== "object" || hit[what] === null) throw new ConnectionError(`kubeconfig ${path}: no ${what} named ${JSON.stringify(name)}`);
  return hit[what];
}

/** Reads the current context of a kubeconfig (YAML or JSON). Exec plugins and auth providers are not supported. */
export function fromKubeconfig(path: string): Connection {
  let doc: Obj;
  try {
    doc = Bun.YAML.parse(readFileSync(path, "utf8")) as Obj;
  } catch (e) {
    throw new ConnectionError(`cannot read kubeconfig ${path}: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== "object") throw new ConnectionError(`kubeconfig ${path} is empty or not a mapping`);
  const ctxName = doc["current-context"];
  if (typeof ctxName !== "string" || !ctxName) throw new ConnectionError(`kubeconfig ${path} has no current-context`);
  const ctx = named(doc.contexts, ctxName, "context", path);
  const cluster = named(doc.clusters, String(ctx.cluster), "cluster", path);
  const user: Obj = ctx.user ? named(doc.users, String(ctx.user), "user", path) : {};
  const base = dirname(path);
  const file = (p: string) => readFileSync(isAbsolute(p) ? p : join(base, p), "utf8");
  const pem = (data: unknown, filePath: unknown, what: string): string | undefined => {
    try {
      if (typeof data === "string" && data) return Buffer.from(data, "base64").toString("utf8");
      if (typeof filePath === "string" && filePath) return file(filePath);
    } catch (e) {
      throw new ConnectionError(`kubeconfig ${path}: cannot read ${what}: ${(e as Error).message}`);
    }
    return undefined;
  };
  if (user.exec || user["auth-provider"]) {
    throw new ConnectionError(`kubeconfig ${path}: user ${JSON.stringify(ctx.user)} uses an exec plugin or auth provider, which oomtrace does not run; use a token, a token file or a client certificate`);
  }
  const server = String(cluster.server ?? "").replace(/\/+$/, "");
  if (!/^https?:\/\//.test(server)) throw new ConnectionError(`kubeconfig ${path}: cluster ${JSON.stringify(ctx.cluster)} has no https server URL`);
  const ca = pem(cluster["certificate-authority-data"], cluster["certificate-authority"], "certificate-authority");
  const cert = pem(user["client-certificate-data"], user["client-certificate"], "client-certificate");
  const key = pem(user["client-key-data"], user["client-key"], "client-key");
  if (Boolean(cert) !== Boolean(key)) throw new ConnectionError(`kubeconfig ${path}: a client certificate needs both client-certificate and client-key`);
  const staticToken = typeof user.token === "string" && user.token ? user.token : null;
  const fromFile = typeof user.tokenFile === "string" && user.tokenFile ? tokenFile(isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile)) : null;
  return {
    server,
    origin: path,
    tls: { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}), rejectUnauthorized: cluster["insecure-skip-tls-verify"] !== true },
    token: () => staticToken ?? fromFile?.() ?? null,
  };
}
