// The three PATCH types the API server accepts for built-in types:
//   application/merge-patch+json           RFC 7386 JSON merge patch
//   application/strategic-merge-patch+json merge patch, except lists with a merge key merge by it
//   application/json-patch+json            RFC 6902 JSON patch
// All functions are pure: they return a new document and never touch their inputs.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** code 400: the patch itself is malformed; code 422: it does not apply to the object. */
export class PatchError extends Error {
  constructor(
    readonly code: 400 | 422,
    message: string,
  ) {
    super(message);
  }
}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

// ---------------------------------------------------------------- RFC 7386

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---------------------------------------------------------------- strategic merge

/**
 * Where lists merge instead of being replaced, by path from the object root
 * ("[]" marks a list element): a merge key name, or "" for a list of scalars merged as a set.
 * These are the patchMergeKey / patchStrategy=merge tags of the Go types.
 */
export type MergeKeys = Record<string, string>;

export const POD_MERGE_KEYS: MergeKeys = {
  "metadata.finalizers": "",
  "metadata.ownerReferences": "uid",
  "spec.containers": "name",
  "spec.initContainers": "name",
  "spec.ephemeralContainers": "name",
  "spec.containers[].env": "name",
  "spec.containers[].ports": "containerPort",
  "spec.containers[].volumeMounts": "mountPath",
  "spec.initContainers[].env": "name",
  "spec.initContainers[].volumeMounts": "mountPath",
  "spec.volumes": "name",
  "spec.imagePullSecrets": "name",
  "spec.hostAliases": "ip",
  "status.conditions": "type",
  "status.podIPs": "ip",
  "status.hostIPs": "ip",
  "status.resourceClaimStatuses": "name",
};
export const NODE_MERGE_KEYS: MergeKeys = {
  "metadata.finalizers": "",
  "metadata.ownerReferences": "uid",
  "status.conditions": "type",
  "status.addresses": "type",
};
export const META_MERGE_KEYS: MergeKeys = { "metadata.finalizers": "", "metadata.ownerReferences": "uid" };

const DIRECTIVE = "$patch";

export function strategicMergePatch(target: Json | undefined, patch: Json, keys: MergeKeys): Json {
  if (!isObj(patch)) throw new PatchError(400, "strategic merge patch must be a JSON object");
  return smpMap(isObj(target) ? target : {}, patch, keys, "");
}

function smpMap(target: Obj, patch: Obj, keys: MergeKeys, path: string): Json {
  const directive = patch[DIRECTIVE];
  if (directive === "replace") {
    const { [DIRECTIVE]: _, ...rest } = patch;
    return clone(rest);
  }
  if (directive !== undefined && directive !== "delete") throw new PatchError(400, `Unknown patch type: ${String(directive)}`);
  const out: Obj = clone(target);
  for (const [k, v] of Object.entries(patch)) {
    if (k === DIRECTIVE || k.startsWith("$setElementOrder/") || k === "$retainKeys") continue;
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      if (!Array.isArray(v)) throw new PatchError(400, `invalid patch: ${k} must be a list`);
      const cur = out[field];
      if (Array.isArray(cur)) out[field] = cur.filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    const sub = path ? `${path}.${k}` : k;
    if (v === null) delete out[k];
    else if (isObj(v)) {
      if (v[DIRECTIVE] === "delete") delete out[k];
      else out[k] = smpMap(isObj(out[k]) ? (out[k] as Obj) : {}, v, keys, sub);
    } else if (Array.isArray(v)) out[k] = smpList(Array.isArray(out[k]) ? (out[k] as Json[]) : [], v, keys, sub);
    else out[k] = v;
  }
  return out;
}

function smpList(target: Json[], patch: Json[], keys: MergeKeys, path: string): Json[] {
  const key = keys[path];
  if (patch.some((e) => isObj(e) && e[DIRECTIVE] === "replace")) return clone(patch.filter((e) => !(isObj(e) && e[DIRECTIVE] === "replace")));
  if (key === undefined) return clone(patch);
  if (key === "") {
    const out = clone(target);
    for (const e of patch) if (!out.some((x) => deepEqual(x, e))) out.push(clone(e));
    return out;
  }
  const out = clone(target);
  for (const e of patch) {
    if (!isObj(e)) throw new PatchError(400, `invalid patch: element of ${path} is not an object`);
    if (!Object.hasOwn(e, key)) throw new PatchError(400, `map: ${JSON.stringify(e)} does not contain declared merge key: ${key}`);
    const i = out.findIndex((x) => isObj(x) && deepEqual(x[key], e[key]));
    if (e[DIRECTIVE] === "delete") {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = smpMap(out[i] as Obj, e, keys, `${path}[]`);
    else out.push(smpMap({}, e, keys, `${path}[]`));
  }
  return out;
}

// ---------------------------------------------------------------- RFC 6902

interface Op {
  op: string;
  path: string;
  value?: Json;
  from?: string;
}

function parsePointer(p: string): string[] {
  if (p === "") return [];
  if (!p.startsWith("/")) throw new PatchError(400, `JSON pointer must start with "/": ${JSON.stringify(p)}`);
  return p
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function arrayIndex(arr: Json[], tok: string, forAdd: boolean, path: string): number {
  if (forAdd && tok === "-") return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(tok)) throw new PatchError(422, `invalid array index ${JSON.stringify(tok)} in ${path}`);
  const i = Number(tok);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(422, `array index ${i} out of bounds in ${path}`);
  return i;
}

/** Returns the container holding the last token, and that token. */
function locate(doc: Json, path: string): { parent: Obj | Json[]; tok: string } {
  const toks = parsePointer(path);
  if (toks.length === 0) throw new PatchError(422, `operation on the document root is not supported: ${JSON.stringify(path)}`);
  let cur: Json = doc;
  for (const t of toks.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, path)]!;
    else if (isObj(cur) && Object.hasOwn(cur, t)) cur = cur[t]!;
    else throw new PatchError(422, `doc is missing path: "${path}": missing value`);
  }
  if (!Array.isArray(cur) && !isObj(cur)) throw new PatchError(422, `doc is missing path: "${path}": missing value`);
  return { parent: cur, tok: toks[toks.length - 1]! };
}

function get(doc: Json, path: string): Json {
  let cur: Json = doc;
  for (const t of parsePointer(path)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, path)]!;
    else if (isObj(cur) && Object.hasOwn(cur, t)) cur = cur[t]!;
    else throw new PatchError(422, `doc is missing path: "${path}": missing value`);
  }
  return cur;
}

function add(doc: Json, path: string, value: Json): void {
  const { parent, tok } = locate(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, tok, true, path), 0, value);
  else parent[tok] = value;
}

function remove(doc: Json, path: string): void {
  const { parent, tok } = locate(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, tok, false, path), 1);
  else if (Object.hasOwn(parent, tok)) delete parent[tok];
  else throw new PatchError(422, `unable to remove nonexistent key: ${tok}: missing value`);
}

export function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError(400, "json patch must be a JSON array of operations");
  const out = clone(doc);
  for (const raw of ops) {
    if (!isObj(raw) || typeof raw.op !== "string" || typeof raw.path !== "string") throw new PatchError(400, `invalid json patch operation: ${JSON.stringify(raw)}`);
    const op = raw as unknown as Op;
    const needValue = () => {
      if (!Object.hasOwn(raw, "value")) throw new PatchError(400, `${op.op} operation is missing "value": ${JSON.stringify(raw)}`);
      return clone(op.value as Json);
    };
    const needFrom = () => {
      if (typeof op.from !== "string") throw new PatchError(400, `${op.op} operation is missing "from": ${JSON.stringify(raw)}`);
      return op.from;
    };
    switch (op.op) {
      case "add":
        add(out, op.path, needValue());
        break;
      case "remove":
        remove(out, op.path);
        break;
      case "replace": {
        const value = needValue();
        get(out, op.path); // must exist
        const { parent, tok } = locate(out, op.path);
        if (Array.isArray(parent)) parent[arrayIndex(parent, tok, false, op.path)] = value;
        else parent[tok] = value;
        break;
      }
      case "move": {
        const from = needFrom();
        const v = get(out, from);
        remove(out, from);
        add(out, op.path, v);
        break;
      }
      case "copy":
        add(out, op.path, clone(get(out, needFrom())));
        break;
      case "test": {
        const value = needValue();
        let cur: Json | undefined;
        try {
          cur = get(out, op.path);
        } catch {
          cur = undefined;
        }
        if (!deepEqual(cur, value)) throw new PatchError(422, `testing value ${op.path} failed: test failed`);
        break;
      }
      default:
        throw new PatchError(400, `Unexpected kind: ${op.op}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- dispatch

export const PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

/** Applies a raw PATCH body of the given content type. Throws PatchError. */
export function applyPatch(type: PatchType, doc: Json, body: string, keys: MergeKeys): Json {
  let patch: Json;
  try {
    patch = JSON.parse(body) as Json;
  } catch (e) {
    throw new PatchError(400, `error decoding patch: ${(e as Error).message}`);
  }
  switch (type) {
    case "application/json-patch+json":
      return jsonPatch(doc, patch);
    case "application/merge-patch+json":
      if (!isObj(patch)) throw new PatchError(400, "merge patch must be a JSON object");
      return mergePatch(doc, patch);
    case "application/strategic-merge-patch+json":
      return strategicMergePatch(doc, patch, keys);
  }
}
