// Validation the real API server applies to what our agent writes: events in both
// API versions (pkg/apis/core/validation/events.go), the time formats Go decodes,
// pod update rules, and object names. Pure functions; errors are field errors or ApiErrors.
import { ApiError, errors, type FieldError, fieldErrors as fe } from "./status.ts";

type Obj = Record<string, any>;

export const MICROTIME_LAYOUT = "2006-01-02T15:04:05.000000Z07:00";
const MICROTIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** metav1.MicroTime: exactly six fractional digits. Anything else fails to decode (400), as in Go. */
export const isMicroTime = (v: unknown): v is string => typeof v === "string" && MICROTIME.test(v) && !Number.isNaN(Date.parse(v));
/** metav1.Time: RFC 3339; Go's parser accepts a fraction even though the layout has none. */
export const isTime = (v: unknown): v is string => typeof v === "string" && RFC3339.test(v) && !Number.isNaN(Date.parse(v));

/** Serialized as the server does: UTC, whole seconds. */
export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}
/** Serialized as the server does: UTC, microseconds (JS has milliseconds; the rest is kept from the input). */
export function formatMicroTime(v: string): string {
  const micros = /\.(\d{6})/.exec(v)?.[1] ?? "000000";
  const d = new Date(Date.parse(v));
  const whole = d.toISOString().slice(0, 19);
  // An offset other than Z moves the wall clock but never the fraction.
  return `${whole}.${micros}Z`;
}

function decodeError(kind: string, version: string, msg: string): ApiError {
  return new ApiError(errors.badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: ${msg}`));
}

/**
 * Checks and normalizes time fields the way decoding does; a bad format is a 400, not a 422.
 * `micro` and `plain` are dotted paths of MicroTime and Time fields.
 */
export function decodeTimes(obj: Obj, kind: string, version: string, micro: string[], plain: string[]): void {
  const at = (path: string): [Obj | undefined, string] => {
    const parts = path.split(".");
    let cur: any = obj;
    for (const p of parts.slice(0, -1)) cur = cur && typeof cur === "object" ? cur[p] : undefined;
    return [cur && typeof cur === "object" ? cur : undefined, parts[parts.length - 1]!];
  };
  for (const path of micro) {
    const [parent, key] = at(path);
    const v = parent?.[key];
    if (v === undefined || v === null) continue;
    if (!isMicroTime(v)) {
      const s = String(v);
      const rest = s.length > 19 ? s.slice(19) : s;
      throw decodeError(kind, version, `parsing time ${JSON.stringify(s)} as ${JSON.stringify(MICROTIME_LAYOUT)}: cannot parse ${JSON.stringify(rest)} as ".000000"`);
    }
    parent![key] = formatMicroTime(v);
  }
  for (const path of plain) {
    const [parent, key] = at(path);
    const v = parent?.[key];
    if (v === undefined || v === null) continue;
    if (!isTime(v)) throw decodeError(kind, version, `parsing time ${JSON.stringify(String(v))} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(String(v))} as "2006"`);
    parent![key] = formatTime(new Date(Date.parse(v)));
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function dnsSubdomainErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > 253) out.push("must be no more than 253 characters");
  if (!DNS1123_SUBDOMAIN.test(v))
    out.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  return out;
}
export const isDnsLabel = (v: string) => v.length <= 63 && DNS1123_LABEL.test(v);
export function qualifiedNameErrors(v: string): string[] {
  const name = v.includes("/") ? v.slice(v.indexOf("/") + 1) : v;
  if (QUALIFIED_NAME.test(v) && name.length <= 63) return [];
  return [
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  ];
}

/** metadata.name on create (generateName has been applied already). */
export function validateName(name: unknown): FieldError[] {
  if (typeof name !== "string" || name === "") return [fe.required("metadata.name", "name or generateName is required")];
  return dnsSubdomainErrors(name).map((m) => fe.invalid("metadata.name", name, m));
}

/**
 * Event validation, on the stored (core/v1) shape. `strict` is true for events.k8s.io/v1,
 * which adds the checks the legacy core/v1 API skips for compatibility.
 * Field paths are the server's internal names (involvedObject, message, firstTimestamp...),
 * which is what it reports for both API versions.
 */
export function validateEvent(ev: Obj, strict: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ns: string = ev.metadata?.namespace ?? "";
  const involvedNs: string = ev.involvedObject?.namespace ?? "";
  const len = (v: unknown) => (typeof v === "string" ? v.length : 0);
  if (!ev.eventTime) {
    if (involvedNs === "" ? ns !== "" && ns !== "default" : ns !== involvedNs) errs.push(fe.invalid("involvedObject.namespace", involvedNs, "does not match event.namespace"));
  } else {
    if (involvedNs === "" && ns !== "default" && ns !== "kube-system") errs.push(fe.invalid("involvedObject.namespace", involvedNs, "does not match event.namespace"));
    const rc: string = ev.reportingComponent ?? "";
    if (rc === "") errs.push(fe.required("reportingController"));
    for (const m of qualifiedNameErrors(rc)) errs.push(fe.invalid("reportingController", rc, m));
    if (len(ev.reportingInstance) === 0) errs.push(fe.required("reportingInstance"));
    if (len(ev.reportingInstance) > 128) errs.push(fe.invalid("reportingInstance", "", "can have at most 128 characters"));
    if (len(ev.action) === 0) errs.push(fe.required("action"));
    if (len(ev.action) > 128) errs.push(fe.invalid("action", "", "can have at most 128 characters"));
    if (len(ev.reason) === 0) errs.push(fe.required("reason"));
    if (len(ev.reason) > 128) errs.push(fe.invalid("reason", "", "can have at most 128 characters"));
    if (len(ev.message) > 1024) errs.push(fe.invalid("message", "", "can have at most 1024 characters"));
  }
  for (const m of dnsSubdomainErrors(ns)) errs.push(fe.invalid("namespace", ns, m));
  if (!strict) return errs;

  errs.push(...validateName(ev.metadata?.name));
  if (ev.series) {
    if (!(typeof ev.series.count === "number" && ev.series.count >= 2)) errs.push(fe.invalid("series.count", "", "should be at least 2"));
    if (!ev.series.lastObservedTime) errs.push(fe.required("series.lastObservedTime"));
  }
  if (!ev.eventTime) errs.push(fe.required("eventTime"));
  if (ev.type !== "Normal" && ev.type !== "Warning") errs.push(fe.invalid("type", "", `has invalid value: ${ev.type ?? ""}`));
  if (ev.firstTimestamp) errs.push(fe.invalid("firstTimestamp", "", "needs to be unset"));
  if (ev.lastTimestamp) errs.push(fe.invalid("lastTimestamp", "", "needs to be unset"));
  if (ev.count) errs.push(fe.invalid("count", "", "needs to be unset"));
  if (ev.source?.component || ev.source?.host) errs.push(fe.invalid("source", "", "needs to be unset"));
  return errs;
}

/** events.k8s.io/v1 updates: these fields are immutable. */
export function validateEventUpdate(next: Obj, prev: Obj, strict: boolean): FieldError[] {
  const errs = validateEvent(next, false);
  if (!strict) return errs;
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  for (const f of ["involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type", "eventTime", "action", "related", "reportingComponent", "reportingInstance"]) {
    if (!same(next[f], prev[f])) {
      const path = f === "reportingComponent" ? "reportingController" : f;
      errs.push(fe.invalid(path, next[f] ?? "", "field is immutable"));
    }
  }
  return errs;
}

export const POD_UPDATE_FORBIDDEN =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/** Pod spec is immutable except for a few fields. */
export function validatePodSpecUpdate(next: Obj, prev: Obj): FieldError[] {
  const strip = (spec: Obj | undefined) => {
    const s = structuredClone(spec ?? {});
    for (const list of ["containers", "initContainers"]) for (const c of s[list] ?? []) delete c.image;
    delete s.activeDeadlineSeconds;
    delete s.tolerations;
    delete s.terminationGracePeriodSeconds;
    return JSON.stringify(s, Object.keys(flatKeys(s)).sort());
  };
  return strip(next.spec) === strip(prev.spec) ? [] : [fe.forbidden("spec", POD_UPDATE_FORBIDDEN)];
}

/** All keys at any depth, so JSON.stringify with a sorted key list compares objects regardless of key order. */
function flatKeys(v: unknown, out: Record<string, true> = {}): Record<string, true> {
  if (Array.isArray(v)) for (const x of v) flatKeys(x, out);
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      out[k] = true;
      flatKeys(x, out);
    }
  return out;
}

export function validatePodCreate(pod: Obj): FieldError[] {
  const errs = validateName(pod.metadata?.name);
  const containers = pod.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) errs.push(fe.required("spec.containers"));
  else
    containers.forEach((c: Obj, i: number) => {
      if (!c?.name) errs.push(fe.required(`spec.containers[${i}].name`));
      if (!c?.image) errs.push(fe.required(`spec.containers[${i}].image`));
    });
  return errs;
}
