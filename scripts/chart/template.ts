// A small Go text/template engine: the subset of Helm's template language the oomtrace chart uses, so that
// the chart can be rendered and checked where no helm binary can be installed. Anything outside the
// subset is an error naming it, never a silent guess: a template change that needs more fails the tests.
//
// Supported: text and {{ }} actions with {{- -}} trimming and comments; if / else if / else, with / else,
// range (over lists), define and include; pipelines with | and parenthesised pipelines; $var := ...;
// fields (.a.b, $.a, $v.a); string, number and boolean literals; the functions in FUNCTIONS below.

type Value = unknown;
type Node =
  | { t: "text"; text: string }
  | { t: "out"; pipe: Pipe }
  | { t: "if" | "with" | "range"; pipe: Pipe; body: Node[]; orElse: Node[] };
interface Pipe {
  decl: string | null;
  cmds: Operand[][];
}
type Operand =
  | { k: "field"; base: "." | "$" | string; path: string[] }
  | { k: "lit"; v: Value }
  | { k: "ident"; name: string }
  | { k: "pipe"; pipe: Pipe };

export class TemplateError extends Error {}

// ---- lexing: text and actions, with Go's trim markers ----

interface Action {
  src: string;
  at: string;
}

function lex(src: string, name: string): (string | Action)[] {
  const out: (string | Action)[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    if (open < 0) {
      out.push(src.slice(i));
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src.startsWith("- ", start) || src.startsWith("-\n", start)) {
      text = text.replace(/\s+$/, "");
      start += 1;
    }
    const close = src.indexOf("}}", start);
    if (close < 0) throw new TemplateError(`${name}: unclosed action at offset ${open}`);
    let end = close;
    let after = close + 2;
    if (src[close - 1] === "-" && /\s/.test(src[close - 2] ?? "")) {
      end = close - 1;
      const rest = src.slice(after);
      after += rest.length - rest.replace(/^\s+/, "").length;
    }
    out.push(text);
    const body = src.slice(start, end).trim();
    const line = src.slice(0, open).split("\n").length;
    if (!(body.startsWith("/*") && body.endsWith("*/"))) out.push({ src: body, at: `${name}:${line}` });
    i = after;
  }
  return out.filter((x) => x !== "");
}

// ---- parsing actions ----

function tokens(s: string, at: string): string[] {
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|:=|\||\(|\)|[^\s|()]+)/y;
  const out: string[] = [];
  let m: RegExpExecArray | null;
  while (re.lastIndex < s.length && (m = re.exec(s))) out.push(m[1]!);
  if (s.slice(re.lastIndex).trim() !== "") throw new TemplateError(`${at}: cannot read ${JSON.stringify(s)}`);
  return out;
}

function parsePipe(toks: string[], at: string): Pipe {
  let decl: string | null = null;
  if (toks[1] === ":=" && toks[0]?.startsWith("$")) {
    decl = toks[0];
    toks = toks.slice(2);
  }
  const cmds: Operand[][] = [[]];
  for (let i = 0; i < toks.length; i++) {
    const tok = toks[i]!;
    if (tok === "|") {
      cmds.push([]);
      continue;
    }
    if (tok === "(") {
      let depth = 1;
      let j = i + 1;
      for (; j < toks.length && depth > 0; j++) depth += toks[j] === "(" ? 1 : toks[j] === ")" ? -1 : 0;
      if (depth !== 0) throw new TemplateError(`${at}: unbalanced parenthesis`);
      cmds.at(-1)!.push({ k: "pipe", pipe: parsePipe(toks.slice(i + 1, j - 1), at) });
      i = j - 1;
      continue;
    }
    cmds.at(-1)!.push(operand(tok, at));
  }
  if (cmds.some((c) => c.length === 0)) throw new TemplateError(`${at}: empty command in pipeline`);
  return { decl, cmds };
}

function operand(tok: string, at: string): Operand {
  if (tok.startsWith('"')) return { k: "lit", v: JSON.parse(tok) };
  if (tok.startsWith("`")) return { k: "lit", v: tok.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(tok)) return { k: "lit", v: Number(tok) };
  if (tok === "true" || tok === "false") return { k: "lit", v: tok === "true" };
  if (tok === ".") return { k: "field", base: ".", path: [] };
  if (tok.startsWith(".")) return { k: "field", base: ".", path: tok.slice(1).split(".") };
  if (tok.startsWith("$")) {
    const [base, ...path] = tok.split(".");
    return { k: "field", base: base!, path };
  }
  if (/^[a-zA-Z]\w*$/.test(tok)) return { k: "ident", name: tok };
  throw new TemplateError(`${at}: unsupported operand ${JSON.stringify(tok)}`);
}

interface Parsed {
  nodes: Node[];
  defines: Map<string, Node[]>;
}

function parse(items: (string | Action)[], name: string): Parsed {
  const defines = new Map<string, Node[]>();
  let pos = 0;
  // Returns the nodes up to an end/else, and which one stopped it.
  const block = (): { nodes: Node[]; stop: Action | null } => {
    const nodes: Node[] = [];
    while (pos < items.length) {
      const it = items[pos++]!;
      if (typeof it === "string") {
        nodes.push({ t: "text", text: it });
        continue;
      }
      const [word, ...rest] = tokens(it.src, it.at);
      if (word === "end" || word === "else") return { nodes, stop: it };
      if (word === "if" || word === "with" || word === "range") {
        const node: Node = { t: word, pipe: parsePipe(rest, it.at), body: [], orElse: [] };
        let r = block();
        node.body = r.nodes;
        let cur = node;
        while (r.stop && tokens(r.stop.src, r.stop.at)[0] === "else") {
          const elseToks = tokens(r.stop.src, r.stop.at).slice(1);
          if (elseToks[0] === "if") {
            const nested: Node = { t: "if", pipe: parsePipe(elseToks.slice(1), r.stop.at), body: [], orElse: [] };
            cur.orElse = [nested];
            r = block();
            nested.body = r.nodes;
            cur = nested;
          } else {
            r = block();
            cur.orElse = r.nodes;
          }
        }
        if (!r.stop) throw new TemplateError(`${it.at}: ${word} without end`);
        nodes.push(node);
        continue;
      }
      if (word === "define") {
        const r = block();
        if (!r.stop) throw new TemplateError(`${it.at}: define without end`);
        defines.set(JSON.parse(rest[0]!), r.nodes);
        continue;
      }
      if (["template", "block", "break", "continue", "tpl"].includes(word!)) throw new TemplateError(`${it.at}: "${word}" is outside the supported subset`);
      nodes.push({ t: "out", pipe: parsePipe([word!, ...rest], it.at) });
    }
    return { nodes, stop: null };
  };
  const r = block();
  if (r.stop) throw new TemplateError(`${r.stop.at}: ${r.stop.src} without a block`);
  return { nodes: r.nodes, defines };
}

// ---- evaluation ----

export function truthy(v: Value): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v as object).length > 0;
  return true;
}

function field(v: Value, path: string[], at: string): Value {
  let cur = v;
  for (const p of path) {
    if (cur === null || cur === undefined) return undefined; // Helm renders a missing value as empty
    if (typeof cur !== "object") throw new TemplateError(`${at}: cannot read .${p} of a ${typeof cur}`);
    cur = (cur as Record<string, Value>)[p];
  }
  return cur;
}

function sortKeys(v: Value): Value {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, Value>)[k])]));
  return v;
}

const str = (v: Value): string => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));

function sprintf(format: string, args: Value[]): string {
  let i = 0;
  return format.replace(/%[sdv%]/g, (m) => (m === "%%" ? "%" : m === "%d" ? String(Math.trunc(Number(args[i++]))) : str(args[i++])));
}

type Fn = (args: Value[], ctx: Ctx) => Value;
const FUNCTIONS: Record<string, Fn> = {
  include: ([name, dot], ctx) => ctx.include(String(name), dot),
  toYaml: ([v]) => (v === undefined || v === null ? "null" : Bun.YAML.stringify(sortKeys(v), null, 2).replace(/\n$/, "")),
  nindent: ([n, s]) => "\n" + indent(Number(n), str(s)),
  indent: ([n, s]) => indent(Number(n), str(s)),
  quote: (args) => args.map((a) => JSON.stringify(str(a))).join(" "),
  default: ([d, v]) => (truthy(v) ? v : d),
  printf: ([f, ...rest]) => sprintf(String(f), rest),
  trunc: ([n, s]) => str(s).slice(0, Number(n)),
  trimSuffix: ([suffix, s]) => (str(s).endsWith(String(suffix)) ? str(s).slice(0, -String(suffix).length) : str(s)),
  contains: ([sub, s]) => str(s).includes(str(sub)),
  join: ([sep, list]) => (Array.isArray(list) ? list.map(str).join(String(sep)) : str(list)),
  toString: (a: Value[]) => str(a[0]),
  int: ([v]) => Math.trunc(Number(v)),
  not: ([v]) => !truthy(v),
  and: (args) => args.reduce((a, b) => (truthy(a) ? b : a)),
  or: (args) => args.reduce((a, b) => (truthy(a) ? a : b)),
  eq: ([a, ...rest]) => rest.some((b) => a === b),
  ne: ([a, b]) => a !== b,
};

function indent(n: number, s: string): string {
  const pad = " ".repeat(n);
  return s
    .split("\n")
    .map((l) => pad + l)
    .join("\n");
}

interface Ctx {
  include(name: string, dot: Value): string;
}

function evalPipe(p: Pipe, dot: Value, vars: Map<string, Value>, ctx: Ctx, at = "template"): Value {
  let prev: Value = undefined;
  let first = true;
  for (const cmd of p.cmds) {
    const [head, ...rest] = cmd;
    const args = (ops: Operand[]) => ops.map((o) => evalOperand(o, dot, vars, ctx, at));
    if (head!.k === "ident") {
      const fn = FUNCTIONS[head!.name];
      if (!fn) throw new TemplateError(`${at}: function "${head!.name}" is outside the supported subset`);
      const a = args(rest);
      if (!first) a.push(prev);
      prev = fn(a, ctx);
    } else {
      if (rest.length || !first) throw new TemplateError(`${at}: a value cannot take arguments`);
      prev = evalOperand(head!, dot, vars, ctx, at);
    }
    first = false;
  }
  if (p.decl) vars.set(p.decl, prev);
  return prev;
}

function evalOperand(o: Operand, dot: Value, vars: Map<string, Value>, ctx: Ctx, at: string): Value {
  switch (o.k) {
    case "lit":
      return o.v;
    case "pipe":
      return evalPipe(o.pipe, dot, vars, ctx, at);
    case "ident":
      return evalPipe({ decl: null, cmds: [[o]] }, dot, vars, ctx, at);
    case "field": {
      const base = o.base === "." ? dot : vars.get(o.base);
      if (o.base !== "." && !vars.has(o.base)) throw new TemplateError(`${at}: undefined variable ${o.base}`);
      return field(base, o.path, at);
    }
  }
}

function exec(nodes: Node[], dot: Value, vars: Map<string, Value>, ctx: Ctx): string {
  let out = "";
  for (const n of nodes) {
    if (n.t === "text") out += n.text;
    else if (n.t === "out") {
      const v = evalPipe(n.pipe, dot, vars, ctx);
      if (!n.pipe.decl) out += str(v);
    } else {
      const v = evalPipe(n.pipe, dot, vars, ctx);
      if (n.t === "range") {
        if (truthy(v) && !Array.isArray(v)) throw new TemplateError("range over a map is outside the supported subset");
        out += truthy(v) ? (v as Value[]).map((item) => exec(n.body, item, vars, ctx)).join("") : exec(n.orElse, dot, vars, ctx);
      } else if (truthy(v)) out += exec(n.body, n.t === "with" ? v : dot, vars, ctx);
      else out += exec(n.orElse, dot, vars, ctx);
    }
  }
  return out;
}

/** Renders each template with `root` (Values, Release, Chart); files starting with "_" only define. */
export function renderTemplates(files: Record<string, string>, root: Value): Record<string, string> {
  const defines = new Map<string, Node[]>();
  const parsed: Record<string, Node[]> = {};
  for (const [name, src] of Object.entries(files)) {
    const p = parse(lex(src, name), name);
    for (const [k, v] of p.defines) defines.set(k, v);
    parsed[name] = p.nodes;
  }
  // Inside an include, $ is the data the template was given, as in Go.
  const ctx: Ctx = {
    include(name, dot) {
      const body = defines.get(name);
      if (!body) throw new TemplateError(`include of undefined template "${name}"`);
      return exec(body, dot, new Map([["$", dot]]), ctx);
    },
  };
  const out: Record<string, string> = {};
  for (const [name, nodes] of Object.entries(parsed)) if (!name.split("/").at(-1)!.startsWith("_")) out[name] = exec(nodes, root, new Map([["$", root]]), ctx);
  return out;
}
