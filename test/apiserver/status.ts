// meta/v1 Status objects, worded like the real API server's errors
// (k8s.io/apimachinery/pkg/api/errors), so clients that parse them behave as in production.

export interface StatusCause {
  type?: string;
  message?: string;
  field?: string;
}
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}
export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** Thrown by handlers; routes.ts turns it into the HTTP response. */
export class ApiError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
}

export function status(code: number, reason: string, message: string, details?: StatusDetails): Status {
  const s: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
  if (details) s.details = details;
  return s;
}

/** A group/resource pair as the server names it in messages: "pods", "events.events.k8s.io". */
export interface GroupResource {
  group: string;
  resource: string;
}
export const qualified = (gr: GroupResource) => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);
const named = (gr: GroupResource, name: string) => (name ? `${qualified(gr)} "${name}"` : qualified(gr));
const details = (gr: GroupResource, name: string): StatusDetails => ({ ...(name ? { name } : {}), ...(gr.group ? { group: gr.group } : {}), kind: gr.resource });

export const errors = {
  unauthorized: () => status(401, "Unauthorized", "Unauthorized"),
  forbidden: (gr: GroupResource, name: string, why: string) => status(403, "Forbidden", `${named(gr, name)} is forbidden: ${why}`, details(gr, name)),
  notFound: (gr: GroupResource, name: string) => status(404, "NotFound", `${named(gr, name)} not found`, details(gr, name)),
  pathNotFound: () => status(404, "NotFound", "the server could not find the requested resource", {}),
  alreadyExists: (gr: GroupResource, name: string) => status(409, "AlreadyExists", `${named(gr, name)} already exists`, details(gr, name)),
  conflict: (gr: GroupResource, name: string) =>
    status(409, "Conflict", `Operation cannot be fulfilled on ${named(gr, name)}: the object has been modified; please apply your changes to the latest version and try again`, details(gr, name)),
  badRequest: (message: string) => status(400, "BadRequest", message),
  methodNotAllowed: () => status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}),
  notAcceptable: (accepted: string) => status(406, "NotAcceptable", `the server was unable to respond with a content type that the client supports (accepted ${accepted})`),
  unsupportedMediaType: (accepted: string[]) =>
    status(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`),
  /** 410 with reason Expired: a watch or list from a resourceVersion the server no longer has. */
  expired: (message: string) => status(410, "Expired", message),
  tooManyRequests: (retryAfterSeconds?: number) =>
    status(429, "TooManyRequests", "Too many requests, please try again later.", retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  internal: (message: string) => status(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ message }] }),
  unavailable: (message: string) => status(503, "ServiceUnavailable", message),
};

/** One field.Error as the server renders it: "path: Required value" / `path: Invalid value: "x": detail`. */
export interface FieldError {
  type: "FieldValueRequired" | "FieldValueInvalid" | "FieldValueNotSupported" | "FieldValueForbidden" | "FieldValueTooLong";
  field: string;
  /** The text after "path: ", e.g. `Invalid value: "": has invalid value: Foo`. */
  body: string;
}

export const fieldErrors = {
  required: (field: string, detail = ""): FieldError => ({ type: "FieldValueRequired", field, body: detail ? `Required value: ${detail}` : "Required value" }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({
    type: "FieldValueInvalid",
    field,
    body: `Invalid value: ${typeof value === "string" ? JSON.stringify(value) : String(value)}${detail ? `: ${detail}` : ""}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({ type: "FieldValueForbidden", field, body: `Forbidden: ${detail}` }),
};

/** 422 Invalid; `kind` is the group-qualified kind ("Event.events.k8s.io", "Pod"). */
export function invalid(kind: { group: string; kind: string }, name: string, errs: FieldError[]): Status {
  const texts = errs.map((e) => `${e.field}: ${e.body}`);
  const agg = texts.length === 1 ? texts[0] : `[${texts.join(", ")}]`;
  const qkind = kind.group ? `${kind.kind}.${kind.group}` : kind.kind;
  return status(422, "Invalid", `${qkind} "${name}" is invalid: ${agg}`, {
    name,
    ...(kind.group ? { group: kind.group } : {}),
    kind: kind.kind,
    causes: errs.map((e) => ({ type: e.type, message: e.body, field: e.field })),
  });
}
