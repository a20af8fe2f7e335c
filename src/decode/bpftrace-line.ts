// One line of `bpftrace -f json` stdout → a typed line (pure). Shapes of 0.17 through 0.24.

export type BpftraceLine =
  | { type: "attached"; probes: number }
  | { type: "lost"; count: number }
  | { type: "value"; data: unknown[] }
  | { type: "printf"; text: string }
  | { type: "helper_error"; message: string }
  | { type: "ignored" };

export interface DecodeError {
  code: "E_NOT_JSON" | "E_SHAPE";
  message: string;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: DecodeError };

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function decodeBpftraceLine(line: string): Decoded<BpftraceLine> {
  const text = line.trim();
  // bpftrace prints blank lines around exit.
  if (text === "") return { ok: true, value: { type: "ignored" } };
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return { ok: false, error: { code: "E_NOT_JSON", message: `not JSON: ${clip(text)}` } };
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    return { ok: false, error: { code: "E_SHAPE", message: `not a bpftrace record: ${clip(text)}` } };
  }
  const { type, data } = obj as { type?: unknown; data?: unknown };
  const d = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  switch (type) {
    case "attached_probes": {
      const probes = num(d.probes) ?? num(d.count);
      return probes === null ? bad(text) : { ok: true, value: { type: "attached", probes } };
    }
    case "lost_events": {
      // 0.24 adds `count` beside `events`; either is the number lost.
      const count = num(d.events) ?? num(d.count);
      return count === null ? bad(text) : { ok: true, value: { type: "lost", count } };
    }
    case "value":
      return Array.isArray(data) ? { ok: true, value: { type: "value", data } } : bad(text);
    case "printf":
      return typeof data === "string" ? { ok: true, value: { type: "printf", text: data } } : bad(text);
    case "helper_error":
      return { ok: true, value: { type: "helper_error", message: clip(JSON.stringify(data ?? obj)) } };
    // Map dumps at exit, time(), join(), syscall() and the like are not ours.
    case "map":
    case "hist":
    case "stats":
    case "time":
    case "join":
    case "syscall":
    case "cat":
      return { ok: true, value: { type: "ignored" } };
    default:
      return bad(text);
  }
}

function bad(text: string): Decoded<BpftraceLine> {
  return { ok: false, error: { code: "E_SHAPE", message: `unexpected bpftrace record: ${clip(text)}` } };
}

export function clip(s: string, n = 200): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
