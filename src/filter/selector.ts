// Kubernetes label selectors (`-l`): parsing with strict errors, and matching against pod labels (pure).
// Grammar, as kubectl takes it: requirements joined by commas, each one of
//   key | !key | key=value | key==value | key!=value | key in (v1,v2) | key notin (v1,v2)

/** One requirement; `=` is `in` with one value and `!=` is `notin` with one value, as in Kubernetes. */
export type Requirement =
  | { key: string; op: "exists" | "absent" }
  | { key: string; op: "in" | "notin"; values: string[] };

export type Selector = readonly Requirement[];

export class SelectorError extends Error {
  readonly code = "E_SELECTOR";
}

/** Longer selectors are refused: no real one comes near, and a hostile one must not cost much. */
export const MAX_SELECTOR_LENGTH = 4096;

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkKey(key: string, at: number): string {
  const slash = key.indexOf("/");
  const prefix = slash < 0 ? null : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  const bad = (why: string) => new SelectorError(`label key ${JSON.stringify(key)} at column ${at + 1} ${why}`);
  if (prefix !== null && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) throw bad("has a prefix that is not a lowercase DNS subdomain");
  if (name.length > 63 || !NAME.test(name)) {
    throw bad("is not valid: a name of at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit");
  }
  return key;
}

function checkValue(value: string, at: number): string {
  if (value === "" || (value.length <= 63 && NAME.test(value))) return value;
  throw new SelectorError(
    `label value ${JSON.stringify(value)} at column ${at + 1} is not valid: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
  );
}

type Token = { kind: "word" | "op"; text: string; at: number };

/** Splits into words and the operator characters; anything else that is not a label character is refused. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === "==" || two === "!=") {
      tokens.push({ kind: "op", text: two, at: i });
      i += 2;
      continue;
    }
    if ("=!(),".includes(c)) {
      tokens.push({ kind: "op", text: c, at: i });
      i++;
      continue;
    }
    if (c === "<" || c === ">") throw new SelectorError(`operator ${c} at column ${i + 1} is not supported: use =, !=, in, notin, key or !key`);
    const start = i;
    while (i < text.length && /[A-Za-z0-9\-_./]/.test(text[i]!)) i++;
    if (i === start) {
      throw new SelectorError(`unexpected character ${JSON.stringify(c)} at column ${i + 1}: a selector has label keys, values and = != ! ( ) , in notin`);
    }
    tokens.push({ kind: "word", text: text.slice(start, i), at: start });
  }
  return tokens;
}

export function parseSelector(text: string): Selector {
  if (text.length > MAX_SELECTOR_LENGTH) throw new SelectorError(`selector is ${text.length} characters long; at most ${MAX_SELECTOR_LENGTH} are accepted`);
  const tokens = tokenize(text);
  if (tokens.length === 0) return [];
  let p = 0;
  const peek = () => tokens[p];
  const end = text.length;
  const expected = (what: string): never => {
    const t = peek();
    throw new SelectorError(`expected ${what} at column ${(t?.at ?? end) + 1}, got ${t ? JSON.stringify(t.text) : "the end of the selector"}`);
  };
  const word = (what: string): Token => (peek()?.kind === "word" ? tokens[p++]! : expected(what));
  const op = (text: string) => peek()?.kind === "op" && peek()!.text === text;

  const requirements: Requirement[] = [];
  for (;;) {
    if (op("!")) {
      p++;
      const k = word("a label key after !");
      requirements.push({ key: checkKey(k.text, k.at), op: "absent" });
    } else {
      const k = word("a label key");
      const key = checkKey(k.text, k.at);
      const next = peek();
      if (!next || op(",")) requirements.push({ key, op: "exists" });
      else if (op("=") || op("==") || op("!=")) {
        const neg = next.text === "!=";
        p++;
        // An empty value is allowed (`tier=`): the label is present and empty.
        const v = peek()?.kind === "word" ? tokens[p++]! : { text: "", at: next.at + next.text.length };
        requirements.push({ key, op: neg ? "notin" : "in", values: [checkValue(v.text, v.at)] });
      } else if (next.kind === "word" && (next.text === "in" || next.text === "notin")) {
        p++;
        if (!op("(")) expected(`( after ${next.text}`);
        p++;
        const values: string[] = [];
        for (;;) {
          // Empty members (`in (a,,b)`) stand for the empty value, as in Kubernetes.
          const v = peek()?.kind === "word" ? tokens[p++]! : { text: "", at: peek()?.at ?? end };
          values.push(checkValue(v.text, v.at));
          if (op(",")) {
            p++;
            continue;
          }
          if (op(")")) {
            p++;
            break;
          }
          expected(`, or ) in the value set of ${JSON.stringify(key)}`);
        }
        if (values.length === 1 && values[0] === "" && tokens[p - 2]?.text === "(") {
          throw new SelectorError(`the value set of ${JSON.stringify(key)} ${next.text} () is empty: give at least one value`);
        }
        requirements.push({ key, op: next.text, values });
      } else expected(`=, ==, !=, in or notin after ${JSON.stringify(key)}`);
    }
    if (!peek()) return requirements;
    if (!op(",")) expected(", between requirements");
    p++;
    if (!peek()) throw new SelectorError(`the selector ends with a comma at column ${end}: remove it or add a requirement`);
  }
}

/** Kubernetes semantics: `!=` and `notin` also match pods without the label. */
export function selectorMatches(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.op) {
      case "exists":
        return has;
      case "absent":
        return !has;
      case "in":
        return has && r.values.includes(labels[r.key]!);
      case "notin":
        return !has || !r.values.includes(labels[r.key]!);
    }
  });
}
