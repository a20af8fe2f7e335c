// The environment variables and on/off flags the agent reads, found in its source, so that the
// delivery files (chart, env file) can be checked against them.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./runtime-root.ts";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

const source = () => sourceFiles(join(REPO, "src")).map((f) => readFileSync(f, "utf8")).join("\n");

/** Variables the agent reads: the names its source spells out. */
export function agentEnvNames(): Set<string> {
  // Spelled as a string ("OOMTRACE_X") or read as a property (env.OOMTRACE_X).
  const names = new Set([...source().matchAll(/(?:"|\benv\.)((?:OOMTRACE|NODE_NAME|KUBECONFIG)[A-Z0-9_]*)\b/g)].map((m) => m[1]!));
  return names;
}

/** Whether `name` is an on/off flag of the agent (so that --no-<name> exists). */
export function isBooleanFlag(name: string): boolean {
  return new RegExp(`(?:"${name}"|\\b${name}): \\{\\s*type: "boolean"`).test(source());
}
