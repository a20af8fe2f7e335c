// The least RBAC the agent needs for its options, and a check of it with SelfSubjectAccessReview.
// `oomtrace doctor` calls checkAccess as the agent does at startup.
import type { KubeConfig } from "../config/kube.ts";
import { apiError, type KubeClient } from "./client.ts";

export interface Permission {
  group: "" | "events.k8s.io";
  resource: string;
  subresource?: string | undefined;
  verb: string;
  /** Why the agent needs it, for the message when it is missing. */
  why: string;
}

/** Cluster-wide: pods of this node live in every namespace. */
export function requiredPermissions(cfg: Pick<KubeConfig, "annotation" | "condition" | "events">): Permission[] {
  const out: Permission[] = [
    { group: "", resource: "pods", verb: "list", why: "to list the pods of this node" },
    { group: "", resource: "pods", verb: "watch", why: "to keep the pod cache current" },
  ];
  if (cfg.annotation) {
    out.push({ group: "", resource: "pods", verb: "get", why: "to read a victim's annotations before marking it" });
    out.push({ group: "", resource: "pods", verb: "patch", why: "to annotate victims (--victim-annotation)" });
  }
  if (cfg.condition) out.push({ group: "", resource: "pods", subresource: "status", verb: "patch", why: "to set the victim condition (--victim-condition)" });
  if (cfg.events) {
    out.push({ group: "events.k8s.io", resource: "events", verb: "create", why: "to write kill Events (--events)" });
    out.push({ group: "events.k8s.io", resource: "events", verb: "patch", why: "to count repeated kills into one Event series" });
  }
  return out;
}

export function describePermission(p: Permission): string {
  return `${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ""}${p.group ? ` (apiGroup ${p.group})` : ""}`;
}

export interface AccessResult {
  missing: Permission[];
  /** Checks that got no answer (e.g. the API server is down): unknown, not missing. */
  unchecked: { permission: Permission; error: string }[];
}

/** Asks the API server, one SelfSubjectAccessReview per permission; results keep the order asked. */
export async function checkAccess(client: KubeClient, perms: Permission[]): Promise<AccessResult> {
  const answers = await Promise.all(
    perms.map(async (p): Promise<boolean | string> => {
      try {
        const r = await client.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { group: p.group, resource: p.resource, verb: p.verb, ...(p.subresource ? { subresource: p.subresource } : {}) } },
        });
        if (r.status !== 201 && r.status !== 200) throw apiError(r, "SelfSubjectAccessReview");
        return r.body.status?.allowed === true;
      } catch (e) {
        return (e as Error).message;
      }
    }),
  );
  return {
    missing: perms.filter((_, i) => answers[i] === false),
    unchecked: perms.flatMap((permission, i) => (typeof answers[i] === "string" ? [{ permission, error: answers[i] }] : [])),
  };
}

/** One line per missing permission, with what it is for and how to grant it. */
export function accessReport(r: AccessResult): string[] {
  const lines = r.missing.map(
    (p) => `RBAC: the agent may not ${describePermission(p)} cluster-wide, needed ${p.why}; add it to the agent's ClusterRole (README: RBAC)`,
  );
  // No answer is usually one cause (the API server is down): one line, not one per permission.
  if (r.unchecked.length) lines.push(`RBAC: could not check ${r.unchecked.map((u) => describePermission(u.permission)).join(", ")}: ${r.unchecked[0]!.error}`);
  return lines;
}
