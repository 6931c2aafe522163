/**
 * A small Go-template-like engine for alert labels and annotations, as
 * Prometheus expands them. No `eval`: text is parsed into a tree once and
 * walked at render time.
 *
 * Supported: `{{ $labels.name }}`, `{{ $value }}`, `{{ $externalLabels.x }}`,
 * `{{ $externalURL }}`, `{{ .Labels.x }}`, `{{ .Value }}`, string and number
 * literals, pipelines (`{{ $value | humanize }}`), parentheses, trim markers
 * (`{{-`, `-}}`), comments (`{{/* … *\/}}`), `if`/`else if`/`else`/`end`, and
 * the functions humanize, humanize1024, humanizePercentage, humanizeDuration,
 * humanizeTimestamp, printf, print, toUpper, toLower, title, stripPort, eq,
 * ne, lt, le, gt, ge, and, or, not, len. A missing label renders as "".
 *
 * @example
 * ```ts
 * const t = parseTemplate("{{ $labels.instance }} at {{ $value | humanize }}");
 * renderTemplate(t, { labels: { instance: "a" }, value: 1234 }); // "a at 1.234k"
 * ```
 *
 * @module
 */
import {
  formatE,
  formatF,
  formatG,
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
} from "./_format.ts";

/** A template that does not parse; `offset` is the character position in the text. */
export class TemplateParseError extends Error {
  constructor(readonly detail: string, readonly offset: number) {
    super(`Cannot parse template at char ${offset}: ${detail}`);
    this.name = "TemplateParseError";
  }
}

/** A template failed while rendering (bad argument to a function). */
export class TemplateRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateRenderError";
  }
}

/** What a template sees. */
export interface TemplateData {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly externalLabels?: Readonly<Record<string, string>>;
  readonly externalURL?: string;
}

type Arg =
  | { k: "var"; name: string; path: string[] }
  | { k: "field"; path: string[] }
  | { k: "lit"; v: string | number | boolean }
  | { k: "fn"; name: string }
  | { k: "pipe"; pipe: Pipe };
type Cmd = Arg[];
type Pipe = Cmd[];
type Node =
  | { k: "text"; s: string }
  | { k: "out"; pipe: Pipe }
  | { k: "if"; branches: { cond: Pipe; body: Node[] }[]; otherwise: Node[] };

/** A parsed template. */
export interface Template {
  readonly source: string;
  readonly nodes: readonly Node[];
}

type Val = string | number | boolean | Readonly<Record<string, string>> | undefined;

const VARS = new Set(["$", "$labels", "$value", "$externalLabels", "$externalURL"]);

function num(v: Val, fn: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const t = v.trim();
    const n = t === "" ? NaN : Number(t);
    if (!Number.isNaN(n) || /^[+-]?nan$/i.test(t)) return n;
    if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  }
  throw new TemplateRenderError(`${fn}: cannot convert ${JSON.stringify(v)} to a number`);
}

function str(v: Val): string {
  if (v === undefined) return "";
  if (typeof v === "number") return formatG(v);
  if (typeof v === "boolean" || typeof v === "string") return String(v);
  return "map[" + Object.keys(v).sort().map((k) => `${k}:${v[k]}`).join(" ") + "]";
}

function truthy(v: Val): boolean {
  if (v === undefined || v === false || v === 0 || v === "") return false;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

function compare(a: Val, b: Val, fn: string): number {
  if (typeof a === "number" || typeof b === "number") {
    const x = num(a, fn), y = num(b, fn);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = str(a), y = str(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Go's `fmt.Sprintf` for the verbs templates use: %s %v %d %f %e %g %q %x %%. */
export function sprintf(format: string, args: readonly Val[]): string {
  let i = 0;
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (_m, flags, w, p, verb) => {
    if (verb === "%") return "%";
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const a = args[i++];
    const prec = p === undefined ? undefined : Number(p);
    let s: string;
    switch (verb) {
      case "s":
      case "v":
        s = typeof a === "number" && prec !== undefined ? formatG(a, prec) : str(a);
        if (verb === "s" && prec !== undefined && typeof a !== "number") s = s.slice(0, prec);
        break;
      case "q":
        s = JSON.stringify(str(a));
        break;
      case "d":
        if (typeof a === "number" && Number.isInteger(a)) s = String(a);
        else return `%!d(${typeof a === "number" ? "float64=" + formatG(a) : str(a)})`;
        break;
      case "f":
      case "F":
        s = formatF(num(a, "printf"), prec ?? 6);
        break;
      case "e":
        s = formatE(num(a, "printf"), prec ?? 6);
        break;
      case "g":
        s = formatG(num(a, "printf"), prec ?? -1);
        break;
      case "x":
        s = typeof a === "number"
          ? Math.trunc(a).toString(16)
          : [...new TextEncoder().encode(str(a))].map((b) => b.toString(16).padStart(2, "0"))
            .join("");
        break;
      default:
        return `%!${verb}(${str(a)})`;
    }
    if (flags.includes("+") && typeof a === "number" && a >= 0 && verb !== "s") s = "+" + s;
    const width = w === undefined ? 0 : Number(w);
    if (s.length < width) {
      if (flags.includes("-")) s = s.padEnd(width);
      else if (flags.includes("0") && typeof a === "number") {
        const neg = s.startsWith("-") || s.startsWith("+");
        s = neg ? s[0] + s.slice(1).padStart(width - 1, "0") : s.padStart(width, "0");
      } else s = s.padStart(width);
    }
    return s;
  }) + (i < args.length ? `%!(EXTRA ${args.slice(i).map(str).join(", ")})` : "");
}

const FUNCS: Record<string, (args: Val[]) => Val> = {
  humanize: (a) => humanize(num(one(a, "humanize"), "humanize")),
  humanize1024: (a) => humanize1024(num(one(a, "humanize1024"), "humanize1024")),
  humanizePercentage: (a) =>
    humanizePercentage(num(one(a, "humanizePercentage"), "humanizePercentage")),
  humanizeDuration: (a) => humanizeDuration(num(one(a, "humanizeDuration"), "humanizeDuration")),
  humanizeTimestamp: (a) => {
    const v = num(one(a, "humanizeTimestamp"), "humanizeTimestamp");
    if (!Number.isFinite(v)) return formatG(v, 4);
    return new Date(v * 1000).toISOString().replace("T", " ").replace("Z", " +0000 UTC");
  },
  printf: (a) => {
    if (a.length === 0) throw new TemplateRenderError("printf: missing format");
    return sprintf(str(a[0]), a.slice(1));
  },
  print: (a) => a.map(str).join(""),
  toUpper: (a) => str(one(a, "toUpper")).toUpperCase(),
  toLower: (a) => str(one(a, "toLower")).toLowerCase(),
  title: (a) =>
    str(one(a, "title")).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_, p, c) => p + c.toUpperCase()),
  stripPort: (a) => {
    const s = str(one(a, "stripPort"));
    const m = /^\[(.*)\](?::\d+)?$/.exec(s) ?? /^([^:]*)(?::\d+)?$/.exec(s);
    return m ? m[1]! : s;
  },
  eq: (a) => two(a, "eq") && compare(a[0], a[1], "eq") === 0,
  ne: (a) => two(a, "ne") && compare(a[0], a[1], "ne") !== 0,
  lt: (a) => two(a, "lt") && compare(a[0], a[1], "lt") < 0,
  le: (a) => two(a, "le") && compare(a[0], a[1], "le") <= 0,
  gt: (a) => two(a, "gt") && compare(a[0], a[1], "gt") > 0,
  ge: (a) => two(a, "ge") && compare(a[0], a[1], "ge") >= 0,
  and: (a) => {
    for (const v of a) if (!truthy(v)) return v;
    return a[a.length - 1];
  },
  or: (a) => {
    for (const v of a) if (truthy(v)) return v;
    return a[a.length - 1];
  },
  not: (a) => !truthy(one(a, "not")),
  len: (a) => {
    const v = one(a, "len");
    return typeof v === "object" ? Object.keys(v).length : str(v).length;
  },
};

function one(a: Val[], fn: string): Val {
  if (a.length !== 1) throw new TemplateRenderError(`${fn}: wants 1 argument, got ${a.length}`);
  return a[0];
}
function two(a: Val[], fn: string): true {
  if (a.length !== 2) throw new TemplateRenderError(`${fn}: wants 2 arguments, got ${a.length}`);
  return true;
}

// ---- parsing ----

interface Tok {
  t: "var" | "field" | "str" | "num" | "ident" | "|" | "(" | ")" | "bool";
  s: string;
  at: number;
}

function lexAction(src: string, start: number, end: number): Tok[] {
  const toks: Tok[] = [];
  let i = start;
  while (i < end) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === "|" || c === "(" || c === ")") {
      toks.push({ t: c, s: c, at });
      i++;
    } else if (c === '"') {
      let j = i + 1, s = "";
      while (j < end && src[j] !== '"') {
        if (src[j] === "\\") {
          const n = src[j + 1];
          s += n === "n" ? "\n" : n === "t" ? "\t" : n ?? "";
          j += 2;
        } else s += src[j++];
      }
      if (j >= end) throw new TemplateParseError("unterminated quoted string", at);
      toks.push({ t: "str", s, at });
      i = j + 1;
    } else if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0 || j >= end) throw new TemplateParseError("unterminated raw string", at);
      toks.push({ t: "str", s: src.slice(i + 1, j), at });
      i = j + 1;
    } else {
      const m =
        /^(\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*|(?:\.[A-Za-z0-9_]+)+|\.|[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)|[A-Za-z_][A-Za-z0-9_]*)/
          .exec(src.slice(i, end));
      if (!m) throw new TemplateParseError(`unexpected ${JSON.stringify(c)} in action`, at);
      const w = m[0];
      const t: Tok["t"] = w.startsWith("$")
        ? "var"
        : w.startsWith(".") && !/^\.\d/.test(w)
        ? "field"
        : /^[+-]?[\d.]/.test(w)
        ? "num"
        : w === "true" || w === "false"
        ? "bool"
        : "ident";
      toks.push({ t, s: w, at });
      i += w.length;
    }
  }
  return toks;
}

class ActionParser {
  i = 0;
  constructor(readonly toks: Tok[], readonly end: number) {}

  pipe(stopAtParen: boolean): Pipe {
    const cmds: Pipe = [];
    let cmd: Cmd = [];
    while (this.i < this.toks.length) {
      const tk = this.toks[this.i]!;
      if (tk.t === ")") {
        if (!stopAtParen) throw new TemplateParseError("unexpected )", tk.at);
        break;
      }
      this.i++;
      if (tk.t === "|") {
        if (cmd.length === 0) throw new TemplateParseError("missing command before |", tk.at);
        cmds.push(cmd);
        cmd = [];
        continue;
      }
      cmd.push(this.arg(tk, cmd.length === 0));
    }
    if (cmd.length === 0) {
      throw new TemplateParseError(
        cmds.length ? "missing command after |" : "empty command",
        this.end,
      );
    }
    cmds.push(cmd);
    for (let c = 1; c < cmds.length; c++) {
      if (cmds[c]![0]!.k !== "fn") {
        throw new TemplateParseError("non-function in pipeline after |", this.end);
      }
    }
    return cmds;
  }

  arg(tk: Tok, first: boolean): Arg {
    switch (tk.t) {
      case "var": {
        const [name, ...path] = tk.s.split(".");
        if (!VARS.has(name!)) throw new TemplateParseError(`undefined variable "${name}"`, tk.at);
        return { k: "var", name: name!, path };
      }
      case "field":
        return { k: "field", path: tk.s === "." ? [] : tk.s.slice(1).split(".") };
      case "str":
        return { k: "lit", v: tk.s };
      case "num": {
        const v = Number(tk.s);
        if (Number.isNaN(v)) throw new TemplateParseError(`bad number ${tk.s}`, tk.at);
        return { k: "lit", v };
      }
      case "bool":
        return { k: "lit", v: tk.s === "true" };
      case "ident":
        if (!(tk.s in FUNCS)) {
          throw new TemplateParseError(`function "${tk.s}" not defined`, tk.at);
        }
        if (!first) return { k: "pipe", pipe: [[{ k: "fn", name: tk.s }]] };
        return { k: "fn", name: tk.s };
      case "(": {
        const pipe = this.pipe(true);
        if (this.toks[this.i]?.t !== ")") throw new TemplateParseError("unclosed (", tk.at);
        this.i++;
        return { k: "pipe", pipe };
      }
      default:
        throw new TemplateParseError(`unexpected ${tk.s}`, tk.at);
    }
  }
}

function parsePipe(src: string, start: number, end: number): Pipe {
  const p = new ActionParser(lexAction(src, start, end), end);
  const pipe = p.pipe(false);
  return pipe;
}

/** Parses a template; throws {@linkcode TemplateParseError} with the position of the problem. */
export function parseTemplate(source: string): Template {
  // Stack of open `if` blocks; the root list is at the bottom.
  type Frame = { node?: Extract<Node, { k: "if" }>; list: Node[]; at: number; inElse: boolean };
  const root: Node[] = [];
  const stack: Frame[] = [{ list: root, at: 0, inElse: false }];
  let i = 0;
  let trimNext = false;
  while (i < source.length) {
    const open = source.indexOf("{{", i);
    let text = source.slice(i, open < 0 ? source.length : open);
    if (trimNext) text = text.replace(/^\s+/, "");
    trimNext = false;
    if (open < 0) {
      if (text) stack[stack.length - 1]!.list.push({ k: "text", s: text });
      break;
    }
    let a = open + 2;
    if (source[a] === "-" && /\s/.test(source[a + 1] ?? "")) {
      text = text.replace(/\s+$/, "");
      a += 2;
    }
    if (text) stack[stack.length - 1]!.list.push({ k: "text", s: text });
    const close = source.indexOf("}}", a);
    if (close < 0) throw new TemplateParseError("unclosed action", open);
    let b = close;
    if (source[b - 1] === "-" && /\s/.test(source[b - 2] ?? "")) {
      b -= 2;
      trimNext = true;
    }
    i = close + 2;
    const inner = source.slice(a, b).trim();
    if (inner.startsWith("/*")) {
      if (!inner.endsWith("*/")) throw new TemplateParseError("unclosed comment", open);
      continue;
    }
    const kw = /^(if|else|end|range|with|define|template|block)\b/.exec(inner)?.[1];
    const top = stack[stack.length - 1]!;
    const bodyStart = a + (source.slice(a, b).length - source.slice(a, b).trimStart().length);
    if (kw === "if") {
      const cond = parsePipe(source, bodyStart + 2, b);
      const node: Extract<Node, { k: "if" }> = {
        k: "if",
        branches: [{ cond, body: [] }],
        otherwise: [],
      };
      top.list.push(node);
      stack.push({ node, list: node.branches[0]!.body, at: open, inElse: false });
    } else if (kw === "else") {
      if (!top.node) throw new TemplateParseError("else without if", open);
      if (top.inElse) throw new TemplateParseError("else after else", open);
      const rest = inner.slice(4).trim();
      if (rest.startsWith("if")) {
        const off = source.indexOf("if", bodyStart + 4);
        const cond = parsePipe(source, off + 2, b);
        const br = { cond, body: [] as Node[] };
        top.node.branches.push(br);
        top.list = br.body;
      } else {
        if (rest !== "") throw new TemplateParseError("unexpected text after else", open);
        top.list = top.node.otherwise;
        top.inElse = true;
      }
    } else if (kw === "end") {
      if (!top.node) throw new TemplateParseError("unexpected end", open);
      stack.pop();
    } else if (kw) {
      throw new TemplateParseError(`"${kw}" is not supported`, open);
    } else {
      top.list.push({ k: "out", pipe: parsePipe(source, a, b) });
    }
  }
  if (stack.length > 1) {
    throw new TemplateParseError("missing end for if", stack[stack.length - 1]!.at);
  }
  return { source, nodes: root };
}

// ---- rendering ----

function lookup(v: Val, path: readonly string[]): Val {
  for (const p of path) {
    if (v === undefined) return undefined;
    if (typeof v !== "object") {
      throw new TemplateRenderError(`can't evaluate field ${p} in type ${typeof v}`);
    }
    v = v[p] ?? "";
  }
  return v;
}

function evalArg(a: Arg, d: TemplateData, root: Record<string, Val>): Val {
  switch (a.k) {
    case "lit":
      return a.v;
    case "var": {
      const base: Val = a.name === "$labels"
        ? d.labels
        : a.name === "$value"
        ? d.value
        : a.name === "$externalLabels"
        ? d.externalLabels ?? {}
        : a.name === "$externalURL"
        ? d.externalURL ?? ""
        : root as Record<string, string>;
      return lookup(base, a.path);
    }
    case "field": {
      if (a.path.length === 0) return root as Record<string, string>;
      const [head, ...rest] = a.path;
      if (!(head! in root)) throw new TemplateRenderError(`can't evaluate field ${head}`);
      return lookup(root[head!], rest);
    }
    case "pipe":
      return evalPipe(a.pipe, d, root);
    case "fn":
      return FUNCS[a.name]!([]);
  }
}

function evalPipe(pipe: Pipe, d: TemplateData, root: Record<string, Val>): Val {
  let prev: Val = undefined;
  let hasPrev = false;
  for (const cmd of pipe) {
    const head = cmd[0]!;
    if (head.k === "fn") {
      const args = cmd.slice(1).map((a) => evalArg(a, d, root));
      if (hasPrev) args.push(prev);
      prev = FUNCS[head.name]!(args);
    } else {
      if (cmd.length > 1) throw new TemplateRenderError("can't give argument to non-function");
      prev = evalArg(head, d, root);
    }
    hasPrev = true;
  }
  return prev;
}

function renderNodes(
  nodes: readonly Node[],
  d: TemplateData,
  root: Record<string, Val>,
  out: string[],
) {
  for (const n of nodes) {
    if (n.k === "text") out.push(n.s);
    else if (n.k === "out") out.push(str(evalPipe(n.pipe, d, root)));
    else {
      const br = n.branches.find((b) => truthy(evalPipe(b.cond, d, root)));
      renderNodes(br ? br.body : n.otherwise, d, root, out);
    }
  }
}

/** Renders a parsed template; throws {@linkcode TemplateRenderError} when a function fails. */
export function renderTemplate(t: Template, d: TemplateData): string {
  const root: Record<string, Val> = {
    Labels: d.labels,
    Value: d.value,
    ExternalLabels: d.externalLabels ?? {},
    ExternalURL: d.externalURL ?? "",
  };
  const out: string[] = [];
  renderNodes(t.nodes, d, root, out);
  return out.join("");
}

/** Checks a template's syntax; returns the problem or undefined. */
export function checkTemplate(source: string): string | undefined {
  try {
    parseTemplate(source);
    return undefined;
  } catch (e) {
    if (e instanceof TemplateParseError) return e.message;
    throw e;
  }
}

const CACHE_MAX = 1000;
const cache = new Map<string, Template>();

/**
 * Renders `source` (parsed once and cached). On any
 * error returns the raw text plus a note, and the error, so the caller can log.
 */
export function expandTemplate(
  source: string,
  d: TemplateData,
): { text: string; error?: string } {
  if (!source.includes("{{")) return { text: source };
  try {
    let t = cache.get(source);
    if (!t) {
      if (cache.size >= CACHE_MAX) cache.clear();
      t = parseTemplate(source);
      cache.set(source, t);
    }
    return { text: renderTemplate(t, d) };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { text: `${source} (template error: ${msg})`, error: msg };
  }
}
