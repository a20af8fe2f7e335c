// Command-line helpers every command shares: strict flags, repeated flags, and the one way out on error.
import { parseArgs } from "node:util";
import type { ArgsDef } from "citty";
import { ConfigError } from "../config/errors.ts";
import { REPEATABLE_FILTER_FLAGS, resolveFilter } from "../config/filter.ts";
import type { EventFilter } from "../filter/event-filter.ts";

type Def = { type?: string; alias?: string | string[] };
const aliasesOf = (def: unknown): string[] => [(def as Def).alias ?? []].flat();

/** citty accepts unknown flags silently; a typo must not be ignored. `-nNAME` and `-Al` start with a known short flag. */
export function rejectUnknown(rawArgs: string[], args: ArgsDef): void {
  const known = new Set<string>(["help", "h", "version"]);
  for (const [name, def] of Object.entries(args)) {
    known.add(name);
    for (const a of aliasesOf(def)) known.add(a);
    if ((def as Def).type === "boolean") known.add(`no-${name}`);
  }
  for (const a of rawArgs) {
    if (a === "--") break;
    const long = /^--([^=]+)/.exec(a);
    const short = /^-([^-])/.exec(a);
    const name = long ? long[1]! : short ? short[1]! : null;
    if (name !== null && !known.has(name)) throw new ConfigError(`unknown flag ${a.split("=")[0]}; see --help`);
  }
}

/** Whether a flag was given on the command line (else its environment variable may fill it). */
export const given = (rawArgs: string[]) => (flag: string) => rawArgs.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));

/**
 * Every value of the flags that may be repeated (citty keeps only the last). It parses as citty does,
 * with node:util's parseArgs over the same definitions, so `-n a`, `-na`, `--namespace=a` all count.
 */
export function repeatedValues<F extends string>(rawArgs: string[], args: ArgsDef, flags: readonly F[]): Record<F, string[]> {
  const options: Record<string, { type: "string" | "boolean"; multiple: boolean; short?: string }> = {};
  for (const [name, def] of Object.entries(args)) {
    const short = aliasesOf(def).find((a) => a.length === 1);
    options[name] = { type: (def as Def).type === "boolean" ? "boolean" : "string", multiple: (flags as readonly string[]).includes(name), ...(short ? { short } : {}) };
  }
  const end = rawArgs.indexOf("--");
  const before = (end < 0 ? rawArgs : rawArgs.slice(0, end)).filter((a) => !a.startsWith("--no-"));
  const { values } = parseArgs({ args: before, options, strict: false, allowPositionals: true });
  const out = {} as Record<F, string[]>;
  // A flag given without a value comes back as `true`: keep it as "" so that validation names it.
  for (const f of flags) out[f] = [values[f] ?? []].flat().map((v) => (typeof v === "string" ? v : ""));
  return out;
}

/** Prints the error and exits: 2 for bad flags or configuration, 1 for anything else. */
export function fail(e: unknown): never {
  const err = e as Error;
  process.stderr.write(`oomtrace: ${err.message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
}

/** The filter flags of `run` and `watch`, with every repeat of the repeatable ones. */
export function filterFromArgs(rawArgs: string[], def: ArgsDef, args: Record<string, unknown>, env: Record<string, string | undefined>): EventFilter {
  return resolveFilter(repeatedValues(rawArgs, def, REPEATABLE_FILTER_FLAGS), args["all-namespaces"] === true, env);
}
