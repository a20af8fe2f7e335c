// The API server half of `oomtrace doctor`: reachable, and each permission the options need.
import type { KubeConfig } from "../config/kube.ts";
import type { ClusterCheck } from "../doctor/cluster.ts";
import { checkAccess, requiredPermissions } from "./access.ts";
import { KubeClient } from "./client.ts";
import { chooseConnection } from "./index.ts";

/** Null when the options give no API server (standalone): doctor then says "not configured". */
export function clusterCheck(cfg: KubeConfig, env: Record<string, string | undefined>): ClusterCheck | null {
  const conn = chooseConnection(cfg, env);
  if (!conn) return null;
  return async () => {
    const client = new KubeClient(conn, { qps: cfg.qps, burst: cfg.burst }, 10_000);
    let version: string;
    try {
      const r = await client.request("GET", "/version");
      if (r.status !== 200) return { server: conn.server, reachable: false, detail: `GET /version answered ${r.status}: ${String(r.body.message ?? "")}`, permissions: [] };
      version = String(r.body.gitVersion ?? "version unknown");
    } catch (e) {
      return { server: conn.server, reachable: false, detail: (e as Error).message, permissions: [] };
    }
    const perms = requiredPermissions(cfg);
    const access = await checkAccess(client, perms);
    const unchecked = new Map(access.unchecked.map((u) => [u.permission, u.error]));
    return {
      server: conn.server,
      reachable: true,
      detail: version,
      permissions: perms.map((p) => ({
        verb: p.verb,
        resource: p.resource,
        ...(p.subresource ? { subresource: p.subresource } : {}),
        allowed: !access.missing.includes(p) && !unchecked.has(p),
        ...(unchecked.has(p) ? { reason: `not checked: ${unchecked.get(p)}` } : { reason: p.why }),
      })),
    };
  };
}
