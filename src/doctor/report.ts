// doctor's findings: one check per line, its status, what was found and what to do (pure).
import { printable } from "../sinks/table/text.ts";

/** ok: fine; warn: runs, with less; fail: must be fixed before oomtrace runs as it should; skip: not checked, and why. */
export type Status = "ok" | "warn" | "fail" | "skip";

export interface Check {
  id: string;
  title: string;
  status: Status;
  detail: string;
  /** What to do about it, for warn and fail. */
  fix: string | null;
}

export interface DoctorReport {
  node: string;
  /** No check failed. */
  ready: boolean;
  checks: Check[];
  /** What was measured, for automation (-o json). */
  facts: Record<string, unknown>;
}

export function report(node: string, checks: Check[], facts: Record<string, unknown>): DoctorReport {
  return { node, ready: checks.every((c) => c.status !== "fail"), checks, facts };
}

const COLOR: Record<Status, string> = { ok: "32", warn: "33", fail: "1;31", skip: "2" };

/** The screen: a status column, a title column, the detail, and the fix under it. Text from outside is made printable. */
export function renderReport(r: DoctorReport, color: boolean): string {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const titleWidth = Math.max(...r.checks.map((c) => c.title.length));
  const lines = [`oomtrace doctor on node ${printable(r.node)}`, ""];
  for (const c of r.checks) {
    lines.push(`  ${paint(COLOR[c.status], c.status.padEnd(4))}  ${c.title.padEnd(titleWidth)}  ${printable(c.detail)}`);
    if (c.fix) lines.push(`  ${" ".repeat(4)}  ${" ".repeat(titleWidth)}  → ${printable(c.fix)}`);
  }
  const count = (s: Status) => r.checks.filter((c) => c.status === s).length;
  const warnings = count("warn") ? ` (${count("warn")} warning${count("warn") > 1 ? "s" : ""})` : "";
  lines.push(
    "",
    r.ready
      ? paint("32", `ready: oomtrace can run on this node${warnings}`)
      : paint("1;31", `not ready: ${count("fail")} problem${count("fail") > 1 ? "s" : ""} to fix${warnings}`),
  );
  return lines.join("\n") + "\n";
}
