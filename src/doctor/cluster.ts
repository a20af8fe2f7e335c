// The API server half of doctor: a hook the Kubernetes module fills when it is configured.
import type { Check } from "./report.ts";

export interface ClusterPermission {
  verb: string;
  resource: string;
  subresource?: string;
  /** Empty for cluster-scoped checks. */
  namespace?: string;
  allowed: boolean;
  /** The API server's reason (SelfSubjectAccessReview status.reason), when it gave one. */
  reason?: string;
}

export interface ClusterCheckResult {
  /** The API server's URL. */
  server: string;
  reachable: boolean;
  /** Version when reachable, else what went wrong. */
  detail: string;
  /** One per permission the agent uses; empty when not reachable. */
  permissions: ClusterPermission[];
}

/** Checks the API server and each permission the agent needs. Given by the Kubernetes module; without it doctor says "not configured". */
export type ClusterCheck = () => Promise<ClusterCheckResult>;

const what = (p: ClusterPermission) =>
  `${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ""}${p.namespace ? ` in ${p.namespace}` : ""}`;

/** Checks from the hook's answer (pure); null when no hook was given. */
export function clusterChecks(result: ClusterCheckResult | null, hookError: string | null): Check[] {
  if (hookError !== null) {
    return [{ id: "apiserver", title: "API server", status: "fail", detail: `the check itself failed: ${hookError}`, fix: "see the error; check the kubeconfig or the service account" }];
  }
  if (result === null) {
    return [{ id: "apiserver", title: "API server", status: "skip", detail: "not configured: oomtrace was given no API server, so kills are not written to the cluster", fix: null }];
  }
  if (!result.reachable) {
    return [{ id: "apiserver", title: "API server", status: "fail", detail: `${result.server} cannot be reached: ${result.detail}`, fix: "check the address, the network policy and the credentials" }];
  }
  return [
    { id: "apiserver", title: "API server", status: "ok", detail: `${result.server} answers (${result.detail})`, fix: null },
    ...result.permissions.map<Check>((p) => ({
      id: `rbac.${p.verb}.${p.resource}${p.subresource ? `.${p.subresource}` : ""}`,
      title: "RBAC",
      status: p.allowed ? "ok" : "fail",
      detail: `${p.allowed ? "may" : "may not"} ${what(p)}${p.reason ? ` (${p.reason})` : ""}`,
      fix: p.allowed ? null : `grant ${what(p)} to the agent's service account (the chart's ClusterRole has it)`,
    })),
  ];
}
