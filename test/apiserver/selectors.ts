// fieldSelector and labelSelector: parsing and matching, with the real grammar
// (k8s.io/apimachinery fields and labels packages): "a=b,c!=d", "tier in (x,y),!canary".

export interface FieldTerm {
  field: string;
  op: "=" | "!=";
  value: string;
}

export class SelectorError extends Error {}

/** Splits on a separator that is not escaped with a backslash. */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\" && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unescapeValue(v: string): string {
  let out = "";
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c !== "\\") {
      if (c === "," || c === "=") throw new SelectorError(`invalid field selector: unescaped ${c} in value ${JSON.stringify(v)}`);
      out += c;
      continue;
    }
    const n = v[++i];
    if (n === undefined || !"\\,=".includes(n)) throw new SelectorError(`invalid field selector: invalid escape sequence in ${JSON.stringify(v)}`);
    out += n;
  }
  return out;
}

export function parseFieldSelector(s: string | null | undefined): FieldTerm[] {
  if (!s) return [];
  const terms: FieldTerm[] = [];
  for (const part of splitUnescaped(s, ",")) {
    if (part === "") continue;
    const m = /^([^=!]*?)(!=|==|=)(.*)$/.exec(part);
    if (!m) throw new SelectorError(`invalid selector: '${s}'; can't understand '${part}'`);
    terms.push({ field: m[1]!.trim(), op: m[2] === "!=" ? "!=" : "=", value: unescapeValue(m[3]!) });
  }
  return terms;
}

export function matchFields(terms: FieldTerm[], fields: Record<string, string>): boolean {
  return terms.every((t) => (t.op === "=" ? fields[t.field] === t.value : fields[t.field] !== t.value));
}

export interface LabelRequirement {
  key: string;
  op: "=" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";
  values: string[];
}

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of s) {
    if (c === "(") depth++;
    if (c === ")") depth--;
    if (c === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (depth !== 0) throw new SelectorError(`unable to parse requirement: unbalanced parentheses in ${JSON.stringify(s)}`);
  out.push(cur);
  return out;
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(k: string): string {
  if (!LABEL_KEY.test(k)) throw new SelectorError(`unable to parse requirement: invalid label key "${k}"`);
  return k;
}
function checkValue(v: string): string {
  if (v.length > 63 || !LABEL_VALUE.test(v)) throw new SelectorError(`unable to parse requirement: invalid label value: "${v}"`);
  return v;
}

export function parseLabelSelector(s: string | null | undefined): LabelRequirement[] {
  if (!s || !s.trim()) return [];
  return splitTopLevel(s).map((raw) => {
    const part = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^!\s*(\S+)$/.exec(part))) return { key: checkKey(m[1]!), op: "!", values: [] };
    if ((m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(part))) {
      const values = m[3]!.split(",").map((v) => checkValue(v.trim()));
      return { key: checkKey(m[1]!), op: m[2] as "in" | "notin", values };
    }
    if ((m = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)$/.exec(part))) {
      const op = m[2] === "==" || m[2] === "=" ? "=" : m[2] === "!=" ? "!=" : m[2] === ">" ? "gt" : "lt";
      if ((op === "gt" || op === "lt") && !/^-?\d+$/.test(m[3]!)) throw new SelectorError(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
      return { key: checkKey(m[1]!), op, values: [checkValue(m[3]!)] };
    }
    if (/^\S+$/.test(part)) return { key: checkKey(part), op: "exists", values: [] };
    throw new SelectorError(`unable to parse requirement: found '${part}', expected: identifier`);
  });
}

export function matchLabels(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case "=":
      case "in":
        return has && r.values.includes(v!);
      case "!=":
      case "notin":
        return !has || !r.values.includes(v!);
      case "exists":
        return has;
      case "!":
        return !has;
      case "gt":
      case "lt": {
        if (!has || !/^-?\d+$/.test(v!)) return false;
        return r.op === "gt" ? Number(v) > Number(r.values[0]) : Number(v) < Number(r.values[0]);
      }
    }
  });
}
