// The HTTP API: discovery, CRUD + PATCH + watch for the resources in resources.ts,
// and SelfSubjectAccessReview. Authentication happened in server.ts; authorization is here,
// once the request's verb/resource/namespace/name are known (as the real server's RequestInfo).
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Attributes, forbiddenReason, type Identity, type Rbac, selfSubjectAccessReview, selfSubjectRulesReview } from "./auth.ts";
import { AGGREGATED, aggregated, discovery, type VersionInfo, wantsAggregated } from "./discovery.ts";
import { decodeEnvelope, decodeSelfSubjectAccessReview, decodeSelfSubjectRulesReview, PROTOBUF } from "./protobuf.ts";
import { applyPatch, deepEqual, type Json, PATCH_TYPES, PatchError, type PatchType } from "./patch.ts";
import { API, defaultPod, groupVersion, type ResourceDef } from "./resources.ts";
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from "./selectors.ts";
import { ApiError, errors, type FieldError, fieldErrors, invalid, status } from "./status.ts";
import type { Change, Store, Watcher } from "./store.ts";
import { tableFor, wantsTable } from "./table.ts";
import { decodeTimes, validateEvent, validateEventUpdate, validateName, validatePodCreate, validatePodSpecUpdate } from "./validate.ts";

type Obj = Record<string, any>;

export interface RouteOptions {
  version: VersionInfo;
  /** Create a namespace when an object is first created in it (the real server answers 404 instead). */
  autoCreateNamespaces: boolean;
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK. */
  bookmarkIntervalMs: number;
  /** Watch length when the client gives no timeoutSeconds. */
  defaultWatchTimeoutSeconds: number;
  /**
   * A watch from a resourceVersion that is too old: "event" answers 200 and an ERROR event
   * with a 410 Expired Status (what the real server does); "status" answers a plain 410.
   */
  expiredWatch: "event" | "status";
  /** Answer aggregated discovery (apidiscovery.k8s.io/v2) when asked, as servers since 1.30 do. */
  aggregatedDiscovery: boolean;
}

export interface RouteContext {
  store: Store;
  rbac: Rbac;
  opts: RouteOptions;
  serverAddress: string;
}

// ---------------------------------------------------------------- plumbing

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": "application/json",
    "Cache-Control": "no-cache, private",
    "Audit-Id": crypto.randomUUID(),
    "Content-Length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export const sendStatus = (res: ServerResponse, s: ReturnType<typeof status>, headers?: Record<string, string>) => sendJson(res, s.code, s, headers);

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseJsonBody(text: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ApiError(errors.badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`));
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new ApiError(errors.badRequest("couldn't get version/kind; json parse error: not an object"));
  return v as Obj;
}

/** Accept negotiation: JSON is all this server speaks. */
function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(",").some((r) => {
    const type = r.split(";")[0]!.trim().toLowerCase();
    return type === "application/json" || type === "*/*" || type === "application/*" || type === "";
  });
}

// ---------------------------------------------------------------- request info

interface ResourceRequest {
  def: ResourceDef;
  namespace: string;
  name: string;
  subresource: string;
  verb: string;
  query: URLSearchParams;
}

function resolve(method: string, parts: string[], query: URLSearchParams): ResourceRequest | undefined {
  let gv: string;
  let rest: string[];
  if (parts[0] === "api" && parts[1] === "v1") [gv, rest] = ["v1", parts.slice(2)];
  else if (parts[0] === "apis" && parts.length >= 4) [gv, rest] = [`${parts[1]}/${parts[2]}`, parts.slice(3)];
  else return undefined;
  let namespace = "";
  // namespaces/{ns}/{resource}..., but namespaces/{name}/status is the namespace's own subresource.
  if (rest[0] === "namespaces" && rest.length >= 3 && !(rest.length === 3 && !API[gv]?.[rest[2]!])) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const [resource, name = "", subresource = "", ...extra] = rest;
  const def = API[gv]?.[resource ?? ""];
  if (!def || extra.length || (subresource && !def.subresources.includes(subresource))) return undefined;
  if (def.namespaced ? !namespace && name : namespace) return undefined;
  const watch = query.get("watch") === "1" || query.get("watch") === "true";
  const verb = { GET: name ? "get" : watch ? "watch" : "list", POST: name ? "" : "create", PATCH: name ? "patch" : "", PUT: name ? "update" : "", DELETE: name ? "delete" : "deletecollection" }[method] ?? "";
  return { def, namespace, name, subresource, verb, query };
}

// ---------------------------------------------------------------- wire shapes

const gr = (d: ResourceDef) => ({ group: d.group, resource: d.resource });
const gk = (d: ResourceDef) => ({ group: d.group, kind: d.kind });

/** Stored object -> what this API version returns (with kind/apiVersion unless in a list). */
function toWire(d: ResourceDef, o: Obj, typed = true): Obj {
  const { kind: _k, apiVersion: _a, metadata, ...rest } = d.toWire ? d.toWire(o) : o;
  // Go's field order: kind, apiVersion, metadata, then the rest.
  return typed ? { kind: d.kind, apiVersion: groupVersion(d), metadata, ...rest } : { metadata, ...rest };
}

function fromWire(d: ResourceDef, body: Obj): Obj {
  let o = d.fromWire ? d.fromWire(structuredClone(body)) : structuredClone(body);
  if (d.canonical) o = d.canonical(o);
  delete o.kind;
  delete o.apiVersion;
  o.metadata ??= {};
  // Times in events are decoded strictly, as Go's metav1.Time/MicroTime do.
  if (d.storage === "events") decodeTimes(o, d.kind, d.version, ["eventTime", "series.lastObservedTime"], ["firstTimestamp", "lastTimestamp"]);
  return o;
}

interface Filter {
  namespace: string;
  fields: ReturnType<typeof parseFieldSelector>;
  labels: ReturnType<typeof parseLabelSelector>;
}

function parseFilter(r: ResourceRequest): Filter {
  try {
    const fields = parseFieldSelector(r.query.get("fieldSelector")).map((t) => ({ ...t, field: r.def.fieldAliases?.[t.field] ?? t.field }));
    const known = r.def.fields({});
    for (const t of fields) if (!(t.field in known)) throw new SelectorError(`field label not supported: ${t.field}`);
    return { namespace: r.namespace, fields, labels: parseLabelSelector(r.query.get("labelSelector")) };
  } catch (e) {
    if (e instanceof SelectorError) throw new ApiError(errors.badRequest(e.message));
    throw e;
  }
}

const matches = (d: ResourceDef, f: Filter, o: Obj) =>
  (!f.namespace || o.metadata?.namespace === f.namespace) && matchFields(f.fields, d.fields(o)) && matchLabels(f.labels, o.metadata?.labels);

function parseRv(v: string | null): number | undefined {
  if (v === null || v === "" || v === "0") return undefined;
  if (!/^\d+$/.test(v)) throw new ApiError(invalid({ group: "meta.k8s.io", kind: "ListOptions" }, "", [fieldErrors.invalid("resourceVersion", v, "must be a non-negative integer")]));
  return Number(v);
}

// ---------------------------------------------------------------- handlers

function list(r: ResourceRequest, ctx: RouteContext, accept: string | undefined): Obj {
  const { def: d, query } = r;
  const f = parseFilter(r);
  const { store } = ctx;
  let listRv = store.rv;
  let after = "";
  const cont = query.get("continue");
  if (cont) {
    let tok: { rv: number; start: string };
    try {
      tok = JSON.parse(Buffer.from(cont, "base64").toString("utf8"));
    } catch {
      throw new ApiError(errors.badRequest("continue key is not valid: illegal base64 data"));
    }
    if (tok.rv < store.compactedRv)
      throw new ApiError(
        errors.expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response."),
      );
    [listRv, after] = [tok.rv, tok.start];
  } else {
    const rv = parseRv(query.get("resourceVersion"));
    if (rv !== undefined && query.get("resourceVersionMatch") === "Exact" && rv < store.compactedRv)
      throw new ApiError(errors.expired(`too old resource version: ${rv} (${store.compactedRv})`));
  }
  const keyOf = (o: Obj) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  let items = store.list(d.storage, f.namespace).filter((o) => matches(d, f, o) && keyOf(o) > after);
  const metadata: Obj = { resourceVersion: String(listRv) };
  const limit = Number(query.get("limit") ?? 0);
  if (limit > 0 && items.length > limit) {
    metadata.continue = Buffer.from(JSON.stringify({ rv: listRv, start: keyOf(items[limit - 1]!) })).toString("base64");
    metadata.remainingItemCount = items.length - limit;
    items = items.slice(0, limit);
  }
  if (wantsTable(accept)) return tableFor(d, items.map((o) => toWire(d, o)), metadata, query.get("includeObject"));
  return { kind: `${d.kind}List`, apiVersion: groupVersion(d), metadata, items: items.map((o) => toWire(d, o, false)) };
}

function getObject(r: ResourceRequest, ctx: RouteContext): Obj {
  const o = ctx.store.get(r.def.storage, r.namespace, r.name);
  if (!o) throw new ApiError(errors.notFound(gr(r.def), r.name));
  return o;
}

function ensureNamespace(ns: string, ctx: RouteContext): void {
  if (!ns || ctx.store.get("namespaces", "", ns)) return;
  if (!ctx.opts.autoCreateNamespaces) throw new ApiError(errors.notFound({ group: "", resource: "namespaces" }, ns));
  ctx.store.create("namespaces", newNamespace(ns));
}

export const newNamespace = (name: string): Obj => ({ metadata: { name, labels: { "kubernetes.io/metadata.name": name } }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });

const GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789";

/** Validates and stores a new object given in this API version's shape. Exported for seeding. */
export function createObject(d: ResourceDef, namespace: string, body: Obj, ctx: RouteContext, dryRun = false): Obj {
  const md = body.metadata ?? {};
  if (d.namespaced && md.namespace && namespace && md.namespace !== namespace)
    throw new ApiError(errors.badRequest("the namespace of the provided object does not match the namespace sent on the request"));
  const o = fromWire(d, body);
  if (d.namespaced) o.metadata.namespace = namespace || o.metadata.namespace || "default";
  else delete o.metadata.namespace;
  if (!o.metadata.name && o.metadata.generateName)
    o.metadata.name = o.metadata.generateName + Array.from({ length: 5 }, () => GENERATE_CHARS[Math.floor(Math.random() * GENERATE_CHARS.length)]).join("");
  delete o.metadata.resourceVersion;
  const errs: FieldError[] =
    d.storage === "pods" ? validatePodCreate(o) : d.storage === "events" ? validateEvent(o, d.group === "events.k8s.io") : validateName(o.metadata.name);
  if (errs.length) throw new ApiError(invalid(gk(d), o.metadata.name ?? "", errs));
  if (d.storage === "pods") defaultPod(o);
  if (d.storage === "namespaces") {
    o.metadata.labels = { ...o.metadata.labels, "kubernetes.io/metadata.name": o.metadata.name };
    o.spec ??= { finalizers: ["kubernetes"] };
    o.status = { phase: "Active" };
  }
  if (ctx.store.get(d.storage, o.metadata.namespace ?? "", o.metadata.name)) throw new ApiError(errors.alreadyExists(gr(d), o.metadata.name));
  if (dryRun) return toWire(d, { ...o, metadata: { ...o.metadata, uid: o.metadata.uid ?? crypto.randomUUID() } });
  if (d.namespaced) ensureNamespace(o.metadata.namespace, ctx);
  return toWire(d, ctx.store.create(d.storage, o));
}

/** The server-side rules every update (PUT or PATCH) goes through; returns the new stored object. */
function updateObject(r: ResourceRequest, prev: Obj, next: Obj, ctx: RouteContext, dryRun: boolean): Obj {
  const { def: d, name } = r;
  const nm = next.metadata ?? (next.metadata = {});
  if (nm.resourceVersion && nm.resourceVersion !== prev.metadata.resourceVersion) throw new ApiError(errors.conflict(gr(d), name));
  if (nm.name !== undefined && nm.name !== name) throw new ApiError(errors.badRequest(`the name of the object (${nm.name}) does not match the name on the URL (${name})`));
  if (nm.uid && nm.uid !== prev.metadata.uid) throw new ApiError(invalid(gk(d), name, [fieldErrors.invalid("metadata.uid", nm.uid, "field is immutable")]));
  Object.assign(nm, { name, namespace: prev.metadata.namespace, uid: prev.metadata.uid, creationTimestamp: prev.metadata.creationTimestamp });
  if (!d.namespaced) delete nm.namespace;
  nm.resourceVersion = prev.metadata.resourceVersion;
  if (prev.metadata.deletionTimestamp) nm.deletionTimestamp = prev.metadata.deletionTimestamp;
  else delete nm.deletionTimestamp;
  if (d.subresources.includes("status")) {
    if (r.subresource === "status") {
      // Status strategy: spec and owner references come from the stored object; metadata otherwise follows the request.
      next.spec = prev.spec;
      if (prev.metadata.ownerReferences) nm.ownerReferences = prev.metadata.ownerReferences;
      else delete nm.ownerReferences;
      // The QoS class is immutable; old kubelets drop it from status updates, so the server keeps it.
      if (d.storage === "pods" && prev.status?.qosClass) next.status = { ...next.status, qosClass: next.status?.qosClass || prev.status.qosClass };
    } else next.status = prev.status;
  }
  for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
  const errs = d.storage === "pods" && r.subresource === "" ? validatePodSpecUpdate(next, prev) : d.storage === "events" ? validateEventUpdate(next, prev, d.group === "events.k8s.io") : [];
  if (errs.length) throw new ApiError(invalid(gk(d), name, errs));
  // A write that changes nothing is a no-op: no new resourceVersion, no watch event.
  if (deepEqual(next, prev) || dryRun) return toWire(d, next);
  return toWire(d, ctx.store.update(d.storage, next, prev));
}

function patchObject(r: ResourceRequest, req: IncomingMessage, body: string, ctx: RouteContext): Obj {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (!(PATCH_TYPES as readonly string[]).includes(type)) throw new ApiError(errors.unsupportedMediaType([...PATCH_TYPES]));
  const prev = getObject(r, ctx);
  let patched: Json;
  try {
    patched = applyPatch(type as PatchType, toWire(r.def, prev) as Json, body, r.def.mergeKeys);
  } catch (e) {
    if (!(e instanceof PatchError)) throw e;
    // A patch that does not apply: the real server drops the detail and says only this.
    throw new ApiError(e.code === 400 ? errors.badRequest(e.message) : status(422, "Invalid", "the server rejected our request due to an error in our request", {}));
  }
  if (!patched || typeof patched !== "object" || Array.isArray(patched)) throw new ApiError(errors.badRequest("the patch did not produce an object"));
  return updateObject(r, prev, fromWire(r.def, patched as Obj), ctx, r.query.has("dryRun"));
}

function deleteObject(r: ResourceRequest, body: string, ctx: RouteContext): Obj {
  const prev = getObject(r, ctx);
  const pre = body.trim() ? (parseJsonBody(body).preconditions ?? {}) : {};
  const failed = (what: string, want: string, have: string) =>
    new ApiError(status(409, "Conflict", `Operation cannot be fulfilled on ${r.def.resource} "${r.name}": Precondition failed: ${what} in precondition: ${want}, ${what} in object meta: ${have}`));
  if (pre.uid && pre.uid !== prev.metadata.uid) throw failed("UID", pre.uid, prev.metadata.uid);
  if (pre.resourceVersion && pre.resourceVersion !== prev.metadata.resourceVersion) throw failed("ResourceVersion", pre.resourceVersion, prev.metadata.resourceVersion);
  const gone = r.query.has("dryRun") ? prev : ctx.store.delete(r.def.storage, r.namespace, r.name)!;
  // Pods answer with the object; other resources with a Success Status naming it.
  if (r.def.storage === "pods") return toWire(r.def, gone);
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name: r.name, ...(r.def.group ? { group: r.def.group } : {}), kind: r.def.resource, uid: prev.metadata.uid } };
}

function decodeProtobufReview(raw: Buffer): Obj {
  try {
    const env = decodeEnvelope(raw);
    if (env.kind === "SelfSubjectRulesReview") return decodeSelfSubjectRulesReview(env.raw);
    if (env.kind !== "SelfSubjectAccessReview") throw new Error(`unexpected kind ${env.kind}`);
    return decodeSelfSubjectAccessReview(env.raw);
  } catch (e) {
    throw new ApiError(errors.badRequest(`unable to decode the protobuf body: ${(e as Error).message}`));
  }
}

// ---------------------------------------------------------------- watch

function bookmarkObject(d: ResourceDef, rv: number, annotations?: Record<string, string>): Obj {
  const metadata: Obj = { resourceVersion: String(rv), creationTimestamp: null, ...(annotations ? { annotations } : {}) };
  // Like the real server, a bookmark is an empty object of the watched kind: Go's zero values included.
  if (d.storage === "pods") return { kind: d.kind, apiVersion: groupVersion(d), metadata, spec: { containers: null }, status: {} };
  return { kind: d.kind, apiVersion: groupVersion(d), metadata };
}

function watch(r: ResourceRequest, res: ServerResponse, ctx: RouteContext, accept: string | undefined): void {
  const { def: d, query } = r;
  const { store, opts } = ctx;
  const f = parseFilter(r);
  const rv = parseRv(query.get("resourceVersion"));
  const bookmarks = query.get("allowWatchBookmarks") === "true";
  const initialEvents = query.get("sendInitialEvents") === "true";
  const table = wantsTable(accept);
  let replay: Change[] = [];
  let expired: string | undefined;
  if (rv === undefined || initialEvents) {
    replay = store.list(d.storage, f.namespace).map((o) => ({ rv: store.rv, storage: d.storage, type: "ADDED", obj: o }));
  } else {
    const since = store.since(d.storage, rv);
    if ("expired" in since) {
      if (opts.expiredWatch === "status") return sendStatus(res, errors.expired(since.expired));
      expired = since.expired;
    } else replay = since;
  }

  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Audit-Id": crypto.randomUUID(), "Transfer-Encoding": "chunked" });
  res.flushHeaders?.();
  let open = true;
  let first = true;
  const write = (type: string, object: Obj) => {
    if (!open) return;
    if (table && type !== "ERROR" && type !== "BOOKMARK") {
      object = tableFor(d, [object], { resourceVersion: object.metadata?.resourceVersion }, query.get("includeObject"), !first);
      first = false;
    }
    res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const timers: ReturnType<typeof setTimeout>[] = [];
  const end = () => {
    if (!open) return;
    open = false;
    store.watchers.delete(w);
    for (const t of timers) clearTimeout(t);
    res.end();
  };
  const w: Watcher = {
    storage: d.storage,
    onChange(c) {
      const now = matches(d, f, c.obj);
      const before = c.prev ? matches(d, f, c.prev) : false;
      const type = c.type !== "MODIFIED" ? (now ? c.type : undefined) : now && before ? "MODIFIED" : now ? "ADDED" : before ? "DELETED" : undefined;
      if (type) write(type, toWire(d, c.obj));
    },
    expire(message) {
      write("ERROR", errors.expired(message));
      end();
    },
    bookmark() {
      if (bookmarks) write("BOOKMARK", bookmarkObject(d, store.rv));
    },
    close: end,
  };
  if (expired !== undefined) return w.expire(expired);
  for (const c of replay) w.onChange(c);
  if (initialEvents && bookmarks) write("BOOKMARK", bookmarkObject(d, store.rv, { "k8s.io/initial-events-end": "true" }));
  store.watchers.add(w);
  const timeout = Number(query.get("timeoutSeconds")) || opts.defaultWatchTimeoutSeconds;
  timers.push(setTimeout(end, timeout * 1000));
  if (bookmarks) timers.push(setInterval(() => w.bookmark(), opts.bookmarkIntervalMs));
  res.on("close", end); // the client hung up (or the response ended)
}

// ---------------------------------------------------------------- entry point

export async function handle(req: IncomingMessage, res: ServerResponse, id: Identity, ctx: RouteContext): Promise<void> {
  const url = new URL(req.url ?? "/", "https://apiserver");
  const parts = url.pathname.split("/").filter(Boolean);
  const method = req.method ?? "GET";
  const accept = req.headers.accept;
  const raw = method === "GET" ? Buffer.alloc(0) : await readBody(req);
  const body = raw.toString("utf8");
  const contentType = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  try {
    if (!acceptsJson(accept)) throw new ApiError(errors.notAcceptable("application/json"));
    if (parts[0] === "healthz" || parts[0] === "livez" || parts[0] === "readyz") {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
      return void res.end("ok");
    }
    const p = url.pathname.replace(/\/+$/, "");
    if (method === "GET" && (p === "/api" || p === "/apis") && ctx.opts.aggregatedDiscovery && wantsAggregated(accept))
      return sendJson(res, 200, aggregated(p === "/api"), { "Content-Type": AGGREGATED });
    const doc = method === "GET" ? discovery(parts, ctx.opts.version, ctx.serverAddress) : undefined;
    if (doc) return sendJson(res, 200, doc);

    const review = /^\/apis\/authorization\.k8s\.io\/v1\/(selfsubjectaccessreviews|selfsubjectrulesreviews)$/.exec(url.pathname)?.[1];
    if (review) {
      if (method !== "POST") throw new ApiError(errors.methodNotAllowed());
      // kubectl auth can-i sends these as protobuf (and accepts JSON back).
      const obj = contentType === PROTOBUF ? decodeProtobufReview(raw) : parseJsonBody(body);
      return sendJson(res, 201, review === "selfsubjectaccessreviews" ? selfSubjectAccessReview(id, obj, ctx.rbac) : selfSubjectRulesReview(id, obj, ctx.rbac));
    }

    const r = resolve(method, parts, url.searchParams);
    if (!r) throw new ApiError(errors.pathNotFound());
    if ((method === "POST" || method === "PUT") && contentType && contentType !== "application/json")
      throw new ApiError(errors.unsupportedMediaType(["application/json"]));
    if (!r.verb) throw new ApiError(errors.methodNotAllowed());
    // RequestInfo takes the name of a list/watch from a metadata.name field selector.
    const selectedName = r.name || (/(?:^|,)metadata\.name==?([^,]*)/.exec(r.query.get("fieldSelector") ?? "")?.[1] ?? "");
    const attrs: Attributes = { verb: r.verb, apiGroup: r.def.group, resource: r.def.resource, subresource: r.subresource, namespace: r.namespace, name: selectedName };
    if (!ctx.rbac.allowed(id, attrs)) throw new ApiError(errors.forbidden(gr(r.def), selectedName, forbiddenReason(id, attrs)));

    switch (r.verb) {
      case "list":
        return sendJson(res, 200, list(r, ctx, accept));
      case "watch":
        return watch(r, res, ctx, accept);
      case "get": {
        const o = toWire(r.def, getObject(r, ctx));
        return sendJson(res, 200, wantsTable(accept) ? tableFor(r.def, [o], { resourceVersion: o.metadata.resourceVersion }, r.query.get("includeObject")) : o);
      }
      case "create":
        if (r.subresource) throw new ApiError(errors.methodNotAllowed());
        return sendJson(res, 201, createObject(r.def, r.namespace, parseJsonBody(body), ctx, r.query.has("dryRun")));
      case "patch":
        return sendJson(res, 200, patchObject(r, req, body, ctx));
      case "update": {
        const prev = getObject(r, ctx);
        return sendJson(res, 200, updateObject(r, prev, fromWire(r.def, parseJsonBody(body)), ctx, r.query.has("dryRun")));
      }
      case "delete":
        return sendJson(res, 200, deleteObject(r, body, ctx));
      case "deletecollection": {
        // Deletes what a list with the same selectors returns, and answers with those objects.
        const f = parseFilter(r);
        const doomed = ctx.store.list(r.def.storage, f.namespace).filter((o) => matches(r.def, f, o));
        const items = doomed.map((o) => (r.query.has("dryRun") ? o : ctx.store.delete(r.def.storage, o.metadata.namespace ?? "", o.metadata.name)!));
        return sendJson(res, 200, { kind: `${r.def.kind}List`, apiVersion: groupVersion(r.def), metadata: { resourceVersion: String(ctx.store.rv) }, items: items.map((o) => toWire(r.def, o, false)) });
      }
    }
    throw new ApiError(errors.methodNotAllowed());
  } catch (e) {
    if (e instanceof ApiError) return sendStatus(res, e.status);
    const msg = e instanceof Error ? e.message : String(e);
    return sendStatus(res, errors.internal(msg));
  }
}
