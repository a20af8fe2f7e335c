// Discovery: /version, /api, /apis and the per-group documents (kubectl's legacy path),
// aggregated discovery (apidiscovery.k8s.io/v2, one request for all groups), and a
// skeleton OpenAPI v3 so kubectl create -f validates on the server side.
import { API } from "./resources.ts";

type Obj = Record<string, any>;

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
}

function resourceList(gv: string): Obj {
  const resources: Obj[] = [];
  for (const d of Object.values(API[gv] ?? {})) {
    resources.push({
      name: d.resource,
      singularName: d.singularName,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs,
      ...(d.shortNames ? { shortNames: d.shortNames } : {}),
      ...(d.categories ? { categories: d.categories } : {}),
    });
    for (const s of d.subresources) resources.push({ name: `${d.resource}/${s}`, singularName: "", namespaced: d.namespaced, kind: d.kind, verbs: ["get", "patch", "update"] });
  }
  if (gv === "authorization.k8s.io/v1")
    for (const kind of ["SelfSubjectAccessReview", "SelfSubjectRulesReview"])
      resources.push({ name: `${kind.toLowerCase()}s`, singularName: kind.toLowerCase(), namespaced: false, kind, verbs: ["create"] });
  // The legacy /api/v1 list carries no apiVersion; group lists do.
  return gv === "v1" ? { kind: "APIResourceList", groupVersion: gv, resources } : { kind: "APIResourceList", apiVersion: "v1", groupVersion: gv, resources };
}

const GROUPS = ["events.k8s.io", "authorization.k8s.io"];
function apiGroup(name: string): Obj {
  const v = { groupVersion: `${name}/v1`, version: "v1" };
  return { name, versions: [v], preferredVersion: v };
}

/** Aggregated discovery (apidiscovery.k8s.io/v2): /api or /apis in one document. */
export const AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
export const wantsAggregated = (accept: string | undefined) =>
  !!accept && accept.replace(/\s+/g, "").split(",").some((r) => r.startsWith("application/json;") && r.includes("g=apidiscovery.k8s.io") && r.includes("v=v2;") && r.includes("as=APIGroupDiscoveryList"));

export function aggregated(legacy: boolean): Obj {
  const versionDoc = (gv: string) => {
    const resources = Object.values(API[gv] ?? {}).map((d) => ({
      resource: d.resource,
      responseKind: { group: d.group, version: d.version, kind: d.kind },
      scope: d.namespaced ? "Namespaced" : "Cluster",
      singularResource: d.singularName,
      verbs: d.verbs,
      ...(d.shortNames ? { shortNames: d.shortNames } : {}),
      ...(d.categories ? { categories: d.categories } : {}),
      ...(d.subresources.length
        ? { subresources: d.subresources.map((s) => ({ subresource: s, responseKind: { group: d.group, version: d.version, kind: d.kind }, verbs: ["get", "patch", "update"] })) }
        : {}),
    }));
    if (gv === "authorization.k8s.io/v1")
      for (const kind of ["SelfSubjectAccessReview", "SelfSubjectRulesReview"])
        resources.push({
          resource: `${kind.toLowerCase()}s`,
          responseKind: { group: "authorization.k8s.io", version: "v1", kind },
          scope: "Cluster",
          singularResource: kind.toLowerCase(),
          verbs: ["create"],
        });
    return { version: "v1", resources, freshness: "Current" };
  };
  const items = legacy
    ? [{ metadata: { creationTimestamp: null }, versions: [versionDoc("v1")] }]
    : GROUPS.map((g) => ({ metadata: { name: g, creationTimestamp: null }, versions: [versionDoc(`${g}/v1`)] }));
  return { kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2", metadata: {}, items };
}

/**
 * OpenAPI v3, only as far as kubectl needs it to send fieldValidation instead of validating
 * client-side: each group/version lists its object paths, and PATCH declares that parameter.
 * There are no schemas, so commands that need them (apply, explain) do not work.
 */
const OPENAPI_GVS = ["api/v1", "apis/events.k8s.io/v1", "apis/authorization.k8s.io/v1"];
function openapi(parts: string[], version: string): Obj | undefined {
  if (parts.length === 2) return { paths: Object.fromEntries(OPENAPI_GVS.map((gv) => [gv, { serverRelativeURL: `/openapi/v3/${gv}?hash=${version}` }])) };
  const gv = parts.slice(2).join("/");
  if (!OPENAPI_GVS.includes(gv)) return undefined;
  const paths: Obj = {};
  for (const d of Object.values(API[gv === "api/v1" ? "v1" : gv.slice(5)] ?? {})) {
    const param = { name: "fieldValidation", in: "query", schema: { type: "string", uniqueItems: true } };
    const op = (verb: string) => ({ operationId: `${verb}${d.kind}`, parameters: [param], "x-kubernetes-group-version-kind": { group: d.group, version: d.version, kind: d.kind } });
    const base = `/${gv}${d.namespaced ? "/namespaces/{namespace}" : ""}/${d.resource}`;
    paths[base] = { post: op("create") };
    paths[`${base}/{name}`] = { put: op("replace"), patch: op("patch") };
  }
  return { openapi: "3.0.0", info: { title: "Kubernetes", version }, paths, components: { schemas: {} } };
}

/** The document for a discovery, version or OpenAPI path (GET), if it is one. */
export function discovery(parts: string[], version: VersionInfo, serverAddress: string): Obj | undefined {
  if (parts[0] === "openapi" && parts[1] === "v3") return openapi(parts, version.gitVersion);
  const p = parts.join("/");
  if (p === "version")
    return { ...version, gitCommit: "0000000000000000000000000000000000000000", gitTreeState: "clean", buildDate: "2025-01-01T00:00:00Z", goVersion: "go1.23.8", compiler: "gc", platform: "linux/amd64" };
  if (p === "api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
  if (p === "api/v1") return resourceList("v1");
  if (p === "apis") return { kind: "APIGroupList", apiVersion: "v1", groups: GROUPS.map(apiGroup) };
  if (parts[0] === "apis" && parts.length === 2 && GROUPS.includes(parts[1]!)) return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(parts[1]!) };
  if (parts[0] === "apis" && parts.length === 3 && parts[2] === "v1" && GROUPS.includes(parts[1]!)) return resourceList(`${parts[1]}/v1`);
  if (p === "") return { paths: ["/api", "/api/v1", "/apis", ...GROUPS.flatMap((g) => [`/apis/${g}`, `/apis/${g}/v1`]), "/healthz", "/livez", "/readyz", "/version"] };
  return undefined;
}
