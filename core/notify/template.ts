/**
 * A small Go-template-like engine for notification text, over Alertmanager's
 * data model (`.Status`, `.CommonLabels.alertname`, `range .Alerts`, …).
 *
 * Supported: `{{ .A.B }}`, `$` and `$var`, `{{- … -}}` trimming, pipelines
 * (`{{ .X | toUpper }}`), function calls with arguments, `if`/`else if`/
 * `else`, `range` (with `$v :=` or `$k, $v :=`), `with`, `define` and
 * `template "name" .`, and comments. Functions: see {@linkcode FUNCS}.
 *
 * @module
 */

/** Thrown when a template does not parse or fails while rendering. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

type Node =
  | { k: "text"; s: string }
  | { k: "out"; p: Pipe }
  | { k: "if"; branches: { cond: Pipe; body: Node[] }[]; els: Node[] }
  | { k: "range"; vars: string[]; p: Pipe; body: Node[]; els: Node[] }
  | { k: "with"; p: Pipe; body: Node[]; els: Node[] }
  | { k: "tmpl"; name: string; p?: Pipe };

type Arg =
  | { k: "field"; base: string | null; path: string[] }
  | { k: "lit"; v: unknown }
  | { k: "call"; fn: string; args: Arg[] }
  | { k: "sub"; p: Pipe; path?: string[] };
type Pipe = Arg[]; // First is a call or value; rest are calls fed the previous value.

/** A compiled template. */
export interface Template {
  /** Renders against `data`; throws TemplateError. `html` escapes output values. */
  render(data: unknown, opts?: { html?: boolean }): string;
}

const defined = new Map<string, Node[]>();
/** Templates from the config's template files; they may override the built-in ones. */
let userDefined: ReadonlyMap<string, Node[]> = new Map();

/** Named templates parsed from template files (opaque). */
export type TemplateDefs = ReadonlyMap<string, unknown>;

/**
 * Parses a template file's `{{ define "name" }}…{{ end }}` blocks; text
 * outside them is ignored, as Alertmanager does. Throws TemplateError.
 */
export function parseDefinitions(src: string): TemplateDefs {
  return parseTemplate(src).local;
}

/** Makes `defs` (of the config in force) callable by `{{ template "name" . }}` everywhere. */
export function useTemplates(defs: TemplateDefs): void {
  userDefined = defs as ReadonlyMap<string, Node[]>;
}

/** Compiles a template; throws TemplateError on syntax errors. */
export function compileTemplate(src: string): Template {
  const { root, local } = parseTemplate(src);
  return {
    render(data: unknown, opts: { html?: boolean } = {}): string {
      const out: string[] = [];
      const ctx: Ctx = { root: data, vars: new Map(), html: opts.html ?? false, local, depth: 0 };
      exec(root, data, ctx, out);
      return out.join("");
    },
  };
}

/** Registers a named template usable through `{{ template "name" . }}` everywhere. */
export function defineTemplate(name: string, src: string): void {
  defined.set(name, parseTemplate(src).root);
}

function parseTemplate(src: string): { root: Node[]; local: Map<string, Node[]> } {
  const tokens = tokenize(src);
  let pos = 0;
  const local = new Map<string, Node[]>();

  function parseList(stop: string[]): { nodes: Node[]; end: string } {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t.text !== undefined) {
        nodes.push({ k: "text", s: t.text });
        continue;
      }
      const a = t.action!;
      const word = /^(\w+)\b/.exec(a)?.[1] ?? "";
      if (stop.includes(word) && ["end", "else"].includes(word)) return { nodes, end: a };
      if (a.startsWith("/*")) continue;
      if (word === "if") {
        const branches = [{ cond: parsePipe(a.slice(2)), body: [] as Node[] }];
        let els: Node[] = [];
        for (;;) {
          const r = parseList(["end", "else"]);
          branches[branches.length - 1]!.body = r.nodes;
          if (r.end === "end") break;
          const rest = r.end.slice(4).trim();
          if (rest.startsWith("if ")) {
            branches.push({ cond: parsePipe(rest.slice(3)), body: [] });
            continue;
          }
          els = expectEnd(parseList(["end"]));
          break;
        }
        nodes.push({ k: "if", branches, els });
      } else if (word === "range" || word === "with") {
        let head = a.slice(word.length).trim();
        const vars: string[] = [];
        const decl = /^(\$\w+)\s*(?:,\s*(\$\w+)\s*)?:=/.exec(head);
        if (decl) {
          vars.push(decl[1]!);
          if (decl[2]) vars.push(decl[2]);
          head = head.slice(decl[0].length);
        }
        const p = parsePipe(head);
        const r = parseList(["end", "else"]);
        const els = r.end === "end" ? [] : expectEnd(parseList(["end"]));
        if (word === "range") nodes.push({ k: "range", vars, p, body: r.nodes, els });
        else nodes.push({ k: "with", p, body: r.nodes, els });
      } else if (word === "define") {
        const name = /^define\s+"([^"]*)"$/.exec(a)?.[1];
        if (name === undefined) throw new TemplateError(`bad define: {{${a}}}`);
        local.set(name, expectEnd(parseList(["end"])));
      } else if (word === "template") {
        const m = /^template\s+"([^"]*)"\s*(.*)$/.exec(a);
        if (!m) throw new TemplateError(`bad template call: {{${a}}}`);
        nodes.push({ k: "tmpl", name: m[1]!, p: m[2] ? parsePipe(m[2]) : undefined });
      } else if (word === "end" || word === "else") {
        throw new TemplateError(`unexpected {{${a}}}`);
      } else {
        nodes.push({ k: "out", p: parsePipe(a) });
      }
    }
    if (stop.length > 0) throw new TemplateError(`missing {{end}}`);
    return { nodes, end: "" };
  }

  function expectEnd(r: { nodes: Node[]; end: string }): Node[] {
    if (r.end !== "end") throw new TemplateError("missing {{end}}");
    return r.nodes;
  }

  const root = parseList([]).nodes;
  return { root, local };
}

interface Tok {
  text?: string;
  action?: string;
}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, "");
    trimNext = false;
    if (open < 0) {
      if (text) out.push({ text });
      break;
    }
    let start = open + 2;
    if (src[start] === "-" && /\s/.test(src[start + 1] ?? "")) {
      text = text.replace(/\s+$/, "");
      start++;
    }
    if (text) out.push({ text });
    const close = findClose(src, start);
    if (close < 0) throw new TemplateError("unclosed action");
    let end = close;
    if (src[close - 1] === "-" && /\s/.test(src[close - 2] ?? "")) {
      trimNext = true;
      end = close - 1;
    }
    const action = src.slice(start, end).trim();
    if (action.startsWith("/*")) {
      if (!action.endsWith("*/")) throw new TemplateError("unclosed comment");
    } else out.push({ action });
    i = close + 2;
  }
  return out;
}

function findClose(src: string, from: number): number {
  let q: string | null = null;
  for (let i = from; i < src.length; i++) {
    const c = src[i]!;
    if (q) {
      if (c === "\\" && q === '"') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "`") q = c;
    else if (c === "}" && src[i + 1] === "}") return i;
  }
  return -1;
}

function parsePipe(src: string): Pipe {
  const toks = lexArgs(src);
  let pos = 0;
  function parseCmd(): Arg {
    const args: Arg[] = [];
    while (pos < toks.length && toks[pos] !== "|" && !toks[pos]!.startsWith(")")) {
      const t = toks[pos++]!;
      if (t === "(") {
        const inner: Arg[] = [parseCmd()];
        while (toks[pos] === "|") {
          pos++;
          inner.push(parseCmd());
        }
        const close = toks[pos++];
        if (close === undefined || !close.startsWith(")")) {
          throw new TemplateError(`missing ) in {{${src}}}`);
        }
        // `(pipeline).Field.Sub` reads fields of the pipeline's value.
        const path = close.length > 1 ? close.slice(2).split(".") : undefined;
        args.push({ k: "sub", p: inner, path });
      } else args.push(term(t));
    }
    if (args.length === 0) throw new TemplateError(`empty command in {{${src}}}`);
    const [head, ...rest] = args;
    if (head!.k === "call") return { k: "call", fn: head!.fn, args: rest };
    if (rest.length > 0) throw new TemplateError(`cannot call a value in {{${src}}}`);
    return head!;
  }
  const pipe: Pipe = [parseCmd()];
  while (toks[pos] === "|") {
    pos++;
    const c = parseCmd();
    if (c.k !== "call") throw new TemplateError(`pipe into a non-function in {{${src}}}`);
    pipe.push(c);
  }
  if (pos < toks.length) throw new TemplateError(`unexpected ${toks[pos]} in {{${src}}}`);
  return pipe;
}

function term(t: string): Arg {
  if (t.startsWith('"')) return { k: "lit", v: JSON.parse(t) };
  if (t.startsWith("`")) return { k: "lit", v: t.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(t)) return { k: "lit", v: Number(t) };
  if (t === "true" || t === "false") return { k: "lit", v: t === "true" };
  if (t === "nil") return { k: "lit", v: null };
  if (t.startsWith(".")) {
    return { k: "field", base: null, path: t === "." ? [] : t.slice(1).split(".") };
  }
  if (t.startsWith("$")) {
    const [base, ...path] = t.split(".");
    return { k: "field", base: base!, path };
  }
  if (/^\w+$/.test(t)) {
    if (!(t in FUNCS)) throw new TemplateError(`function "${t}" not defined`);
    return { k: "call", fn: t, args: [] };
  }
  throw new TemplateError(`unexpected "${t}"`);
}

function lexArgs(src: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\)(?:\.\w+)+|[|()]|[^\s|()]+)/y;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < src.length && (m = re.exec(src))) {
    out.push(m[1]!);
    if (/^\s*$/.test(src.slice(re.lastIndex))) break;
  }
  return out;
}

interface Ctx {
  root: unknown;
  vars: Map<string, unknown>;
  html: boolean;
  local: Map<string, Node[]>;
  depth: number;
}

function exec(nodes: Node[], dot: unknown, ctx: Ctx, out: string[]): void {
  for (const n of nodes) {
    switch (n.k) {
      case "text":
        out.push(n.s);
        break;
      case "out": {
        const v = evalPipe(n.p, dot, ctx);
        const s = printValue(v);
        out.push(ctx.html && !(v instanceof SafeHTML) ? escapeHtml(s) : s);
        break;
      }
      case "if": {
        const b = n.branches.find((br) => truthy(evalPipe(br.cond, dot, ctx)));
        exec(b ? b.body : n.els, dot, ctx, out);
        break;
      }
      case "with": {
        const v = evalPipe(n.p, dot, ctx);
        if (truthy(v)) exec(n.body, v, ctx, out);
        else exec(n.els, dot, ctx, out);
        break;
      }
      case "range": {
        const v = evalPipe(n.p, dot, ctx);
        const entries: [unknown, unknown][] = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === "object"
          ? Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])
          : typeof v === "number"
          ? Array.from({ length: v }, (_, i) => [i, i])
          : [];
        if (entries.length === 0) exec(n.els, dot, ctx, out);
        for (const [k, x] of entries) {
          if (n.vars.length === 1) ctx.vars.set(n.vars[0]!, x);
          if (n.vars.length === 2) {
            ctx.vars.set(n.vars[0]!, k);
            ctx.vars.set(n.vars[1]!, x);
          }
          exec(n.body, x, ctx, out);
        }
        break;
      }
      case "tmpl": {
        const body = ctx.local.get(n.name) ?? userDefined.get(n.name) ?? defined.get(n.name);
        if (!body) throw new TemplateError(`no such template "${n.name}"`);
        if (ctx.depth > 20) throw new TemplateError("template recursion too deep");
        const arg = n.p ? evalPipe(n.p, dot, ctx) : undefined;
        exec(body, arg, { ...ctx, depth: ctx.depth + 1 }, out);
        break;
      }
    }
  }
}

function evalPipe(p: Pipe, dot: unknown, ctx: Ctx): unknown {
  let v = evalArg(p[0]!, dot, ctx, undefined, false);
  for (let i = 1; i < p.length; i++) v = evalArg(p[i]!, dot, ctx, v, true);
  return v;
}

function evalArg(a: Arg, dot: unknown, ctx: Ctx, piped: unknown, hasPiped: boolean): unknown {
  switch (a.k) {
    case "lit":
      return a.v;
    case "sub": {
      let v = evalPipe(a.p, dot, ctx);
      for (const key of a.path ?? []) {
        if (v === null || v === undefined) return undefined;
        const next = (v as Record<string, unknown>)[key];
        v = typeof next === "function" ? (next as () => unknown).call(v) : next;
      }
      return v;
    }
    case "field": {
      let v: unknown;
      if (a.base === null) v = dot;
      else if (a.base === "$") v = ctx.root;
      else if (ctx.vars.has(a.base)) v = ctx.vars.get(a.base);
      else throw new TemplateError(`undefined variable ${a.base}`);
      for (const key of a.path) {
        if (v === null || v === undefined) return undefined;
        const next = (v as Record<string, unknown>)[key];
        v = typeof next === "function" ? (next as () => unknown).call(v) : next;
      }
      return v;
    }
    case "call": {
      const args = a.args.map((x) => evalArg(x, dot, ctx, undefined, false));
      if (hasPiped) args.push(piped);
      return FUNCS[a.fn]!(...args);
    }
  }
}

/** Marks a string as safe HTML (not escaped in HTML templates). */
export class SafeHTML {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === "object" && !(v instanceof Date) && !(v instanceof SafeHTML)) {
    return Object.keys(v).length > 0;
  }
  return Boolean(v);
}

function printValue(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map(printValue).join(" ")}]`;
  if (typeof v === "object" && !(v instanceof SafeHTML)) {
    return `map[${
      Object.keys(v).sort().map((k) => `${k}:${printValue((v as Record<string, unknown>)[k])}`)
        .join(" ")
    }]`;
  }
  return String(v);
}

/** Escapes text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&#34;",
  ).replace(/'/g, "&#39;");
}

function cmp(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

function printf(format: string, ...args: unknown[]): string {
  let i = 0;
  return String(format).replace(/%(-?\d*)(?:\.(\d+))?([sdvfqx%])/g, (_, w, prec, verb) => {
    if (verb === "%") return "%";
    const v = args[i++];
    let s: string;
    if (verb === "d") s = String(Math.trunc(Number(v)));
    else if (verb === "f") s = Number(v).toFixed(prec === undefined ? 6 : Number(prec));
    else if (verb === "q") s = JSON.stringify(String(v));
    else if (verb === "x") s = Math.trunc(Number(v)).toString(16);
    else s = printValue(v);
    const width = Number(w || 0);
    return width < 0 ? s.padEnd(-width) : s.padStart(width);
  });
}

/** The function table templates can call. */
export const FUNCS: Record<string, (...a: unknown[]) => unknown> = {
  len: (v) =>
    Array.isArray(v) || typeof v === "string"
      ? v.length
      : v && typeof v === "object"
      ? Object.keys(v).length
      : 0,
  index: (v, ...keys) => {
    let x = v;
    for (const k of keys) x = x == null ? undefined : (x as Record<string, unknown>)[String(k)];
    return x;
  },
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => cmp(a, b) < 0,
  le: (a, b) => cmp(a, b) <= 0,
  gt: (a, b) => cmp(a, b) > 0,
  ge: (a, b) => cmp(a, b) >= 0,
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
  not: (a) => !truthy(a),
  print: (...a) => a.map(printValue).join(""),
  println: (...a) => a.map(printValue).join(" ") + "\n",
  printf: (f, ...a) => printf(String(f), ...a),
  toUpper: (s) => String(s ?? "").toUpperCase(),
  toLower: (s) => String(s ?? "").toLowerCase(),
  title: (s) => String(s ?? "").replace(/\b\w/g, (c) => c.toUpperCase()),
  trimSpace: (s) => String(s ?? "").trim(),
  join: (sep, list) => (Array.isArray(list) ? list.map(printValue).join(String(sep)) : ""),
  match: (re, s) => new RegExp(String(re)).test(String(s)),
  reReplaceAll: (re, repl, s) =>
    String(s).replace(new RegExp(String(re), "g"), String(repl).replace(/\$(\d)/g, "$$$1")),
  safeHtml: (s) => new SafeHTML(String(s)),
  urlquery: (s) => encodeURIComponent(String(s)),
  humanize: (v) => humanize(Number(v)),
  since: (d) => (d instanceof Date ? (Date.now() - d.getTime()) / 1000 : 0),
  date: (fmt, d) => (d instanceof Date ? d.toISOString() : printValue(d)) + (fmt ? "" : ""),
};

function humanize(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  const units = ["", "k", "M", "G", "T", "P"];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${Number(x.toFixed(4))}${units[i]}`;
}
