// A small Kubernetes API client on Bun's fetch, which takes the CA, client certificate and key
// directly (README: why not @kubernetes/client-node). One client-side rate limit for every request.
import type { Connection } from "./connection.ts";

type Obj = Record<string, any>;

export interface ApiResult {
  status: number;
  headers: Headers;
  body: Obj;
}

/** The server could not be reached or the connection broke: worth retrying. */
export class NetworkError extends Error {}

/** A Kubernetes Status answer as an error, with what retry and logging need. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly retryAfterSeconds: number | null,
  ) {
    super(message);
  }
}

export function apiError(r: ApiResult, what: string): ApiError {
  const retry = Number(r.headers.get("retry-after"));
  const msg = typeof r.body?.message === "string" ? r.body.message : `HTTP ${r.status}`;
  return new ApiError(r.status, String(r.body?.reason ?? ""), `${what}: ${msg}`, Number.isFinite(retry) && retry >= 0 && r.headers.has("retry-after") ? retry : null);
}

/** client-go's token bucket: `qps` sustained, `burst` at once; callers wait for a token. */
export class RateLimiter {
  private tokens: number;
  private last: number;
  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }
  /** Milliseconds to wait before the next request may go; takes the token. */
  reserve(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: Obj;
}

export class KubeClient {
  private readonly limiter: RateLimiter;
  constructor(
    readonly conn: Connection,
    opts: { qps: number; burst: number },
    private readonly timeoutMs = 30_000,
  ) {
    this.limiter = new RateLimiter(opts.qps, opts.burst);
  }

  private async send(method: string, path: string, init: { body?: unknown; contentType?: string; signal?: AbortSignal }): Promise<Response> {
    const wait = this.limiter.reserve();
    if (wait > 0) await Bun.sleep(wait);
    const token = this.conn.token();
    const headers: Record<string, string> = { Accept: "application/json", "User-Agent": "oomtrace" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (init.body !== undefined) headers["Content-Type"] = init.contentType ?? "application/json";
    try {
      return await fetch(`${this.conn.server}${path}`, {
        method,
        headers,
        tls: this.conn.tls,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        ...(init.signal ? { signal: init.signal } : {}),
      } as RequestInit);
    } catch (e) {
      if (init.signal?.aborted && (init.signal.reason as Error)?.name !== "TimeoutError") throw e;
      throw new NetworkError(`${method} ${path}: ${(e as Error).message}`);
    }
  }

  /** One request; any HTTP status is a result, only a broken connection or timeout throws. */
  async request(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResult> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    const r = await this.send(method, path, { body, contentType, signal });
    let text: string;
    try {
      text = await r.text();
    } catch (e) {
      throw new NetworkError(`${method} ${path}: reading the answer failed: ${(e as Error).message}`);
    }
    let parsed: Obj = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
    return { status: r.status, headers: r.headers, body: parsed };
  }

  /** A watch stream, one event per line, until the server ends it or `signal` aborts. Non-200 answers throw ApiError. */
  async *watch(path: string, signal: AbortSignal): AsyncGenerator<WatchEvent> {
    const r = await this.send("GET", path, { signal });
    if (r.status !== 200 || !r.body) {
      const text = await r.text().catch(() => "");
      let body: Obj = {};
      try {
        body = JSON.parse(text);
      } catch {}
      throw apiError({ status: r.status, headers: r.headers, body }, `watch ${path}`);
    }
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let ev: WatchEvent;
          try {
            ev = JSON.parse(line);
          } catch {
            throw new NetworkError(`watch ${path}: a line that is not JSON; restarting the watch`);
          }
          yield ev;
        }
      }
    } catch (e) {
      if (signal.aborted || e instanceof NetworkError) throw e;
      throw new NetworkError(`watch ${path}: ${(e as Error).message}`);
    }
  }
}
