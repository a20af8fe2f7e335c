// A minimal client for tests that talk to the test API server directly (seeding, asserting),
// over the same TLS and credentials a real client would use.
import type { ApiServer } from "./server.ts";

type Obj = Record<string, any>;

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Obj;
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: Obj;
}

export function apiClient(server: ApiServer, user: "cert" | "token" | "bad-token" = "cert") {
  const tls = user === "cert" ? { ca: server.caPem, cert: server.clientCertPem, key: server.clientKeyPem } : { ca: server.caPem };
  const auth: Record<string, string> = user === "cert" ? {} : { Authorization: `Bearer ${user === "token" ? server.token : "not-a-token"}` };

  async function request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<ApiResponse> {
    const r = await fetch(`${server.url}${path}`, {
      method,
      tls,
      headers: { Accept: "application/json", ...auth, ...(body === undefined ? {} : { "Content-Type": contentType }) },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : {} };
  }

  /** Opens a watch; events arrive in `events`, `done` resolves when the server ends the stream. */
  async function watch(path: string) {
    const ac = new AbortController();
    const r = await fetch(`${server.url}${path}`, { tls, headers: { Accept: "application/json", ...auth }, signal: ac.signal });
    const events: WatchEvent[] = [];
    const done = (async () => {
      if (r.status !== 200 || !r.body) return;
      const decoder = new TextDecoder();
      let buf = "";
      try {
        for await (const chunk of r.body) {
          buf += decoder.decode(chunk as Uint8Array, { stream: true });
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) events.push(JSON.parse(line));
          }
        }
      } catch {
        // aborted by the test
      }
    })();
    /** Resolves once `pred` holds for the events so far (polls; rejects after timeoutMs). */
    const until = async (pred: (e: WatchEvent[]) => boolean, timeoutMs = 15_000) => {
      const end = Date.now() + timeoutMs;
      while (!pred(events)) {
        if (Date.now() > end) throw new Error(`watch condition not met; events: ${JSON.stringify(events.map((e) => e.type))}`);
        await Bun.sleep(10);
      }
    };
    return { status: r.status, response: r, events, done, until, close: () => ac.abort() };
  }

  return {
    request,
    get: (path: string) => request("GET", path),
    post: (path: string, body: unknown) => request("POST", path, body),
    put: (path: string, body: unknown) => request("PUT", path, body),
    patch: (path: string, body: unknown, type: string) => request("PATCH", path, body, type),
    delete: (path: string) => request("DELETE", path),
    watch,
  };
}
