// The filter flags shared by `run` and `watch`: citty definitions and validation (pure).
import { CONSTRAINTS, type EventFilter } from "../filter/event-filter.ts";
import { parseSelector, SelectorError } from "../filter/selector.ts";
import type { Constraint } from "../types.ts";
import { ConfigError } from "./errors.ts";

export const filterArgs = {
  namespace: {
    type: "string",
    alias: "n",
    description: "Only kills in this namespace; !NS leaves a namespace out. Repeatable, or comma separated [env OOMTRACE_NAMESPACE]",
  },
  "all-namespaces": { type: "boolean", alias: "A", description: "Every namespace (the default); may be combined with -n '!NS'" },
  pod: { type: "string", description: "Only kills in pods of this name. Repeatable, or comma separated [env OOMTRACE_POD]" },
  container: { type: "string", description: "Only kills in containers of this name. Repeatable, or comma separated [env OOMTRACE_CONTAINER]" },
  selector: {
    type: "string",
    alias: "l",
    description: "Only kills in pods whose labels match this selector (k=v, k!=v, k in (a,b), k notin (a), k, !k) [env OOMTRACE_SELECTOR]",
  },
  kind: { type: "string", description: `Only these kinds of OOM: ${CONSTRAINTS.join(", ")}. Comma separated [env OOMTRACE_KIND]` },
} as const;

/** Filter flags that may be given more than once; their values add up. */
export const REPEATABLE_FILTER_FLAGS = ["namespace", "pod", "container", "selector", "kind"] as const;
export type FilterFlag = (typeof REPEATABLE_FILTER_FLAGS)[number];

const ENV: Record<FilterFlag, string> = {
  namespace: "OOMTRACE_NAMESPACE",
  pod: "OOMTRACE_POD",
  container: "OOMTRACE_CONTAINER",
  selector: "OOMTRACE_SELECTOR",
  kind: "OOMTRACE_KIND",
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function items(flag: string, values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const item of v.split(",")) {
      const t = item.trim();
      if (t === "") throw new ConfigError(`--${flag} has an empty name in ${JSON.stringify(v)}; give names separated by commas`);
      out.push(t);
    }
  }
  return out;
}

function named(flag: string, what: string, re: RegExp, name: string): string {
  if (re.test(name)) return name;
  throw new ConfigError(`--${flag}: ${JSON.stringify(name)} is not a valid ${what}`);
}

/**
 * Builds the filter from the flags' values as given on the command line (every repeat), falling back
 * to each flag's environment variable when the flag was not given at all.
 */
export function resolveFilter(
  given: Readonly<Record<FilterFlag, readonly string[]>>,
  allNamespaces: boolean,
  env: Record<string, string | undefined>,
): EventFilter {
  const values = (flag: FilterFlag): readonly string[] => {
    if (given[flag].length) return given[flag];
    const e = env[ENV[flag]];
    return e ? [e] : [];
  };
  const namespaces: string[] = [];
  const excludeNamespaces: string[] = [];
  for (const ns of items("namespace", values("namespace"))) {
    const exclude = ns.startsWith("!");
    const name = named("namespace", "namespace name (lowercase DNS label; !NAME to leave one out)", DNS_LABEL, exclude ? ns.slice(1) : ns);
    (exclude ? excludeNamespaces : namespaces).push(name);
  }
  if (allNamespaces && namespaces.length) {
    throw new ConfigError(`-A (every namespace) contradicts -n ${namespaces.join(",")}; use one, or -A with -n '!NS' to leave namespaces out`);
  }
  const kinds = items("kind", values("kind")).map((k) => {
    if ((CONSTRAINTS as readonly string[]).includes(k)) return k as Constraint;
    throw new ConfigError(`--kind ${JSON.stringify(k)} is not a kind of OOM; use ${CONSTRAINTS.join(", ")}`);
  });
  let selector = null;
  const selectorText = values("selector").join(",");
  if (values("selector").length) {
    try {
      selector = parseSelector(selectorText);
    } catch (e) {
      if (e instanceof SelectorError) throw new ConfigError(`--selector ${JSON.stringify(selectorText)}: ${e.message}`);
      throw e;
    }
  }
  return {
    namespaces,
    excludeNamespaces,
    pods: items("pod", values("pod")).map((p) => named("pod", "pod name (lowercase DNS subdomain)", DNS_SUBDOMAIN, p)),
    containers: items("container", values("container")).map((c) => named("container", "container name (lowercase DNS label)", DNS_LABEL, c)),
    selector: selector?.length ? selector : null,
    kinds,
  };
}
