// Authentication (client certificate: CN = user, O = groups; or a bearer token) and a
// small RBAC table that tests edit. Messages follow the real server's authorizer.
import type { TLSSocket } from "node:tls";
import { ApiError, fieldErrors, invalid } from "./status.ts";

export interface Identity {
  user: string;
  groups: string[];
}

/** What the server authorizes: the same attributes RBAC sees. */
export interface Attributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

/** One RBAC rule. `resources` takes "pods", "pods/status", "*"; apiGroups default to any. */
export interface Rule {
  verbs: string[];
  resources: string[];
  apiGroups?: string[];
  /** Limits a rule to these namespaces (a RoleBinding); without it the rule is cluster-wide (a ClusterRoleBinding). */
  namespaces?: string[];
  resourceNames?: string[];
}

export const ALLOW_ALL: Rule[] = [{ verbs: ["*"], resources: ["*"] }];

export class Rbac {
  private readonly table = new Map<string, Rule[]>();
  /** Rules for users without an entry of their own. */
  defaultRules: Rule[];

  constructor(defaults: Rule[] = ALLOW_ALL) {
    this.defaultRules = defaults;
  }
  /** Replaces a user's rules; `[]` takes every right away. */
  set(user: string, rules: Rule[]): void {
    this.table.set(user, rules);
  }
  reset(user?: string): void {
    if (user === undefined) this.table.clear();
    else this.table.delete(user);
  }
  rulesFor(user: string): Rule[] {
    return this.table.get(user) ?? this.defaultRules;
  }

  allowed(id: Identity, a: Attributes): boolean {
    if (id.groups.includes("system:masters")) return true;
    // system:basic-user: every authenticated user may ask what it may do.
    if (a.apiGroup === "authorization.k8s.io" && (a.resource === "selfsubjectaccessreviews" || a.resource === "selfsubjectrulesreviews") && a.verb === "create") return true;
    const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    return this.rulesFor(id.user).some(
      (r) =>
        (r.verbs.includes("*") || r.verbs.includes(a.verb)) &&
        (r.resources.includes("*") || r.resources.includes(res) || (!a.subresource && r.resources.includes(`${a.resource}/*`)) || r.resources.includes(`*/${a.subresource}`)) &&
        (!r.apiGroups || r.apiGroups.includes("*") || r.apiGroups.includes(a.apiGroup)) &&
        (!r.namespaces || (a.namespace !== "" && r.namespaces.includes(a.namespace))) &&
        (!r.resourceNames || (a.name !== "" && r.resourceNames.includes(a.name))),
    );
  }
}

/** The reason text of a 403, exactly as the real server words it. */
export function forbiddenReason(id: Identity, a: Attributes): string {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return `User "${id.user}" cannot ${a.verb} resource "${res}" in API group "${a.apiGroup}" ${where}`;
}

/** Who a verified client certificate says the caller is (undefined if none or not signed by our CA). */
export function identityFromCert(socket: TLSSocket): Identity | undefined {
  if (!socket.authorized) return undefined;
  const subject = socket.getPeerCertificate?.()?.subject as Record<string, string | string[]> | undefined;
  const cn = subject?.CN;
  if (!cn || Array.isArray(cn)) return undefined;
  const o = subject.O ?? [];
  return { user: cn, groups: [...(Array.isArray(o) ? o : [o]), "system:authenticated"] };
}

export function identityFromToken(authorization: string | undefined, tokens: ReadonlyMap<string, Identity>): Identity | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  const id = m ? tokens.get(m[1]!) : undefined;
  return id && { user: id.user, groups: [...id.groups, "system:authenticated"] };
}

// ---------------------------------------------------------------- self reviews

/** POST selfsubjectaccessreviews: may the caller do this? */
export function selfSubjectAccessReview(id: Identity, body: Record<string, any>, rbac: Rbac): Record<string, any> {
  const spec = body.spec ?? {};
  const ra = spec.resourceAttributes;
  let allowed = true;
  if (ra) {
    allowed = rbac.allowed(id, {
      verb: ra.verb ?? "",
      apiGroup: ra.group ?? "",
      resource: ra.resource ?? "",
      subresource: ra.subresource ?? "",
      namespace: ra.namespace ?? "",
      name: ra.name ?? "",
    });
  } else if (!spec.nonResourceAttributes) {
    throw new ApiError(invalid({ group: "authorization.k8s.io", kind: "SelfSubjectAccessReview" }, "", [fieldErrors.required("spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes must be specified")]));
  }
  return {
    kind: "SelfSubjectAccessReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec,
    status: allowed ? { allowed: true, reason: `RBAC: allowed by test rules of User "${id.user}"` } : { allowed: false },
  };
}

/** POST selfsubjectrulesreviews: what may the caller do in a namespace (kubectl auth can-i --list)? */
export function selfSubjectRulesReview(id: Identity, body: Record<string, any>, rbac: Rbac): Record<string, any> {
  const ns: string = body.spec?.namespace ?? "";
  const rules = id.groups.includes("system:masters") ? [{ verbs: ["*"], resources: ["*"] }] : rbac.rulesFor(id.user).filter((r) => !r.namespaces || r.namespaces.includes(ns));
  const resourceRules = [
    { verbs: ["create"], apiGroups: ["authorization.k8s.io"], resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"] },
    ...rules.map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups ?? ["*"], resources: r.resources, ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}) })),
  ];
  const nonResourceRules = [{ verbs: ["get"], nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/version", "/version/"] }];
  return {
    kind: "SelfSubjectRulesReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec: body.spec ?? {},
    status: { resourceRules, nonResourceRules, incomplete: false },
  };
}
