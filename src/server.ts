// /metrics, /healthz and /readyz. Ready means the probes are attached.
import type { Metrics } from "./sinks/metrics.ts";

export interface Health {
  ready(): { ok: boolean; detail: string };
}

/** ":9102" → all interfaces, "127.0.0.1:9102", "[::1]:9102". */
export function parseBindAddress(addr: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new Error(`metrics bind address "${addr}" is not host:port (e.g. ":9102" or "127.0.0.1:9102"); use "" to disable`);
  }
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port };
}

export function startServer(addr: string, metrics: Metrics, health: Health): { port: number; stop(): void } {
  const { hostname, port } = parseBindAddress(addr);
  const server = Bun.serve({
    hostname,
    port,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") {
        return new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } });
      }
      if (path === "/healthz") return new Response("ok\n");
      if (path === "/readyz") {
        const r = health.ready();
        return new Response(r.detail + "\n", { status: r.ok ? 200 : 503 });
      }
      return new Response("not found: try /metrics, /healthz or /readyz\n", { status: 404 });
    },
  });
  return { port: server.port ?? port, stop: () => server.stop(true) };
}
