/**
 * Alert label and annotation templates, as Prometheus expands them: Go's
 * `text/template` language with Prometheus's functions. No `eval`: the text is
 * parsed into a tree once and walked at render time.
 *
 * The language: `{{ pipeline }}`, pipelines with `|`, parentheses and field
 * chains (`(first (query "up")).Labels.job`), variables (`$`, `$labels`,
 * `$value`, `$externalLabels`, `$externalURL`, and `{{ $x := … }}` /
 * `{{ $x = … }}`), `if`/`else if`/`else`, `with`/`else with`/`else`,
 * `range` (with `$i, $e :=`, `else`, `break`, `continue`), trim markers and
 * comments. Values are typed as in Go: `1` is an int, `1.0` and `$value` are
 * float64, so `gt $value 1` fails like in Prometheus ("incompatible types
 * for comparison") and `gt $value 1.0` works. A missing label is "".
 *
 * Functions: Go's `and or not len index slice print printf println html js
 * urlquery eq ne lt le gt ge`, and Prometheus's `query first label value
 * strvalue sortByLabel args reReplaceAll match safeHtml title toUpper toLower
 * graphLink tableLink stripPort stripDomain humanize humanize1024
 * humanizeDuration humanizePercentage humanizeTimestamp toTime parseDuration
 * now externalURL pathPrefix`. Regular expressions are RE2 (re2js).
 *
 * `query` runs PromQL at the evaluation time. Rendering stays synchronous:
 * the results come from a {@linkcode TemplateQueries} of the evaluation; a
 * template that asks for a query not fetched yet is rendered again once
 * {@linkcode renderWithQueries} has fetched it.
 *
 * @example
 * ```ts
 * const t = parseTemplate("{{ $labels.instance }} at {{ $value | humanize }}");
 * renderTemplate(t, { labels: { instance: "a" }, value: 1234 }); // "a at 1.234k"
 * ```
 *
 * @module
 */
import { RE2JS } from "re2js";
import { type Labels, labelsToObject, parseDuration } from "../model/mod.ts";
import {
  formatGoTime,
  formatValue,
  GoMap,
  GoStruct,
  GoTime,
  goTypeName,
  type GoValue,
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
  humanizeTimestamp,
  secondsToMs,
  sprint,
  sprintf,
} from "./_format.ts";

/** A template that does not parse; `offset` is the character position in the text. */
export class TemplateParseError extends Error {
  constructor(readonly detail: string, readonly offset: number) {
    super(`Cannot parse template at char ${offset}: ${detail}`);
    this.name = "TemplateParseError";
  }
}

/** A template failed while rendering (bad argument to a function, failed query, …). */
export class TemplateRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateRenderError";
  }
}

/** Thrown by `query` for a result that is not fetched yet; never escapes a render loop. */
class QueryPending extends Error {
  constructor(readonly query: string) {
    super(`query ${JSON.stringify(query)} is not fetched yet`);
    this.name = "QueryPending";
  }
}

/** One sample of a query result, as the `query` function returns it. */
export interface TemplateSample {
  readonly labels: Labels;
  readonly value: number;
}

/**
 * Results of the templates' `query` calls for one evaluation: read
 * synchronously while rendering; queries not fetched yet are recorded and
 * fetched by {@linkcode TemplateQueries.fetch}. Each distinct query runs once.
 */
export class TemplateQueries {
  readonly #run: (query: string) => Promise<readonly TemplateSample[]>;
  readonly #results = new Map<string, readonly TemplateSample[] | Error>();
  readonly #wanted = new Set<string>();
  #final = false;

  /** `run` executes a PromQL query at the evaluation time; a rejection becomes a render error. */
  constructor(run: (query: string) => Promise<readonly TemplateSample[]>) {
    this.#run = run;
  }

  /** The result of `query`; throws while it is not fetched. */
  get(query: string): readonly TemplateSample[] {
    const r = this.#results.get(query);
    if (r instanceof Error) throw r;
    if (r) return r;
    if (this.#final) {
      throw new Error("query result not available: queries built from query results nest too deep");
    }
    this.#wanted.add(query);
    throw new QueryPending(query);
  }

  /** How many queries were asked for and not fetched yet. */
  get wanted(): number {
    return this.#wanted.size;
  }

  /** Runs the queries asked for (one after another, to spare a small box). */
  async fetch(): Promise<void> {
    const qs = [...this.#wanted];
    this.#wanted.clear();
    for (const q of qs) {
      try {
        this.#results.set(q, await this.#run(q));
      } catch (e) {
        this.#results.set(q, e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /** From now on a query not fetched is an error instead of a request. */
  finish(): void {
    this.#final = true;
  }
}

/**
 * Calls `render` (synchronous and free of side effects, e.g. `stepAlerts`)
 * until no template asks for a query result that is not fetched, fetching in
 * between; after `maxRounds` fetches, what is still missing is a render error.
 */
export async function renderWithQueries<T>(
  queries: TemplateQueries,
  render: () => T,
  maxRounds = 3,
): Promise<T> {
  for (let round = 0;; round++) {
    const out = render();
    if (queries.wanted === 0) return out;
    if (round >= maxRounds) {
      queries.finish();
      return render();
    }
    await queries.fetch();
  }
}

/** What a template sees. */
export interface TemplateData {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly externalLabels?: Readonly<Record<string, string>>;
  readonly externalURL?: string;
  /** Evaluation time in ms, for `now`. @default Date.now() */
  readonly time?: number;
  /** Answers `query`; without it `query` is a render error. */
  readonly queries?: TemplateQueries;
}

// ---- syntax tree ----

type Arg =
  | { k: "lit"; v: GoValue; src: string }
  | { k: "num"; int?: bigint; float: number; isFloat: boolean; src: string }
  | { k: "nil"; src: string }
  | { k: "dot"; src: string }
  | { k: "field"; path: string[]; src: string }
  | { k: "var"; name: string; path: string[]; src: string }
  | { k: "fn"; name: string; path: string[]; src: string }
  | { k: "pipe"; pipe: Pipe; path: string[]; src: string };
interface Cmd {
  args: Arg[];
  src: string;
  at: number;
}
interface Pipe {
  decl: string[];
  isAssign: boolean;
  cmds: Cmd[];
}
interface Control {
  k: "if" | "with" | "range";
  pipe: Pipe;
  body: Node[];
  otherwise: Node[];
  at: number;
}
type Node =
  | { k: "text"; s: string }
  | { k: "action"; pipe: Pipe; at: number }
  | Control
  | { k: "break" | "continue" };

/** A parsed template. */
export interface Template {
  readonly source: string;
  readonly nodes: readonly Node[];
}

/** Variables every alert template starts with (Prometheus prepends their definitions). */
const PREDECLARED = ["$", "$labels", "$externalLabels", "$externalURL", "$value"];

// ---- lexing ----

type TokT =
  | "ident"
  | "kw"
  | "field"
  | "var"
  | "str"
  | "char"
  | "num"
  | "bool"
  | "nil"
  | "dot"
  | "("
  | ")"
  | "|"
  | ":="
  | "="
  | ",";
interface Tok {
  t: TokT;
  s: string;
  at: number;
  /** Preceded by white space (fields chain only without it). */
  sp: boolean;
  /** Decoded value of a string or char literal. */
  v?: string;
}
type Item =
  | { k: "text"; s: string }
  | { k: "action"; toks: Tok[]; at: number };

const KEYWORDS = new Set([
  "if",
  "else",
  "end",
  "range",
  "with",
  "define",
  "template",
  "block",
  "break",
  "continue",
]);

const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\r" || c === "\n";
const isAlnum = (c: string | undefined) => c !== undefined && /[\p{L}\p{Nd}_]/u.test(c);

/** Decodes a Go interpreted string or char literal body (between the quotes). */
function unquote(body: string, at: number): string {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = body[++i];
    const simple: Record<string, string> = {
      a: "\x07",
      b: "\b",
      f: "\f",
      n: "\n",
      r: "\r",
      t: "\t",
      v: "\v",
      "\\": "\\",
      '"': '"',
      "'": "'",
    };
    if (n !== undefined && n in simple) out += simple[n];
    else if (n === "x" || n === "u" || n === "U") {
      const len = n === "x" ? 2 : n === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) {
        throw new TemplateParseError("invalid escape in string", at);
      }
      const cp = parseInt(hex, 16);
      if (n === "x") out += String.fromCharCode(cp);
      else if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
        throw new TemplateParseError("invalid Unicode code point in string", at);
      } else out += String.fromCodePoint(cp);
      i += len;
    } else if (n !== undefined && n >= "0" && n <= "7") {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new TemplateParseError("invalid escape in string", at);
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else throw new TemplateParseError("invalid escape in string", at);
  }
  return out;
}

/** Lexes one action from `start` (after `{{` and any trim marker) to its `}}`. */
function lexAction(src: string, start: number, open: number) {
  const toks: Tok[] = [];
  let i = start;
  let sp = true;
  for (;;) {
    if (i >= src.length) throw new TemplateParseError("unclosed action", open);
    if (src.startsWith("}}", i)) return { toks, end: i + 2, trim: false };
    const c = src[i]!;
    if (isSpace(c) && src[i + 1] === "-" && src.startsWith("}}", i + 2)) {
      return { toks, end: i + 4, trim: true };
    }
    if (isSpace(c)) {
      i++;
      sp = true;
      continue;
    }
    const at = i;
    const push = (t: TokT, s: string, v?: string) => {
      toks.push({ t, s, at, sp, v });
      sp = false;
    };
    if (c === "(" || c === ")" || c === "|" || c === "," || c === "=") {
      push(c, c);
      i++;
    } else if (c === ":") {
      if (src[i + 1] !== "=") throw new TemplateParseError("expected :=", at);
      push(":=", ":=");
      i += 2;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') {
        if (src[j] === "\n") break;
        j += src[j] === "\\" ? 2 : 1;
      }
      if (j >= src.length || src[j] !== '"') {
        throw new TemplateParseError("unterminated quoted string", at);
      }
      push("str", src.slice(i, j + 1), unquote(src.slice(i + 1, j), at));
      i = j + 1;
    } else if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0) throw new TemplateParseError("unterminated raw quoted string", at);
      push("str", src.slice(i, j + 1), src.slice(i + 1, j).replaceAll("\r", ""));
      i = j + 1;
    } else if (c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== "'" && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      if (src[j] !== "'") throw new TemplateParseError("unterminated character constant", at);
      const v = unquote(src.slice(i + 1, j), at);
      if ([...v].length !== 1) throw new TemplateParseError("malformed character constant", at);
      push("char", src.slice(i, j + 1), v);
      i = j + 1;
    } else if (c === "$") {
      let j = i + 1;
      while (isAlnum(src[j])) j++;
      push("var", src.slice(i, j));
      i = j;
    } else if (c === "." && !(src[i + 1]! >= "0" && src[i + 1]! <= "9")) {
      let j = i + 1;
      while (isAlnum(src[j])) j++;
      push(j === i + 1 ? "dot" : "field", src.slice(i, j));
      i = j;
    } else if (c === "+" || c === "-" || c === "." || (c >= "0" && c <= "9")) {
      const m =
        /^[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?|0[oObB][0-9_]*|[0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]+)?)i?/
          .exec(src.slice(i, i + 400))!;
      const s = m[0];
      if (s === "" || s === "+" || s === "-" || isAlnum(src[i + s.length])) {
        throw new TemplateParseError(
          `bad number syntax: ${JSON.stringify(src.slice(i, i + 10))}`,
          at,
        );
      }
      push("num", s);
      i += s.length;
    } else if (isAlnum(c)) {
      let j = i;
      while (isAlnum(src[j])) j++;
      const w = src.slice(i, j);
      push(
        KEYWORDS.has(w)
          ? "kw"
          : w === "true" || w === "false"
          ? "bool"
          : w === "nil"
          ? "nil"
          : "ident",
        w,
      );
      i = j;
    } else {
      throw new TemplateParseError(`unrecognized character in action: ${JSON.stringify(c)}`, at);
    }
  }
}

/** Splits `src` into text and actions, applying trim markers and dropping comments. */
function scan(src: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf("{{", i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, "");
    trimNext = false;
    if (open < 0) {
      if (text) items.push({ k: "text", s: text });
      break;
    }
    let a = open + 2;
    if (src[a] === "-" && isSpace(src[a + 1])) {
      text = text.replace(/[ \t\r\n]+$/, "");
      a += 2;
    }
    if (text) items.push({ k: "text", s: text });
    if (src.startsWith("/*", a)) {
      const e = src.indexOf("*/", a + 2);
      if (e < 0) throw new TemplateParseError("unclosed comment", open);
      const k = e + 2;
      if (src.startsWith("}}", k)) i = k + 2;
      else if (isSpace(src[k]) && src[k + 1] === "-" && src.startsWith("}}", k + 2)) {
        i = k + 4;
        trimNext = true;
      } else throw new TemplateParseError("comment ends before closing delimiter", open);
      continue;
    }
    const { toks, end, trim } = lexAction(src, a, open);
    items.push({ k: "action", toks, at: open });
    i = end;
    trimNext = trim;
  }
  return items;
}

// ---- parsing ----

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
  #vars: string[] = [...PREDECLARED];
  #rangeDepth = 0;

  constructor(readonly src: string) {
    this.#items = scan(src);
  }

  parse(): Node[] {
    const { nodes, stop } = this.#list();
    if (stop) throw new TemplateParseError(`unexpected {{${stop.toks[0]!.s}}}`, stop.at);
    return nodes;
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
        if (first.s === "if" || first.s === "with" || first.s === "range") {
          nodes.push(this.#control(first.s, it.toks.slice(1), it.at));
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
    const { nodes: body, stop } = this.#list();
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
        const r = this.#list();
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
        if (!(tk.s in FUNCS)) {
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

/** Parses a template; throws {@linkcode TemplateParseError} with the position of the problem. */
export function parseTemplate(source: string): Template {
  try {
    return { source, nodes: new Parser(source).parse() };
  } catch (e) {
    if (e instanceof TemplateParseError) throw e;
    // e.g. a stack overflow on absurd nesting
    throw new TemplateParseError(e instanceof Error ? e.message : String(e), 0);
  }
}

// ---- functions ----

type ParamType = "any" | "string" | "samples" | "sample";
interface Fn {
  params: ParamType[];
  variadic?: ParamType;
  call(args: GoValue[], x: Exec): GoValue;
}

/** A function's own failure; reported as `error calling <name>: …`. */
class FnError extends Error {}

const SAMPLE_TYPE = "*template.sample";
const STRING_MAP = "map[string]string";

function labelMap(o: Readonly<Record<string, string>>): GoMap {
  return new GoMap(STRING_MAP, new Map(Object.entries(o)), "");
}

function toSample(s: TemplateSample): GoStruct {
  return new GoStruct(SAMPLE_TYPE, {
    Labels: labelMap(labelsToObject(s.labels)),
    Value: s.value,
  });
}

function sampleField(s: GoValue, f: "Labels" | "Value"): GoValue {
  if (!(s instanceof GoStruct)) {
    throw new FnError("invalid memory address or nil pointer dereference");
  }
  return s.fields[f];
}

/** Go's `strconv.ParseFloat(s, 64)`. */
function parseGoFloat(s: string): number {
  const err = (why: string) =>
    new FnError(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: ${why}`);
  const m = /^([+-]?)(inf|infinity)$/i.exec(s);
  if (m) return m[1] === "-" ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) throw err("invalid syntax");
  const v = Number(s);
  if (!Number.isFinite(v)) throw err("value out of range");
  return v;
}

/** Prometheus's `convertToFloat`. */
function toFloat(v: GoValue): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return parseGoFloat(v);
  if (typeof v === "bigint") return Number(v);
  throw new FnError(`can't convert ${goTypeName(v)} to float`);
}

function truth(v: GoValue): boolean {
  if (v === undefined || v === null) return false;
  switch (typeof v) {
    case "string":
      return v.length > 0;
    case "number":
      return v !== 0;
    case "bigint":
      return v !== 0n;
    case "boolean":
      return v;
  }
  if (v instanceof GoMap) return v.entries.size > 0;
  if (Array.isArray(v)) return v.length > 0;
  return true; // non-nil pointers
}

type Kind = "bool" | "int" | "float" | "string" | "invalid" | "ptr" | "map" | "slice";
function kindOf(v: GoValue): Kind {
  if (v === undefined || v === null) return "invalid";
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
      return "float";
    case "bigint":
      return "int";
    case "boolean":
      return "bool";
  }
  if (v instanceof GoMap) return "map";
  if (Array.isArray(v)) return "slice";
  return "ptr";
}

function eq(a: GoValue, rest: GoValue[]): boolean {
  if (rest.length === 0) throw new FnError("missing argument for comparison");
  const k1 = kindOf(a);
  for (const b of rest) {
    const k2 = kindOf(b);
    let t = false;
    if (k1 !== k2) {
      if (k1 !== "invalid" && k2 !== "invalid") {
        throw new FnError("incompatible types for comparison");
      }
    } else if (k1 === "map" || k1 === "slice") {
      throw new FnError(`non-comparable type ${formatValue(a)}: ${goTypeName(a)}`);
    } else t = k1 === "invalid" || a === b;
    if (t) return true;
  }
  return false;
}

function lt(a: GoValue, b: GoValue): boolean {
  const k1 = kindOf(a), k2 = kindOf(b);
  const basic = (k: Kind) => k === "int" || k === "float" || k === "string" || k === "bool";
  if (!basic(k1) || !basic(k2)) throw new FnError("invalid type for comparison");
  if (k1 !== k2) throw new FnError("incompatible types for comparison");
  if (k1 === "bool") throw new FnError("invalid type for comparison");
  return (a as number) < (b as number);
}

const ENC = new TextEncoder();

/** Go's `url.QueryEscape`. */
function queryEscape(s: string): string {
  let out = "";
  for (const b of ENC.encode(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

function htmlEscape(s: string): string {
  return s.replace(
    /[<>&'"\0]/g,
    (c) =>
      ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;", "\0": "\ufffd" })[c]!,
  );
}

function jsEscape(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\" || ch === "'" || ch === '"') out += "\\" + ch;
    else if ("<>&=".includes(ch) || cp < 0x20) {
      out += "\\u" + cp.toString(16).toUpperCase().padStart(4, "0");
    } else out += ch;
  }
  return out;
}

/** Go's `net.SplitHostPort`; undefined where it fails. */
function splitHostPort(hp: string): { host: string; port: string } | undefined {
  const i = hp.lastIndexOf(":");
  if (i < 0) return undefined;
  let host: string;
  if (hp[0] === "[") {
    const end = hp.indexOf("]");
    if (end < 0 || end + 1 !== i) return undefined;
    host = hp.slice(1, end);
    if (host.includes("[") || host.includes("]")) return undefined;
  } else {
    host = hp.slice(0, i);
    if (host.includes(":") || host.includes("[") || host.includes("]")) return undefined;
  }
  const port = hp.slice(i + 1);
  if (port.includes("[") || port.includes("]")) return undefined;
  return { host, port };
}

/** Whether Go's `net.ParseIP` accepts `s`. */
function isIP(s: string): boolean {
  if (/^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(s)) {
    return true;
  }
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return false;
  const parts = s.split("::");
  if (parts.length > 2) return false;
  const groups = parts.flatMap((p) => (p === "" ? [] : p.split(":")));
  let n = 0;
  for (const [k, g] of groups.entries()) {
    if (k === groups.length - 1 && g.includes(".")) {
      if (!isIP(g) || g.includes(":")) return false;
      n += 2;
    } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) n++;
    else return false;
  }
  return parts.length === 2 ? n < 8 : n === 8;
}

/** Go's `strings.ToUpper`/`ToLower`: simple per-rune case mapping. */
function mapCase(s: string, upper: boolean): string {
  let out = "";
  for (const ch of s) {
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += [...m].length === 1 ? m : ch;
  }
  return out;
}

/** Title case as `cases.Title(language.AmericanEnglish, cases.NoLower)` does for common text. */
function titleCase(s: string): string {
  return s.replace(
    /(^|[^\p{L}\p{M}\p{N}_'’.:])(\p{Ll})|((?:^|[^\p{L}\p{M}\p{N}_])[.:'’])(\p{Ll})/gu,
    (_m, p1, c1, p2, c2) => p1 !== undefined ? p1 + mapCase(c1, true) : p2 + mapCase(c2, true),
  );
}

const RE_CACHE = new Map<string, RE2JS | Error>();

function compileRegexp(pattern: string): RE2JS {
  let re = RE_CACHE.get(pattern);
  if (!re) {
    try {
      re = RE2JS.compile(pattern);
    } catch (e) {
      re = new Error(`error parsing regexp: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (RE_CACHE.size >= 256) RE_CACHE.clear();
    RE_CACHE.set(pattern, re);
  }
  if (re instanceof Error) throw new FnError(re.message);
  return re;
}

/** Go's `Regexp.Expand` of `$1`, `${1}`, `$name`, `${name}`, `$$` for one match. */
function expandReplacement(
  tmpl: string,
  group: (i: number) => string,
  named: Record<string, number>,
): string {
  let out = "";
  let rest = tmpl;
  for (;;) {
    const i = rest.indexOf("$");
    if (i < 0) break;
    out += rest.slice(0, i);
    rest = rest.slice(i);
    if (rest[1] === "$") {
      out += "$";
      rest = rest.slice(2);
      continue;
    }
    const brace = rest[1] === "{";
    const m = (brace ? /^\$\{([\p{L}\p{Nd}_]+)\}/u : /^\$([\p{L}\p{Nd}_]+)/u).exec(rest);
    if (!m) {
      out += "$";
      rest = rest.slice(1);
      continue;
    }
    rest = rest.slice(m[0].length);
    const name = m[1]!;
    if (/^\d+$/.test(name) && !(name.length > 1 && name[0] === "0") && name.length < 9) {
      out += group(Number(name));
    } else if (name in named) out += group(named[name]!);
  }
  return out + rest;
}

/** Go's `Regexp.ReplaceAllString`. */
function replaceAll(re: RE2JS, src: string, repl: string): string {
  const m = re.matcher(src);
  const named = re.namedGroups();
  const groups = re.groupCount();
  const group = (i: number) => (i <= groups ? m.group(i) ?? "" : "");
  let out = "";
  let lastEnd = 0;
  let pos = 0;
  while (pos <= src.length) {
    if (!m.find(pos)) break;
    const a0 = m.start(), a1 = m.end();
    out += src.slice(lastEnd, a0);
    // An empty match right after a match is not replaced (Go's rule).
    if (a1 > lastEnd || a0 === 0) out += expandReplacement(repl, group, named);
    lastEnd = a1;
    const cp = src.codePointAt(pos);
    const width = cp !== undefined && cp > 0xffff ? 2 : 1;
    if (pos + width > a1) pos += width;
    else if (pos + 1 > a1) pos++;
    else pos = a1;
  }
  return out + src.slice(lastEnd);
}

function pathOf(url: string): string {
  const m = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?(?:\/\/[^/?#]*)?([^?#]*)/.exec(url);
  const p = m?.[1] ?? "";
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function humanizing(f: (v: number) => string): Fn {
  return { params: ["any"], call: ([v]) => f(toFloat(v)) };
}

const S: ParamType = "string";
const FUNCS: Record<string, Fn> = {
  // Go's builtins (and/or are short-circuited by the evaluator).
  and: { params: ["any"], variadic: "any", call: () => undefined },
  or: { params: ["any"], variadic: "any", call: () => undefined },
  not: { params: ["any"], call: ([v]) => !truth(v) },
  len: {
    params: ["any"],
    call: ([v]) => {
      if (typeof v === "string") return BigInt(ENC.encode(v).length);
      if (Array.isArray(v)) return BigInt(v.length);
      if (v instanceof GoMap) return BigInt(v.entries.size);
      throw new FnError(`len of type ${goTypeName(v)}`);
    },
  },
  index: {
    params: ["any"],
    variadic: "any",
    call: ([item, ...idx]) => {
      if (item === null || item === undefined) throw new FnError("index of untyped nil");
      for (const k of idx) {
        if (Array.isArray(item) || typeof item === "string") {
          if (typeof k !== "bigint") {
            throw new FnError(`cannot index slice/array with type ${goTypeName(k)}`);
          }
          const len = typeof item === "string" ? ENC.encode(item).length : item.length;
          if (k < 0n || k >= BigInt(len)) throw new FnError(`index out of range: ${k}`);
          item = typeof item === "string"
            ? BigInt(ENC.encode(item)[Number(k)]!)
            : (item as readonly GoValue[])[Number(k)];
        } else if (item instanceof GoMap) {
          if (typeof k !== "string") {
            throw new FnError(`value has type ${goTypeName(k)}; should be string`);
          }
          item = item.entries.has(k) ? item.entries.get(k) : item.zero;
        } else if (item === null) throw new FnError("index of nil pointer");
        else throw new FnError(`can't index item of type ${goTypeName(item)}`);
      }
      return item;
    },
  },
  slice: {
    params: ["any"],
    variadic: "any",
    call: ([item, ...idx]) => {
      if (typeof item !== "string" && !Array.isArray(item)) {
        throw new FnError(`can't slice item of type ${goTypeName(item)}`);
      }
      if (idx.length > (typeof item === "string" ? 2 : 3)) {
        throw new FnError(`too many slice indexes: ${idx.length}`);
      }
      const len = item.length;
      const ix = idx.map((k) => {
        if (typeof k !== "bigint") {
          throw new FnError(`cannot index slice/array with type ${goTypeName(k)}`);
        }
        if (k < 0n || k > BigInt(len)) throw new FnError(`index out of range: ${k}`);
        return Number(k);
      });
      const [lo = 0, hi = len] = ix;
      if (lo > hi) throw new FnError(`invalid slice index: ${lo} > ${hi}`);
      return item.slice(lo, hi);
    },
  },
  print: { params: [], variadic: "any", call: (a) => sprint(a) },
  println: {
    params: [],
    variadic: "any",
    call: (a) => a.map((v) => formatValue(v)).join(" ") + "\n",
  },
  printf: { params: [S], variadic: "any", call: ([f, ...a]) => sprintf(f as string, a) },
  html: { params: [], variadic: "any", call: (a) => htmlEscape(sprint(a)) },
  js: { params: [], variadic: "any", call: (a) => jsEscape(sprint(a)) },
  urlquery: { params: [], variadic: "any", call: (a) => queryEscape(sprint(a)) },
  eq: { params: ["any"], variadic: "any", call: ([a, ...b]) => eq(a, b) },
  ne: { params: ["any", "any"], call: ([a, b]) => !eq(a, [b]) },
  lt: { params: ["any", "any"], call: ([a, b]) => lt(a, b) },
  le: { params: ["any", "any"], call: ([a, b]) => lt(a, b) || eq(a, [b]) },
  gt: { params: ["any", "any"], call: ([a, b]) => !(lt(a, b) || eq(a, [b])) },
  ge: { params: ["any", "any"], call: ([a, b]) => !lt(a, b) },

  // Prometheus's.
  query: {
    params: [S],
    call: ([q], x) => {
      const qs = x.data.queries;
      if (!qs) throw new FnError("queries are not available here");
      try {
        return qs.get(q as string).map(toSample);
      } catch (e) {
        if (e instanceof QueryPending) throw e;
        throw new FnError(e instanceof Error ? e.message : String(e));
      }
    },
  },
  first: {
    params: ["samples"],
    call: ([v]) => {
      const a = v as readonly GoValue[];
      if (a.length === 0) throw new FnError("first() called on vector with no elements");
      return a[0];
    },
  },
  label: {
    params: [S, "sample"],
    call: ([l, s]) => {
      const m = sampleField(s, "Labels") as GoMap;
      return m.entries.get(l as string) ?? "";
    },
  },
  value: { params: ["sample"], call: ([s]) => sampleField(s, "Value") },
  strvalue: {
    params: ["sample"],
    call: ([s]) => (sampleField(s, "Labels") as GoMap).entries.get("__value__") ?? "",
  },
  sortByLabel: {
    params: [S, "samples"],
    call: ([l, v]) => {
      const key = (s: GoValue) =>
        ((s as GoStruct | null)?.fields.Labels as GoMap | undefined)?.entries.get(l as string) ??
          "";
      return [...(v as readonly GoValue[])].sort((a, b) => {
        const x = key(a), y = key(b);
        return x < y ? -1 : x > y ? 1 : 0;
      });
    },
  },
  args: {
    params: [],
    variadic: "any",
    call: (a) =>
      new GoMap("map[string]interface {}", new Map(a.map((v, i) => [`arg${i}`, v])), null),
  },
  reReplaceAll: {
    params: [S, S, S],
    call: ([p, r, t]) => {
      let re: RE2JS;
      try {
        re = compileRegexp(p as string);
      } catch (e) {
        throw new FnError(`regexp: Compile(${JSON.stringify(p)}): ${(e as Error).message}`);
      }
      return replaceAll(re, t as string, r as string);
    },
  },
  match: { params: [S, S], call: ([p, s]) => compileRegexp(p as string).test(s as string) },
  safeHtml: { params: [S], call: ([s]) => s },
  title: { params: [S], call: ([s]) => titleCase(s as string) },
  toUpper: { params: [S], call: ([s]) => mapCase(s as string, true) },
  toLower: { params: [S], call: ([s]) => mapCase(s as string, false) },
  graphLink: { params: [S], call: ([e]) => `/graph?g0.expr=${queryEscape(e as string)}&g0.tab=0` },
  tableLink: { params: [S], call: ([e]) => `/graph?g0.expr=${queryEscape(e as string)}&g0.tab=1` },
  stripPort: {
    params: [S],
    call: ([hp]) => splitHostPort(hp as string)?.host ?? hp,
  },
  stripDomain: {
    params: [S],
    call: ([v]) => {
      const hp = v as string;
      const sp = splitHostPort(hp);
      const host = sp ? sp.host : hp, port = sp ? sp.port : "";
      if (isIP(host)) return hp;
      const h = host.split(".")[0]!;
      if (port === "") return h;
      return (h.includes(":") ? `[${h}]` : h) + ":" + port;
    },
  },
  humanize: humanizing(humanize),
  humanize1024: humanizing(humanize1024),
  humanizeDuration: humanizing(humanizeDuration),
  humanizePercentage: humanizing(humanizePercentage),
  humanizeTimestamp: {
    params: ["any"],
    call: ([v]) => {
      if (v instanceof GoTime) return formatGoTime(v.ms);
      try {
        return humanizeTimestamp(toFloat(v));
      } catch (e) {
        if (e instanceof RangeError) throw new FnError(e.message);
        throw e;
      }
    },
  },
  toTime: {
    params: ["any"],
    call: ([v]) => {
      let ms: number | undefined;
      try {
        ms = secondsToMs(toFloat(v));
      } catch (e) {
        if (e instanceof RangeError) throw new FnError(e.message);
        throw e;
      }
      if (ms === undefined) throw new FnError("value is NaN or Inf");
      return new GoTime(ms);
    },
  },
  parseDuration: {
    params: [S],
    call: ([d]) => {
      const ms = parseDuration(d as string);
      if (ms === undefined) throw new FnError(`not a valid duration string: ${JSON.stringify(d)}`);
      return ms / 1000;
    },
  },
  now: { params: [], call: (_a, x) => (x.data.time ?? Date.now()) / 1000 },
  externalURL: { params: [], call: (_a, x) => x.data.externalURL ?? "" },
  pathPrefix: { params: [], call: (_a, x) => pathOf(x.data.externalURL ?? "") },
};

// ---- execution ----

/** A render may take at most this many steps and produce this much text. */
const MAX_STEPS = 1_000_000;
const MAX_OUTPUT = 1 << 20;

const MISSING = Symbol("missing");
type Final = GoValue | typeof MISSING;
const BREAK = Symbol("break");
const CONTINUE = Symbol("continue");

class Exec {
  vars: { name: string; v: GoValue }[] = [];
  out = "";
  steps = 0;
  /** The command being evaluated, for error messages. */
  cmd: Cmd | undefined;

  constructor(readonly data: TemplateData, readonly src: string) {}

  fail(msg: string, at = this.cmd?.at ?? 0): never {
    let line = 1, col = 1;
    for (let i = 0; i < at && i < this.src.length; i++) {
      if (this.src[i] === "\n") {
        line++;
        col = 1;
      } else col++;
    }
    const where = this.cmd ? ` at <${this.cmd.src}>` : "";
    throw new TemplateRenderError(`${line}:${col}: executing${where}: ${msg}`);
  }

  tick() {
    if (++this.steps > MAX_STEPS) this.fail(`template exceeded ${MAX_STEPS} steps`);
  }

  emit(s: string) {
    this.out += s;
    if (this.out.length > MAX_OUTPUT) this.fail(`template output exceeded ${MAX_OUTPUT} bytes`);
  }

  lookupVar(name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) return this.vars[i]!.v;
    }
    return this.fail(`undefined variable: ${name}`);
  }

  setVar(name: string, v: GoValue) {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.v = v;
        return;
      }
    }
    this.fail(`undefined variable: ${name}`);
  }

  walk(dot: GoValue, nodes: readonly Node[]) {
    for (const n of nodes) {
      this.tick();
      switch (n.k) {
        case "text":
          this.emit(n.s);
          break;
        case "action": {
          const v = this.pipeline(dot, n.pipe);
          if (n.pipe.decl.length === 0) this.emit(printValue(v));
          break;
        }
        case "if":
        case "with": {
          const mark = this.vars.length;
          const v = this.pipeline(dot, n.pipe);
          if (truth(v)) this.walk(n.k === "with" ? v : dot, n.body);
          else this.walk(dot, n.otherwise);
          this.vars.length = mark;
          break;
        }
        case "range":
          this.range(dot, n);
          break;
        case "break":
          throw BREAK;
        case "continue":
          throw CONTINUE;
      }
    }
  }

  range(dot: GoValue, n: Control) {
    const mark = this.vars.length;
    const v = this.commands(dot, n.pipe);
    const { decl, isAssign } = n.pipe;
    if (!isAssign) { for (const d of decl) this.vars.push({ name: d, v: undefined }); }
    const inner = this.vars.length;
    let count = 0;
    const one = (index: GoValue, elem: GoValue): boolean => {
      count++;
      if (decl.length === 1) this.setVar(decl[0]!, elem);
      if (decl.length === 2) {
        this.setVar(decl[0]!, index);
        this.setVar(decl[1]!, elem);
      }
      try {
        this.walk(elem, n.body);
      } catch (e) {
        if (e === BREAK) return false;
        if (e !== CONTINUE) throw e;
      } finally {
        this.vars.length = inner;
      }
      return true;
    };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (!one(BigInt(i), v[i])) break;
    } else if (v instanceof GoMap) {
      for (const k of [...v.entries.keys()].sort()) if (!one(k, v.entries.get(k))) break;
    } else if (typeof v === "bigint") {
      if (decl.length > 1) {
        this.fail(`can't use ${v} to iterate over more than one variable`, n.at);
      }
      for (let i = 0n; i < v; i++) {
        this.tick();
        if (!one(i, i)) break;
      }
    } else if (v !== null && v !== undefined) {
      this.fail(`range can't iterate over ${formatValue(v)}`, n.at);
    }
    if (count === 0) this.walk(dot, n.otherwise);
    this.vars.length = mark;
  }

  /** The pipeline's value, without its declarations. */
  commands(dot: GoValue, pipe: Pipe): GoValue {
    let v: Final = MISSING;
    for (const c of pipe.cmds) v = this.command(dot, c, v);
    return v === MISSING ? undefined : v;
  }

  pipeline(dot: GoValue, pipe: Pipe): GoValue {
    const v = this.commands(dot, pipe);
    for (const d of pipe.decl) {
      if (pipe.isAssign) this.setVar(d, v);
      else this.vars.push({ name: d, v });
    }
    return v;
  }

  command(dot: GoValue, cmd: Cmd, final: Final): GoValue {
    const saved = this.cmd;
    this.cmd = cmd;
    try {
      const first = cmd.args[0]!;
      if (first.k === "fn") {
        const v = this.call(dot, first.name, cmd.args.slice(1), final);
        return this.fields(v, first.path);
      }
      if (first.k === "nil") this.fail("nil is not a command");
      if (cmd.args.length > 1 || final !== MISSING) {
        this.fail(`can't give argument to non-function ${first.src}`);
      }
      return this.value(dot, first);
    } finally {
      this.cmd = saved;
    }
  }

  /** An operand as a value (numbers as Go's ideal constants: int, or float64 when written so). */
  value(dot: GoValue, a: Arg): GoValue {
    switch (a.k) {
      case "lit":
        return a.v;
      case "num":
        if (a.isFloat) return a.float;
        return a.int!;
      case "nil":
        return null;
      case "dot":
        return dot;
      case "field":
        return this.fields(dot, a.path);
      case "var":
        return this.fields(this.lookupVar(a.name), a.path);
      case "pipe":
        return this.fields(this.pipeline(dot, a.pipe), a.path);
      case "fn":
        return this.fields(this.call(dot, a.name, [], MISSING), a.path);
    }
  }

  fields(v: GoValue, path: readonly string[]): GoValue {
    for (const name of path) {
      if (v instanceof GoStruct) {
        if (!(name in v.fields)) this.fail(`can't evaluate field ${name} in type ${v.type}`);
        v = v.fields[name];
      } else if (v instanceof GoMap) {
        v = v.entries.has(name) ? v.entries.get(name) : v.zero;
      } else if (v === null) this.fail(`nil pointer evaluating interface {}.${name}`);
      else if (v === undefined) this.fail(`nil data; no entry for key ${JSON.stringify(name)}`);
      else this.fail(`can't evaluate field ${name} in type ${goTypeName(v)}`);
    }
    return v;
  }

  /** An argument converted to a parameter type, as Go's `evalArg` does. */
  arg(dot: GoValue, a: Arg, t: ParamType): GoValue {
    if (
      t === "string" &&
      (a.k === "num" || a.k === "nil" || (a.k === "lit" && typeof a.v !== "string"))
    ) {
      this.fail(`expected string; found ${a.src}`);
    }
    if (a.k === "nil" && t === "samples") return [];
    return this.check(this.value(dot, a), t);
  }

  check(v: GoValue, t: ParamType): GoValue {
    const ok = t === "any" ||
      (t === "string" && typeof v === "string") ||
      (t === "samples" && Array.isArray(v)) ||
      (t === "sample" && (v === null || (v instanceof GoStruct && v.type === SAMPLE_TYPE)));
    if (!ok) {
      const want = t === "string"
        ? "string"
        : t === "samples"
        ? "template.queryResult"
        : SAMPLE_TYPE;
      this.fail(
        v === undefined
          ? `invalid value; expected ${want}`
          : `wrong type for value; expected ${want}; got ${goTypeName(v)}`,
      );
    }
    return v;
  }

  call(dot: GoValue, name: string, args: readonly Arg[], final: Final): GoValue {
    this.tick();
    const fn = FUNCS[name]!;
    const n = args.length + (final === MISSING ? 0 : 1);
    if (fn.variadic ? n < fn.params.length : n !== fn.params.length) {
      this.fail(
        `wrong number of args for ${name}: want ${
          fn.variadic ? "at least " : ""
        }${fn.params.length} got ${n}`,
      );
    }
    const typeAt = (i: number) => fn.params[i] ?? fn.variadic!;
    if (name === "and" || name === "or") {
      let v: GoValue = undefined;
      for (const a of args) {
        v = this.value(dot, a);
        if (truth(v) === (name === "or")) return v;
      }
      return final === MISSING ? v : final;
    }
    const vals = args.map((a, i) => this.arg(dot, a, typeAt(i)));
    if (final !== MISSING) vals.push(this.check(final, typeAt(args.length)));
    try {
      return fn.call(vals, this);
    } catch (e) {
      if (e instanceof FnError) this.fail(`error calling ${name}: ${e.message}`);
      throw e;
    }
  }
}

/** How `{{ v }}` prints a value (text/template's printValue). */
function printValue(v: GoValue): string {
  if (v === undefined) return "<no value>";
  if (v instanceof GoStruct && v.type.startsWith("*")) {
    return formatValue(new GoStruct(v.type.slice(1), v.fields));
  }
  return formatValue(v);
}

const ROOT_TYPE =
  "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";

/** Renders a parsed template; throws {@linkcode TemplateRenderError} when it fails. */
export function renderTemplate(t: Template, d: TemplateData): string {
  const root = new GoStruct(ROOT_TYPE, {
    Labels: labelMap(d.labels),
    ExternalLabels: labelMap(d.externalLabels ?? {}),
    ExternalURL: d.externalURL ?? "",
    Value: d.value,
  });
  const x = new Exec(d, t.source);
  x.vars.push(
    { name: "$", v: root },
    { name: "$labels", v: root.fields.Labels },
    { name: "$externalLabels", v: root.fields.ExternalLabels },
    { name: "$externalURL", v: root.fields.ExternalURL },
    { name: "$value", v: root.fields.Value },
  );
  try {
    x.walk(root, t.nodes);
  } catch (e) {
    if (e instanceof TemplateRenderError || e instanceof QueryPending) throw e;
    // A bug or a stack overflow must not take the evaluation down.
    throw new TemplateRenderError(e instanceof Error ? e.message : String(e));
  }
  return x.out;
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
 * Renders `source` (parsed once and cached). On any error returns the raw
 * text plus a note, and the error, so the caller can log and count it. A
 * query result that is not fetched yet is reported like an error; under
 * {@linkcode renderWithQueries} that pass is discarded.
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
