// Server-side printing: kubectl get asks for meta.k8s.io/v1 Table
// (Accept: application/json;as=Table;v=v1;g=meta.k8s.io) and prints the rows as given.
// Columns follow the real server's printers for pods and events; other kinds get Name/Age.
import { groupVersion, type ResourceDef } from "./resources.ts";

type Obj = Record<string, any>;

export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /(^|,)\s*application\/json;[^,]*as=Table[^,]*g=meta\.k8s\.io/.test(accept.replace(/\s+/g, ""));
}

/** duration.HumanDuration, as the Age columns print it. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(s / 3600);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  const y = Math.floor(h / 24 / 365);
  if (y < 8) return `${y}y${Math.floor(h / 24) % 365}d`;
  return `${y}y`;
}

const since = (t: string | null | undefined) => (t ? humanDuration(Date.now() - Date.parse(t)) : "<unknown>");

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}
const col = (name: string, type = "string", priority = 0, format = ""): Column => ({ name, type, format, description: name, priority });

function podStatusReason(p: Obj): string {
  if (p.metadata?.deletionTimestamp) return "Terminating";
  let reason: string = p.status?.reason || p.status?.phase || "";
  for (const c of p.status?.containerStatuses ?? []) {
    const st = c.state ?? {};
    if (st.waiting?.reason) reason = st.waiting.reason;
    else if (st.terminated) reason = st.terminated.reason || (st.terminated.signal ? `Signal:${st.terminated.signal}` : `ExitCode:${st.terminated.exitCode}`);
  }
  return reason;
}

function podRow(p: Obj): unknown[] {
  const cs: Obj[] = p.status?.containerStatuses ?? [];
  const total = (p.spec?.containers ?? []).length;
  const ready = cs.filter((c) => c.ready).length;
  const restarts = cs.reduce((n, c) => n + (c.restartCount ?? 0), 0);
  const last = cs
    .map((c) => c.lastState?.terminated?.finishedAt as string | undefined)
    .filter(Boolean)
    .sort()
    .pop();
  return [
    p.metadata.name,
    `${ready}/${total}`,
    podStatusReason(p),
    last ? `${restarts} (${since(last)} ago)` : restarts,
    since(p.metadata.creationTimestamp),
    p.status?.podIP || "<none>",
    p.spec?.nodeName || "<none>",
    p.status?.nominatedNodeName || "<none>",
    "<none>",
  ];
}

function eventRow(e: Obj): unknown[] {
  // Accepts both API versions' field names.
  const inv = e.involvedObject ?? e.regarding ?? {};
  const first = e.firstTimestamp ?? e.deprecatedFirstTimestamp ?? e.eventTime;
  const last = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.deprecatedLastTimestamp ?? e.eventTime ?? first;
  const src = e.source ?? e.deprecatedSource ?? {};
  return [
    since(last),
    e.type ?? "",
    e.reason ?? "",
    `${String(inv.kind ?? "").toLowerCase()}/${inv.name ?? ""}`,
    inv.fieldPath ?? "",
    src.component ? `${src.component}${src.host ? `, ${src.host}` : ""}` : (e.reportingComponent ?? e.reportingController ?? ""),
    e.message ?? e.note ?? "",
    since(first),
    e.series?.count ?? e.count ?? e.deprecatedCount ?? 1,
    e.metadata.name,
  ];
}

const TABLES: Record<string, { columns: Column[]; row(o: Obj): unknown[] }> = {
  pods: {
    columns: [col("Name"), col("Ready"), col("Status"), col("Restarts", "string"), col("Age"), col("IP", "string", 1), col("Node", "string", 1), col("Nominated Node", "string", 1), col("Readiness Gates", "string", 1)],
    row: podRow,
  },
  events: {
    columns: [col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Subobject", "string", 1), col("Source", "string", 1), col("Message"), col("First Seen", "string", 1), col("Count", "integer", 1), col("Name", "string", 1)],
    row: eventRow,
  },
};
const DEFAULT_TABLE = { columns: [col("Name", "string", 0, "name"), col("Age")], row: (o: Obj) => [o.metadata.name, since(o.metadata.creationTimestamp)] };

/** A Table of wire-shaped objects; `omitColumns` for watch events after the first, as the server does. */
export function tableFor(d: ResourceDef, objs: Obj[], metadata: Obj, includeObject: string | null, omitColumns = false): Obj {
  const t = TABLES[d.storage] ?? DEFAULT_TABLE;
  const object = (o: Obj) =>
    includeObject === "None"
      ? undefined
      : includeObject === "Object"
        ? { kind: d.kind, apiVersion: groupVersion(d), ...o }
        : { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata,
    ...(omitColumns ? {} : { columnDefinitions: t.columns }),
    rows: objs.map((o) => ({ cells: t.row(o), object: object(o) })),
  };
}
