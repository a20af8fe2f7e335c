// A Kubernetes API server for tests: HTTPS on 127.0.0.1 with a private CA, client-certificate
// and bearer-token authentication, RBAC, discovery, pods/events/nodes/namespaces with
// list/get/create/update/patch/delete/watch, SelfSubjectAccessReview, and fault injection.
//
// TLS is terminated by node:tls (Bun's node:https and Bun.serve do not expose the client
// certificate) and each connection is handed to a node:http server.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { writeKubeconfig } from "../helpers/kubeconfig.ts";
import { ALLOW_ALL, type Identity, identityFromCert, identityFromToken, Rbac, type Rule } from "./auth.ts";
import { API, type ResourceDef } from "./resources.ts";
import { createObject, handle, newNamespace, type RouteContext, type RouteOptions, sendStatus } from "./routes.ts";
import { errors, status } from "./status.ts";
import { Store } from "./store.ts";
import { createPki } from "./tls.ts";

type Obj = Record<string, any>;

export interface ApiServerOptions {
  /** The identity in the client certificate. Default "oomtrace-test-admin", groups ["oomtrace:test"]. */
  certUser?: { name: string; groups?: string[] };
  /** The identity behind the bearer token. Default the service account system:serviceaccount:oomtrace:oomtrace. */
  tokenUser?: { name: string; groups?: string[] };
  /** Per-user RBAC rules to start with; users not listed get `defaultRules`. */
  rbac?: Record<string, Rule[]>;
  /** Rules of users without their own entry. Default: everything. */
  defaultRules?: Rule[];
  /** Changes kept for watches (the compaction window). Default 10000. */
  historySize?: number;
  /** What /version reports. Default "v1.32.4". */
  version?: string;
  /** BOOKMARK interval for watches with allowWatchBookmarks=true. Default 1000 ms. */
  bookmarkIntervalMs?: number;
  /** Watch length when a client gives no timeoutSeconds. Default 1800 s. */
  defaultWatchTimeoutSeconds?: number;
  /** See RouteOptions.expiredWatch. Default "event", like the real server. */
  expiredWatch?: "event" | "status";
  /** Create namespaces on first use. Default true (the real server answers 404). */
  autoCreateNamespaces?: boolean;
  /** Answer aggregated discovery when asked. Default true; false makes clients use the per-group documents. */
  aggregatedDiscovery?: boolean;
  /** Called as each response finishes, with its record (code filled): benchmarks timestamp accepted writes here. */
  onResponse?: (record: RequestRecord) => void;
}

export type Fault = { status: 429; retryAfterSeconds?: number } | { status: 410 | 500 | 503 | 504 } | { reset: true };
export interface FaultMatch {
  method?: string;
  pathIncludes?: string;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  user: string | undefined;
  code: number;
}

export interface ApiServerState {
  store: Store;
  rbac: Rbac;
  /** Requests seen, by "METHOD /path" (no query string). */
  requests: Map<string, number>;
  /** Every request in order, with the response code (filled when the response finishes). */
  log: RequestRecord[];
  /** Requests matching a method and/or a path substring. */
  count(match?: FaultMatch): number;
  certUser: Identity;
  tokenUser: Identity;
  /** Creates an object given with apiVersion/kind (validated and defaulted as over the API). */
  create(obj: Obj): Obj;
  /** Reads an object in the wire shape of `apiVersion` ("v1" or "events.k8s.io/v1"). */
  get(resource: string, namespace: string, name: string, apiVersion?: string): Obj | undefined;
  /** Changes a stored object in place, as a controller would (new resourceVersion, watch MODIFIED). */
  modify(resource: string, namespace: string, name: string, change: (o: Obj) => void): Obj;
  remove(resource: string, namespace: string, name: string): void;
}

export interface ApiServerInject {
  /** The next `n` requests matching `match` get this fault instead of an answer. */
  next(n: number, fault: Fault, match?: FaultMatch): void;
  /** Drops the change history: watches and continues from an older resourceVersion get 410. */
  compact(opts?: { expireWatches?: boolean }): void;
  /** Ends every open watch cleanly, as a server restart or watch timeout would. */
  closeWatches(): void;
  /** Sends a BOOKMARK now on every watch that allows them. */
  bookmark(): void;
  clear(): void;
}

export interface ApiServer {
  url: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  token: string;
  kubeconfigPath(user: "cert" | "token" | "bad-token"): string;
  state: ApiServerState;
  inject: ApiServerInject;
  stop(): Promise<void>;
}

function defFor(resource: string, apiVersion = "v1"): ResourceDef {
  const d = API[apiVersion]?.[resource];
  if (!d) throw new Error(`unknown resource ${apiVersion}/${resource}`);
  return d;
}

const matchesFault = (m: FaultMatch | undefined, method: string, path: string) =>
  (!m?.method || m.method.toUpperCase() === method) && (!m?.pathIncludes || path.includes(m.pathIncludes));

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const pki = createPki();
  const certUser: Identity = { user: opts.certUser?.name ?? "oomtrace-test-admin", groups: opts.certUser?.groups ?? ["oomtrace:test"] };
  const tokenUser: Identity = {
    user: opts.tokenUser?.name ?? "system:serviceaccount:oomtrace:oomtrace",
    groups: opts.tokenUser?.groups ?? ["system:serviceaccounts", "system:serviceaccounts:oomtrace"],
  };
  const client = pki.issueClientCert(certUser.user, certUser.groups);
  const token = `oomtrace-test-${crypto.randomUUID()}`;
  const tokens = new Map<string, Identity>([[token, tokenUser]]);

  const store = new Store({ historySize: opts.historySize });
  const rbac = new Rbac(opts.defaultRules ?? ALLOW_ALL);
  for (const [user, rules] of Object.entries(opts.rbac ?? {})) rbac.set(user, rules);
  for (const ns of ["default", "kube-system", "kube-public"]) store.create("namespaces", newNamespace(ns));

  const version = opts.version ?? "v1.32.4";
  const [, major = "1", minor = "32"] = /^v(\d+)\.(\d+)/.exec(version) ?? [];
  const routeOpts: RouteOptions = {
    version: { major, minor, gitVersion: version },
    autoCreateNamespaces: opts.autoCreateNamespaces ?? true,
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 1000,
    defaultWatchTimeoutSeconds: opts.defaultWatchTimeoutSeconds ?? 1800,
    expiredWatch: opts.expiredWatch ?? "event",
    aggregatedDiscovery: opts.aggregatedDiscovery ?? true,
  };
  const ctx: RouteContext = { store, rbac, opts: routeOpts, serverAddress: "" };

  const requests = new Map<string, number>();
  const log: RequestRecord[] = [];
  let faults: { remaining: number; fault: Fault; match?: FaultMatch }[] = [];

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", "https://apiserver");
    const path = url.pathname;
    requests.set(`${method} ${path}`, (requests.get(`${method} ${path}`) ?? 0) + 1);
    const id = identityFromCert(req.socket as TLSSocket) ?? identityFromToken(req.headers.authorization, tokens);
    const record: RequestRecord = { method, path, query: url.search, user: id?.user, code: 0 };
    log.push(record);
    res.on("finish", () => {
      record.code = res.statusCode;
      opts.onResponse?.(record);
    });

    const rule = faults.find((f) => f.remaining > 0 && matchesFault(f.match, method, path));
    if (rule) {
      rule.remaining--;
      const f = rule.fault;
      if ("reset" in f) {
        record.code = -1;
        return void req.socket.destroy();
      }
      if (f.status === 429) return sendStatus(res, errors.tooManyRequests(f.retryAfterSeconds), f.retryAfterSeconds === undefined ? {} : { "Retry-After": String(f.retryAfterSeconds) });
      if (f.status === 410) return sendStatus(res, errors.expired(`too old resource version: 0 (${store.compactedRv})`));
      if (f.status === 500) return sendStatus(res, errors.internal("injected fault"));
      if (f.status === 503) return sendStatus(res, errors.unavailable("the server is currently unable to handle the request"));
      return sendStatus(res, status(504, "Timeout", "Timeout: request did not complete within the allotted timeout"));
    }
    if (!id) return sendStatus(res, errors.unauthorized());
    handle(req, res, id, ctx).catch((e) => {
      if (!res.headersSent) sendStatus(res, errors.internal(String(e)));
      else res.destroy();
    });
  };

  const http = createHttpServer(onRequest);
  const sockets = new Set<Socket>();
  const tls = createTlsServer({ key: pki.serverKeyPem, cert: pki.serverCertPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: false }, (sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    http.emit("connection", sock);
  });
  tls.on("tlsClientError", () => {}); // clients that reject our CA, or hang up mid-handshake
  await new Promise<void>((resolve, reject) => {
    tls.once("error", reject);
    tls.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (tls.address() as { port: number }).port;
  const url = `https://127.0.0.1:${port}`;
  ctx.serverAddress = `127.0.0.1:${port}`;

  const kubeconfigs = new Map<string, string>();
  const kubeconfigPath = (user: "cert" | "token" | "bad-token") => {
    let p = kubeconfigs.get(user);
    if (!p) {
      p = join(pki.dir, `kubeconfig-${user}.json`);
      const u =
        user === "cert"
          ? { clientCertPem: client.certPem, clientKeyPem: client.keyPem }
          : { token: user === "token" ? token : `oomtrace-bad-${crypto.randomUUID()}` };
      writeKubeconfig(p, url, pki.caPem, u);
      kubeconfigs.set(user, p);
    }
    return p;
  };

  const state: ApiServerState = {
    store,
    rbac,
    requests,
    log,
    count: (m) => log.filter((r) => matchesFault(m, r.method, r.path)).length,
    certUser,
    tokenUser,
    create(obj) {
      const d = Object.values(API[obj.apiVersion ?? "v1"] ?? {}).find((x) => x.kind === obj.kind);
      if (!d) throw new Error(`unknown kind ${obj.apiVersion}/${obj.kind}`);
      return createObject(d, obj.metadata?.namespace ?? "", obj, ctx);
    },
    get(resource, namespace, name, apiVersion) {
      const d = defFor(resource, apiVersion);
      const o = store.get(d.storage, namespace, name);
      if (!o) return undefined;
      return { kind: d.kind, apiVersion: apiVersion ?? "v1", ...(d.toWire ? d.toWire(o) : o) };
    },
    modify(resource, namespace, name, change) {
      const d = defFor(resource);
      const prev = store.get(d.storage, namespace, name);
      if (!prev) throw new Error(`${resource} ${namespace}/${name} not found`);
      const next = structuredClone(prev);
      change(next);
      return store.update(d.storage, next, prev);
    },
    remove(resource, namespace, name) {
      store.delete(defFor(resource).storage, namespace, name);
    },
  };

  const inject: ApiServerInject = {
    next: (n, fault, match) => void faults.push({ remaining: n, fault, ...(match ? { match } : {}) }),
    compact: (o) => {
      store.compact();
      if (o?.expireWatches) for (const w of [...store.watchers]) w.expire(`too old resource version: ${store.rv - 1} (${store.compactedRv})`);
    },
    closeWatches: () => {
      for (const w of [...store.watchers]) w.close();
    },
    bookmark: () => {
      for (const w of store.watchers) w.bookmark();
    },
    clear: () => {
      faults = [];
    },
  };

  return {
    url,
    caPem: pki.caPem,
    clientCertPem: client.certPem,
    clientKeyPem: client.keyPem,
    token,
    kubeconfigPath,
    state,
    inject,
    async stop() {
      inject.closeWatches();
      await new Promise<void>((resolve) => {
        tls.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      http.close();
      rmSync(pki.dir, { recursive: true, force: true }); // keys and kubeconfigs
    },
  };
}
