// The columns `oomtrace watch` can show, and each one's text for a kill (pure).
import type { OomEvent } from "../../types.ts";
import type { ColumnSpec } from "./fit.ts";

export const FIELDS = ["time", "node", "namespace", "pod", "container", "kind", "scope", "victim", "trigger", "rss", "source", "cgroup"] as const;
export type Field = (typeof FIELDS)[number];
export const DEFAULT_FIELDS: readonly Field[] = ["time", "node", "namespace", "pod", "container", "kind", "victim", "trigger", "rss"];

export interface Column extends ColumnSpec {
  header: string;
  align: "left" | "right";
  /** Raw (untrusted) cell text; the table makes it printable. */
  cell(e: OomEvent): string;
}

const two = (n: number) => String(n).padStart(2, "0");

/** Resident memory at the kill: anon + file + shmem RSS, as the kernel counts a task's RSS. */
export function rssKb(e: OomEvent): number | null {
  const m = e.kill.victim.memory;
  const parts = [m.anonRssKb, m.fileRssKb, m.shmemRssKb].filter((x): x is number => x !== null);
  return parts.length ? parts.reduce((a, b) => a + b, 0) : null;
}

/** 68224 kB → "66.6Mi"; binary units as kubectl shows memory. */
export function humanKb(kb: number): string {
  const units = ["Ki", "Mi", "Gi", "Ti"];
  let v = kb;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v}Ki` : `${v < 1000 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

const task = (pid: number | null, comm: string | null) => (pid === null && comm === null ? "-" : `${pid ?? "?"} ${comm ?? "?"}`);

export const COLUMNS: Record<Field, Column> = {
  // Local time of day: the node's own clock, as its other tools show it. -o json has the full UTC time.
  time: { header: "TIME", min: 8, ideal: 8, max: 8, drop: null, align: "left", cell: (e) => `${two(e.time.getHours())}:${two(e.time.getMinutes())}:${two(e.time.getSeconds())}` },
  node: { header: "NODE", min: 8, ideal: 12, max: 40, drop: 1, align: "left", cell: (e) => e.node },
  namespace: { header: "NAMESPACE", min: 8, ideal: 14, max: 63, drop: 5, align: "left", cell: (e) => e.identity?.pod?.namespace ?? "-" },
  // Unnamed pods show their UID, so that a kill is never shown without what is known of its pod.
  pod: { header: "POD", min: 12, ideal: 28, max: 63, drop: null, align: "left", cell: (e) => e.identity?.pod?.name ?? e.identity?.pod?.uid ?? "-" },
  container: {
    header: "CONTAINER",
    // Wide enough for the short container id that stands in for an unknown name.
    min: 12,
    ideal: 16,
    max: 63,
    drop: 4,
    align: "left",
    cell: (e) => e.identity?.container?.name ?? e.identity?.container?.id?.slice(0, 12) ?? e.identity?.unit ?? "-",
  },
  kind: { header: "KIND", min: 7, ideal: 9, max: 9, drop: null, align: "left", cell: (e) => e.kill.constraint },
  scope: { header: "SCOPE", min: 6, ideal: 9, max: 9, drop: 2, align: "left", cell: (e) => e.scope },
  victim: { header: "VICTIM", min: 14, ideal: 22, max: 40, drop: null, align: "left", cell: (e) => task(e.kill.victim.pid, e.kill.victim.comm) },
  trigger: { header: "TRIGGER", min: 12, ideal: 22, max: 40, drop: 3, align: "left", cell: (e) => task(e.kill.trigger.pid, e.kill.trigger.comm) },
  rss: {
    header: "RSS",
    min: 7,
    ideal: 8,
    max: 8,
    drop: 6,
    align: "right",
    cell: (e) => {
      const kb = rssKb(e);
      return kb === null ? "-" : humanKb(kb);
    },
  },
  source: { header: "SOURCE", min: 6, ideal: 8, max: 8, drop: 2, align: "left", cell: (e) => e.kill.source },
  cgroup: { header: "CGROUP", min: 10, ideal: 40, max: 200, drop: 0, align: "left", cell: (e) => e.kill.cgroupPath ?? "-" },
};
