/**
 * The template parser: Go's `text/template` syntax (pipelines, variables,
 * `if`/`with`/`range` with `else`, `break`/`continue`, and, where the dialect
 * allows, `define`/`template`/`block`) into a tree walked at render time.
 *
 * @module
 */
import { TemplateParseError } from "./errors.ts";
import { type Item, scan, type Tok } from "./lex.ts";
import type { GoValue } from "./value.ts";

/** An operand of a command. */
export type Arg =
  | { k: "lit"; v: GoValue; src: string }
  | { k: "num"; int?: bigint; float: number; isFloat: boolean; src: string }
  | { k: "nil"; src: string }
  | { k: "dot"; src: string }
  | { k: "field"; path: string[]; src: string }
  | { k: "var"; name: string; path: string[]; src: string }
  | { k: "fn"; name: string; path: string[]; src: string }
  | { k: "pipe"; pipe: Pipe; path: string[]; src: string };
/** A command: a function or method call, or a value (`args[0]`). */
export interface Cmd {
  args: Arg[];
  src: string;
  at: number;
}
/** A pipeline with its variable declarations. */
export interface Pipe {
  decl: string[];
  isAssign: boolean;
  cmds: Cmd[];
}
/** `if`, `with` or `range`. */
export interface Control {
  k: "if" | "with" | "range";
  pipe: Pipe;
  body: Node[];
  otherwise: Node[];
  at: number;
}
/** A node of a template's tree. */
export type Node =
  | { k: "text"; s: string }
  | { k: "action"; pipe: Pipe; at: number }
  | Control
  | { k: "break" | "continue" }
  | { k: "template"; name: string; pipe?: Pipe; at: number };

/** A parsed template. */
export interface Template {
  /** The whole text it was parsed from (positions in messages refer to it). */
  readonly source: string;
  readonly nodes: readonly Node[];
  /** Templates it defines with `{{ define "name" }}` or `{{ block "name" }}`. */
  readonly defs: ReadonlyMap<string, Template>;
}

/** What a dialect of the language allows. */
export interface Dialect {
  /** Names of the functions templates may call (unknown names fail to parse). */
  readonly funcs: ReadonlySet<string> | { readonly [name: string]: unknown };
  /** Variables declared before the text starts (`$` always is). @default ["$"] */
  readonly vars?: readonly string[];
  /** Whether `define`, `template` and `block` are allowed. @default false */
  readonly defines?: boolean;
}

/** Go's `strconv.ParseInt(s, 0, 64)` for a template number; undefined if not an int. */
function parseIntLiteral(s: string): bigint | undefined {
  let t = s.replaceAll("_", "");
  let neg = false;
  if (t[0] === "+" || t[0] === "-") {
    neg = t[0] === "-";
    t = t.slice(1);
  }
  if (/^0[0-7]+$/.test(t)) t = "0o" + t.slice(1);
  if (!/^(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)$/.test(t)) return undefined;
  const v = BigInt(t);
  return neg ? -v : v;
}

function numberArg(tk: Tok): Arg {
  const s = tk.s;
  if (s.endsWith("i")) throw new TemplateParseError(`complex numbers are not supported`, tk.at);
  const int = parseIntLiteral(s);
  if (int !== undefined) {
    if (int > 9223372036854775807n || int < -9223372036854775808n) {
      throw new TemplateParseError(`integer overflow: ${JSON.stringify(s)}`, tk.at);
    }
    return { k: "num", int, float: Number(int), isFloat: false, src: s };
  }
  if (/^[+-]?0[xX]/.test(s) || s.includes("_")) {
    throw new TemplateParseError(`illegal number syntax: ${JSON.stringify(s)}`, tk.at);
  }
  const f = Number(s);
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s) || Number.isNaN(f)) {
    throw new TemplateParseError(`illegal number syntax: ${JSON.stringify(s)}`, tk.at);
  }
  const whole = Number.isInteger(f) && Math.abs(f) < 2 ** 63 ? BigInt(f) : undefined;
  return { k: "num", int: whole, float: f, isFloat: true, src: s };
}

class Parser {
  #items: Item[];
  #pos = 0;
  #vars: string[];
  #rangeDepth = 0;
  /** Nesting of `if`/`with`/`range`; `define` is allowed at the top only. */
  #depth = 0;
  readonly defs = new Map<string, Template>();

  constructor(readonly src: string, readonly dialect: Dialect) {
    this.#items = scan(src);
    this.#vars = this.#rootVars();
  }

  #rootVars(): string[] {
    return ["$", ...(this.dialect.vars ?? []).filter((v) => v !== "$")];
  }

  #hasFunc(name: string): boolean {
    const f = this.dialect.funcs;
    return f instanceof Set ? f.has(name) : Object.hasOwn(f, name);
  }

  parse(): Node[] {
    const { nodes, stop } = this.#list();
    if (stop) throw new TemplateParseError(`unexpected {{${stop.toks[0]!.s}}}`, stop.at);
    return nodes;
  }

  /** `{{ define "name" }}...{{ end }}`: a template of its own, with only `$` in scope. */
  #define(toks: Tok[], at: number): void {
    if (this.#depth > 0) throw new TemplateParseError("unexpected {{define}}", at);
    const name = this.#templateName(toks, "define", at);
    if (toks.length > 2) {
      throw new TemplateParseError(`unexpected ${toks[2]!.s} in define clause`, toks[2]!.at);
    }
    this.#body(name, at);
  }

  /** Parses a body up to its `{{end}}` into a template named `name`. */
  #body(name: string, at: number): void {
    const vars = this.#vars, ranges = this.#rangeDepth;
    this.#vars = ["$"];
    this.#rangeDepth = 0;
    this.#depth++;
    const { nodes, stop } = this.#list();
    this.#depth--;
    this.#vars = vars;
    this.#rangeDepth = ranges;
    if (!stop || stop.toks[0]!.s !== "end") {
      throw new TemplateParseError(
        stop ? `unexpected {{${stop.toks[0]!.s}}} in define` : "unexpected EOF: missing {{end}}",
        stop?.at ?? at,
      );
    }
    this.#endOnly(stop);
    this.#pos++;
    this.defs.set(name, { source: this.src, nodes, defs: this.defs });
  }

  #templateName(toks: Tok[], clause: string, at: number): string {
    const t = toks[1];
    if (t?.t !== "str") {
      throw new TemplateParseError(
        `unexpected ${t ? t.s : "end of action"} in ${clause} clause`,
        t?.at ?? at,
      );
    }
    return t.v!;
  }

  /** `{{ template "name" pipeline }}` (and the call half of `block`). */
  #template(toks: Tok[], clause: string, at: number): Node {
    const name = this.#templateName(toks, clause, at);
    const rest = toks.slice(2);
    const pipe = rest.length > 0 ? this.#pipeline(rest, clause, at) : undefined;
    return { k: "template", name, pipe, at };
  }

  /** Nodes up to (not consuming) an `else` or `end` action, or the end of input. */
  #list(): { nodes: Node[]; stop?: Extract<Item, { k: "action" }> } {
    const nodes: Node[] = [];
    while (this.#pos < this.#items.length) {
      const it = this.#items[this.#pos]!;
      if (it.k === "text") {
        nodes.push({ k: "text", s: it.s });
        this.#pos++;
        continue;
      }
      const first = it.toks[0];
      if (!first) throw new TemplateParseError("missing value for command", it.at);
      if (first.t === "kw" && (first.s === "else" || first.s === "end")) return { nodes, stop: it };
      this.#pos++;
      if (first.t === "kw") {
        const defines = this.dialect.defines ?? false;
        if (first.s === "if" || first.s === "with" || first.s === "range") {
          nodes.push(this.#control(first.s, it.toks.slice(1), it.at));
        } else if (defines && first.s === "define") {
          this.#define(it.toks, it.at);
        } else if (defines && first.s === "template") {
          nodes.push(this.#template(it.toks, "template", it.at));
        } else if (defines && first.s === "block") {
          const call = this.#template(it.toks, "block", it.at);
          this.#body((call as { name: string }).name, it.at);
          nodes.push(call);
        } else if (first.s === "break" || first.s === "continue") {
          if (it.toks.length > 1) {
            throw new TemplateParseError(`unexpected ${it.toks[1]!.s} in {{${first.s}}}`, it.at);
          }
          if (this.#rangeDepth === 0) {
            throw new TemplateParseError(`{{${first.s}}} outside {{range}}`, it.at);
          }
          nodes.push({ k: first.s });
        } else {
          throw new TemplateParseError(`{{${first.s}}} is not supported`, it.at);
        }
      } else {
        nodes.push({ k: "action", pipe: this.#pipeline(it.toks, "command", it.at), at: it.at });
      }
    }
    return { nodes };
  }

  #control(kind: "if" | "with" | "range", toks: Tok[], at: number): Node {
    const mark = this.#vars.length;
    const pipe = this.#pipeline(toks, kind, at);
    if (kind === "range") this.#rangeDepth++;
    this.#depth++;
    const { nodes: body, stop } = this.#list();
    this.#depth--;
    if (kind === "range") this.#rangeDepth--;
    if (!stop) throw new TemplateParseError(`unexpected EOF: missing {{end}} for {{${kind}}}`, at);
    this.#pos++;
    let otherwise: Node[] = [];
    if (stop.toks[0]!.s === "else") {
      const next = stop.toks[1];
      if (next && next.t === "kw" && next.s === kind && kind !== "range") {
        // `else if` / `else with`: a nested control that shares this one's {{end}}.
        otherwise = [this.#control(kind, stop.toks.slice(2), stop.at)];
      } else {
        if (next) throw new TemplateParseError(`unexpected ${next.s} in else`, stop.at);
        this.#depth++;
        const r = this.#list();
        this.#depth--;
        if (!r.stop || r.stop.toks[0]!.s !== "end") {
          throw new TemplateParseError(
            r.stop ? "expected end; found {{else}}" : `unexpected EOF: missing {{end}}`,
            r.stop?.at ?? at,
          );
        }
        this.#endOnly(r.stop);
        this.#pos++;
        otherwise = r.nodes;
      }
    } else this.#endOnly(stop);
    this.#vars.length = mark;
    return { k: kind, pipe, body, otherwise, at };
  }

  #endOnly(it: Extract<Item, { k: "action" }>) {
    if (it.toks.length > 1) {
      throw new TemplateParseError(`unexpected ${it.toks[1]!.s} in end`, it.at);
    }
  }

  #pipeline(toks: Tok[], context: string, at: number): Pipe {
    const cur = { toks, i: 0 };
    const pipe = this.#pipe(cur, context, false, at);
    if (cur.i < toks.length) {
      const tk = toks[cur.i]!;
      throw new TemplateParseError(`unexpected ${tk.s} in ${context}`, tk.at);
    }
    return pipe;
  }

  #pipe(cur: { toks: Tok[]; i: number }, context: string, inParen: boolean, at: number): Pipe {
    const { toks } = cur;
    const decl: string[] = [];
    let isAssign = false;
    const t0 = toks[cur.i], t1 = toks[cur.i + 1];
    if (t0?.t === "var" && (t1?.t === ":=" || t1?.t === "=")) {
      decl.push(t0.s);
      isAssign = t1.t === "=";
      cur.i += 2;
    } else if (t0?.t === "var" && t1?.t === ",") {
      const t2 = toks[cur.i + 2], t3 = toks[cur.i + 3];
      if (context !== "range") {
        throw new TemplateParseError(`too many declarations in ${context}`, t1.at);
      }
      if (t2?.t !== "var" || (t3?.t !== ":=" && t3?.t !== "=")) {
        throw new TemplateParseError("range can only initialize variables", t1.at);
      }
      decl.push(t0.s, t2.s);
      isAssign = t3.t === "=";
      cur.i += 4;
    }
    for (const d of decl) {
      if (isAssign) {
        if (!this.#vars.includes(d)) throw new TemplateParseError(`undefined variable "${d}"`, at);
      } else this.#vars.push(d);
    }
    const cmds: Cmd[] = [];
    for (;;) {
      const start = cur.i;
      const args: Arg[] = [];
      while (cur.i < toks.length) {
        const tk = toks[cur.i]!;
        if (tk.t === "|" || tk.t === ")") break;
        if (args.length > 0 && !tk.sp) {
          throw new TemplateParseError(`unexpected ${tk.s} in operand`, tk.at);
        }
        args.push(this.#operand(cur, at));
      }
      const stopTok = toks[cur.i];
      const cmdAt = toks[start]?.at ?? at;
      if (args.length === 0) throw new TemplateParseError("missing value for command", cmdAt);
      if (cmds.length > 0 && ["lit", "num", "nil", "dot"].includes(args[0]!.k)) {
        throw new TemplateParseError(
          `non executable command in pipeline stage ${cmds.length + 1}`,
          cmdAt,
        );
      }
      const end = stopTok ? stopTok.at : toks[cur.i - 1]!.at + toks[cur.i - 1]!.s.length;
      cmds.push({ args, src: this.src.slice(cmdAt, end).trim(), at: cmdAt });
      if (stopTok?.t !== "|") break;
      cur.i++;
    }
    if (!inParen && toks[cur.i]?.t === ")") {
      throw new TemplateParseError("unexpected right paren", toks[cur.i]!.at);
    }
    return { decl, isAssign, cmds };
  }

  #operand(cur: { toks: Tok[]; i: number }, at: number): Arg {
    const tk = cur.toks[cur.i++]!;
    let arg: Arg;
    switch (tk.t) {
      case "ident":
        if (!this.#hasFunc(tk.s)) {
          throw new TemplateParseError(`function "${tk.s}" not defined`, tk.at);
        }
        arg = { k: "fn", name: tk.s, path: [], src: tk.s };
        break;
      case "dot":
        arg = { k: "dot", src: "." };
        break;
      case "field":
        arg = { k: "field", path: [tk.s.slice(1)], src: tk.s };
        break;
      case "var":
        if (!this.#vars.includes(tk.s)) {
          throw new TemplateParseError(`undefined variable "${tk.s}"`, tk.at);
        }
        arg = { k: "var", name: tk.s, path: [], src: tk.s };
        break;
      case "str":
        arg = { k: "lit", v: tk.v!, src: tk.s };
        break;
      case "char":
        arg = {
          k: "num",
          int: BigInt(tk.v!.codePointAt(0)!),
          float: tk.v!.codePointAt(0)!,
          isFloat: false,
          src: tk.s,
        };
        break;
      case "num":
        arg = numberArg(tk);
        break;
      case "bool":
        arg = { k: "lit", v: tk.s === "true", src: tk.s };
        break;
      case "nil":
        arg = { k: "nil", src: "nil" };
        break;
      case "(": {
        const pipe = this.#pipe(cur, "parenthesized pipeline", true, at);
        const close = cur.toks[cur.i];
        if (close?.t !== ")") throw new TemplateParseError("unclosed left paren", tk.at);
        cur.i++;
        arg = {
          k: "pipe",
          pipe,
          path: [],
          src: this.src.slice(tk.at, close.at + 1),
        };
        break;
      }
      default:
        throw new TemplateParseError(`unexpected ${tk.s} in operand`, tk.at);
    }
    // Field chain: `.a.b` right after the term, with no space.
    while (cur.toks[cur.i]?.t === "field" && !cur.toks[cur.i]!.sp) {
      const f = cur.toks[cur.i++]!;
      if (arg.k === "lit" || arg.k === "num" || arg.k === "nil" || arg.k === "dot") {
        throw new TemplateParseError(`unexpected . after term ${JSON.stringify(arg.src)}`, f.at);
      }
      arg.path.push(f.s.slice(1));
      arg.src += f.s;
    }
    return arg;
  }
}

/**
 * Parses a template in a dialect; throws {@linkcode TemplateParseError} with
 * the position of the problem.
 */
export function parseTemplate(source: string, dialect: Dialect): Template {
  try {
    const p = new Parser(source, dialect);
    const nodes = p.parse();
    return { source, nodes, defs: p.defs };
  } catch (e) {
    if (e instanceof TemplateParseError) throw e;
    // e.g. a stack overflow on absurd nesting
    throw new TemplateParseError(e instanceof Error ? e.message : String(e), 0);
  }
}
