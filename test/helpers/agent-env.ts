// The environment variables and on/off flags the agent reads, found in its source, so that the
// delivery files (chart, env file) can be checked against them.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./runtime-root.ts";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

const source = () => sourceFiles(join(REPO, "src")).map((f) => readFileSync(f, "utf8")).join("\n");

/**
 * Variables whose code is on another branch while this one is written (issue 3); once those
 * are merged, the scan of src/ finds them and this list can go.
 */
export const AWAITING: Record<string, string> = Object.fromEntries([
  ...["KUBERNETES", "KUBE_QPS", "KUBE_BURST", "VICTIM_ANNOTATION", "VICTIM_ANNOTATION_KINDS", "VICTIM_CONDITION", "VICTIM_CONDITION_KINDS", "EVENTS", "EVENT_KINDS", "EVENT_COMMAND_LINE", "STATE_DIR"].map((n) => [`OOMTRACE_${n}`, "issue 3"]),
  ["KUBECONFIG", "issue 3"],
]);

/** Variables the agent reads: the names its source spells out, plus AWAITING. */
export function agentEnvNames(): Set<string> {
  const names = new Set([...source().matchAll(/"((?:OOMTRACE|NODE_NAME|KUBECONFIG)[A-Z0-9_]*)"/g)].map((m) => m[1]!));
  for (const n of Object.keys(AWAITING)) names.add(n);
  return names;
}

/** Whether `name` is an on/off flag of the agent (so that --no-<name> exists). */
export function isBooleanFlag(name: string): boolean {
  return new RegExp(`(?:"${name}"|\\b${name}): \\{\\s*type: "boolean"`).test(source());
}
