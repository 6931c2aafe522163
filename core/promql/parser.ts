/**
 * The PromQL parser: recursive descent with Prometheus's operator precedence
 * (`or` < `and`/`unless` < comparisons < `+ -` < `* / % atan2` < unary < `^`,
 * all left-associative except the right-associative `^`), followed by the same
 * type checks Prometheus runs (`checkAST`, in check.ts). Errors are {@linkcode PromQLParseError}
 * with Prometheus's wording, e.g. `1:14: parse error: unexpected "}" in label
 * matching, expected string`.
 *
 * @module
 */
import {
  goQuote,
  type Matcher,
  type MatchType,
  METRIC_NAME,
  newMatcher,
  unquoteString,
} from "../model/mod.ts";
import {
  AGGREGATE_OPS,
  AGGREGATE_PARAM_TYPES,
  type AggregateExpr,
  type AggregateOp,
  type AtModifier,
  type BinaryExpr,
  type BinaryOp,
  type Expr,
  FUNCTIONS,
  type MatrixSelector,
  type Mutable,
  type PosRange,
  type SubqueryExpr,
  type VectorMatchCardinality,
  type VectorSelector,
} from "./ast.ts";
import { checkAST, checkNesting, MAX_NESTING, NESTING_MESSAGE } from "./check.ts";
import { describeToken, KEYWORD_WORDS, lex, type Token } from "./lexer.ts";
import { parseDuration, parseNumber } from "./literals.ts";
import { PromQLParseError } from "./parse_error.ts";

export { PromQLParseError };

/**
 * Parses and type-checks a PromQL expression.
 * @throws {PromQLParseError} on any syntax or type error.
 * @example
 * ```ts
 * const e = parseExpr('sum by (job) (rate(http_requests_total[5m]))');
 * e.type; // "AggregateExpr"
 * ```
 */
export function parseExpr(input: string): Expr {
  const p = new Parser(input);
  const expr = p.parseTop();
  // Chains of binary operators nest without recursion in the parser; the
  // evaluator and the checks below recurse, so bound the tree's depth too.
  checkNesting(input, expr);
  checkAST(input, expr);
  sources.set(expr, input);
  return expr;
}

/** The text each tree that {@linkcode parseExpr} returned was parsed from. */
const sources = new WeakMap<Expr, string>();

/** The query text `expr` was parsed from, when it is a tree {@linkcode parseExpr} returned. */
export function sourceOf(expr: Expr): string | undefined {
  return sources.get(expr);
}

// Binary operator precedence, higher binds tighter.
const PRECEDENCE: Record<string, number> = {
  or: 1,
  and: 2,
  unless: 2,
  "==": 3,
  "!=": 3,
  "<=": 3,
  "<": 3,
  ">=": 3,
  ">": 3,
  "</": 3,
  ">/": 3,
  "+": 4,
  "-": 4,
  "*": 5,
  "/": 5,
  "%": 5,
  atan2: 5,
  "^": 6,
};
const POW_PRECEDENCE = 6;

/** Keywords that may still name a metric (`metric_identifier` in Prometheus's grammar). */
const NAME_KEYWORDS = new Set([
  ...AGGREGATE_OPS,
  "by",
  "without",
  "offset",
  "and",
  "or",
  "unless",
  "start",
  "end",
]);
const MATCH_OPS = new Set(["=", "!=", "=~", "!~"]);
const LEGACY_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

class Parser {
  private readonly tokens: Token[];
  private i = 0;
  private depth = 0;

  constructor(private readonly input: string) {
    this.tokens = lex(input);
  }

  parseTop(): Expr {
    if (this.peek().kind === "EOF") {
      this.error({ start: 0, end: 0 }, "no expression found in input");
    }
    const e = this.parseBinary(0);
    if (this.peek().kind !== "EOF") this.unexpected();
    return e;
  }

  // ---- token helpers ----

  private peek(off = 0): Token {
    return this.tokens[Math.min(this.i + off, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind === "ERROR") this.error({ start: t.pos, end: t.end }, t.text);
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  private error(pos: PosRange, msg: string): never {
    throw new PromQLParseError(this.input, pos, msg);
  }

  /** Throws "unexpected <token>[ in <context>][, expected <what>]" at the next token. */
  private unexpected(context = "", expected = ""): never {
    const t = this.peek();
    if (t.kind === "ERROR") this.error({ start: t.pos, end: t.end }, t.text);
    let msg = `unexpected ${describeToken(t)}`;
    if (context) msg += ` in ${context}`;
    if (expected) msg += `, expected ${expected}`;
    this.error({ start: t.pos, end: t.end }, msg);
  }

  private expect(kind: string, context: string, expected: string): Token {
    if (this.peek().kind !== kind) this.unexpected(context, expected);
    return this.next();
  }

  // ---- expressions ----

  private parseBinary(minPrec: number): Expr {
    if (++this.depth > MAX_NESTING) {
      const t = this.peek();
      this.error({ start: t.pos, end: t.end }, NESTING_MESSAGE);
    }
    try {
      return this.parseBinaryChain(minPrec);
    } finally {
      this.depth--;
    }
  }

  private parseBinaryChain(minPrec: number): Expr {
    let lhs = this.parseUnary();
    for (;;) {
      const opTok = this.peek();
      const prec = PRECEDENCE[opTok.kind];
      if (prec === undefined || prec < minPrec) return lhs;
      this.next();
      const mods = this.parseBinModifiers();
      const rhs = this.parseBinary(opTok.kind === "^" ? prec : prec + 1);
      const node: BinaryExpr = {
        type: "BinaryExpr",
        op: opTok.kind as BinaryOp,
        lhs,
        rhs,
        returnBool: mods.returnBool,
        matching: { card: mods.card, on: mods.on, labels: mods.labels, include: mods.include },
        pos: { start: lhs.pos.start, end: rhs.pos.end },
      };
      lhs = node;
    }
  }

  private parseBinModifiers() {
    let returnBool = false, on = false;
    let card: VectorMatchCardinality = "one-to-one";
    let labels: string[] = [], include: string[] = [];
    if (this.peek().kind === "bool") {
      this.next();
      returnBool = true;
    }
    const k = this.peek().kind;
    if (k === "on" || k === "ignoring") {
      this.next();
      on = k === "on";
      labels = this.parseGroupingLabels();
      const g = this.peek().kind;
      if (g === "group_left" || g === "group_right") {
        this.next();
        card = g === "group_left" ? "many-to-one" : "one-to-many";
        if (this.peek().kind === "(") include = this.parseGroupingLabels();
      }
    }
    return { returnBool, on, card, labels, include };
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (t.kind === "+" || t.kind === "-") {
      this.next();
      // Unary binds like `*`: looser than `^`, tighter than everything else.
      const operand = this.parseBinary(POW_PRECEDENCE);
      const pos = { start: t.pos, end: operand.pos.end };
      if (operand.type === "NumberLiteral") {
        return { ...operand, value: t.kind === "-" ? -operand.value : operand.value, pos };
      }
      return { type: "UnaryExpr", op: t.kind, expr: operand, pos };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case "NUMBER": {
        this.next();
        let value: number;
        try {
          value = parseNumber(t.text);
        } catch (e) {
          this.error(range(t), `error parsing number: ${(e as Error).message}`);
        }
        return { type: "NumberLiteral", value, pos: range(t) };
      }
      case "DURATION": {
        this.next();
        return {
          type: "NumberLiteral",
          value: this.durationMs(t) / 1000,
          duration: true,
          pos: range(t),
        };
      }
      case "STRING":
        this.next();
        return { type: "StringLiteral", value: this.unquote(t), pos: range(t) };
      case "(": {
        this.next();
        const expr = this.parseBinary(0);
        if (this.peek().kind !== ")") this.unexpected();
        const close = this.next();
        return { type: "ParenExpr", expr, pos: { start: t.pos, end: close.end } };
      }
      case "{":
        return this.parseVectorSelector(undefined);
      case "IDENT":
        if (this.peek(1).kind === "(") return this.parseCall();
        return this.parseVectorSelector(this.next());
      case "METRIC_IDENT":
        return this.parseVectorSelector(this.next());
    }
    if ((t.kind === "start" || t.kind === "end") && this.peek(1).kind === "(") {
      return this.parseCall();
    }
    if (AGGREGATE_OPS.has(t.kind)) {
      const n = this.peek(1).kind;
      if (n === "(" || n === "by" || n === "without") return this.parseAggregate();
    }
    if (NAME_KEYWORDS.has(t.kind)) return this.parseVectorSelector(this.next());
    this.unexpected();
  }

  private parseCall(): Expr {
    const name = this.next();
    const { args, end } = this.parseCallBody();
    if (!Object.hasOwn(FUNCTIONS, name.text)) {
      this.error(range(name), `unknown function with name ${goQuote(name.text)}`);
    }
    return { type: "Call", func: name.text, args, pos: { start: name.pos, end } };
  }

  /** Parses `( expr, ... )`, returning the args and the end offset of `)`. */
  private parseCallBody(): { args: Expr[]; end: number } {
    this.next(); // "("
    const args: Expr[] = [];
    if (this.peek().kind !== ")") {
      for (;;) {
        args.push(this.parseBinary(0));
        if (this.peek().kind === ",") {
          const comma = this.next();
          if (this.peek().kind === ")") {
            this.error(range(comma), "trailing commas not allowed in function call args");
          }
          continue;
        }
        if (this.peek().kind !== ")") this.unexpected();
        break;
      }
    }
    return { args, end: this.next().end };
  }

  private parseAggregate(): Expr {
    const opTok = this.next();
    const op = opTok.kind as AggregateOp;
    let grouping: string[] | undefined;
    let without = false;
    const modifier = () => {
      without = this.next().kind === "without";
      grouping = this.parseGroupingLabels();
    };
    if (this.peek().kind === "by" || this.peek().kind === "without") modifier();
    if (this.peek().kind !== "(") this.unexpected("aggregation");
    const { args, end } = this.parseCallBody();
    if (grouping === undefined && (this.peek().kind === "by" || this.peek().kind === "without")) {
      modifier();
    }
    const pos = { start: opTok.pos, end };
    if (args.length === 0) this.error(pos, "no arguments for aggregate expression provided");
    const want = AGGREGATE_PARAM_TYPES[op] ? 2 : 1;
    if (args.length !== want) {
      this.error(
        pos,
        `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`,
      );
    }
    const node: AggregateExpr = {
      type: "AggregateExpr",
      op,
      expr: args[want - 1],
      grouping: grouping ?? [],
      without,
      pos,
    };
    return want === 2 ? { ...node, param: args[0] } : node;
  }

  /** Parses `( label, ... )` of by/without/on/ignoring/group_x. */
  private parseGroupingLabels(): string[] {
    if (this.peek().kind !== "(") this.unexpected("grouping opts", '"("');
    this.next();
    const labels: string[] = [];
    while (this.peek().kind !== ")") {
      const t = this.peek();
      if (t.kind === "STRING") labels.push(this.unquote(t));
      else if (
        (t.kind === "IDENT" || KEYWORD_WORDS.has(t.kind) || NAME_KEYWORDS.has(t.kind) ||
          t.kind === "atan2") && LEGACY_LABEL.test(t.text)
      ) labels.push(t.text);
      else this.unexpected("grouping opts", "label");
      this.next();
      if (this.peek().kind === ",") this.next();
      else if (this.peek().kind !== ")") this.unexpected("grouping opts", '"," or ")"');
    }
    this.next();
    return labels;
  }

  private parseVectorSelector(nameTok: Token | undefined): VectorSelector {
    const matchers: Matcher[] = [];
    const start = nameTok ? nameTok.pos : this.peek().pos;
    let end = nameTok ? nameTok.end : start;
    if (nameTok) matchers.push(newMatcher("=", METRIC_NAME, nameTok.text));
    if (this.peek().kind === "{") {
      this.next();
      while (this.peek().kind !== "}") {
        matchers.push(this.parseMatcher());
        if (this.peek().kind === ",") this.next();
        else if (this.peek().kind !== "}") this.unexpected("label matching", '"," or "}"');
      }
      end = this.next().end;
    }
    const vs: VectorSelector = { type: "VectorSelector", matchers, offset: 0, pos: { start, end } };
    return nameTok ? { ...vs, name: nameTok.text } : vs;
  }

  private parseMatcher(): Matcher {
    const t = this.peek();
    if (t.kind !== "IDENT" && t.kind !== "STRING") {
      this.unexpected("label matching", 'identifier or "}"');
    }
    this.next();
    const name = t.kind === "STRING" ? this.unquote(t) : t.text;
    if (t.kind === "STRING" && !MATCH_OPS.has(this.peek().kind)) {
      return newMatcher("=", METRIC_NAME, name); // {"utf8.metric.name"}
    }
    if (!MATCH_OPS.has(this.peek().kind)) {
      this.unexpected("label matching", "label matching operator");
    }
    const op = this.next().kind as MatchType;
    const v = this.expect("STRING", "label matching", "string");
    const value = this.unquote(v);
    try {
      return newMatcher(op, name, value);
    } catch (e) {
      // Report as Go does ("error parsing regexp: missing closing ): `(`"), without
      // the anchoring wrapper the matcher adds around the pattern.
      const cause = (e as Error).cause;
      const text = cause instanceof Error ? cause.message : (e as Error).message;
      this.error({ start: t.pos, end: v.end }, text.replace(`(?s)^(?:${value})$`, value));
    }
  }

  // ---- postfix: [range], [range:step], offset, @ ----

  private parsePostfix(e: Expr): Expr {
    for (;;) {
      const k = this.peek().kind;
      if (k === "[") e = this.parseRangeOrSubquery(e);
      else if (k === "offset") e = this.parseOffset(e);
      else if (k === "@") e = this.parseAt(e);
      else return e;
    }
  }

  private parseRangeOrSubquery(e: Expr): Expr {
    const open = this.next();
    const t = this.peek();
    if (t.kind === "TIMERANGE") {
      this.next();
      const close = this.expect("]", "subquery or range", '"]"');
      const vs = this.rangeTarget(e, open, close);
      const [a, b] = splitTimeRange(t.text);
      const start = Date.parse(a), endT = Date.parse(b);
      if (!(endT > start)) this.error(range(t), "end of absolute range must be after its start");
      const node: MatrixSelector = {
        type: "MatrixSelector",
        vectorSelector: vs,
        range: endT - start,
        absolute: { start, end: endT },
        pos: { start: e.pos.start, end: close.end },
      };
      return node;
    }
    if (t.kind !== "NUMBER" && t.kind !== "DURATION") {
      this.unexpected("subquery selector", "number or duration");
    }
    const rangeMs = this.durationLiteral(this.next());
    if (this.peek().kind === "]") {
      const close = this.next();
      const vs = this.rangeTarget(e, open, close);
      const node: MatrixSelector = {
        type: "MatrixSelector",
        vectorSelector: vs,
        range: rangeMs,
        pos: { start: e.pos.start, end: close.end },
      };
      return node;
    }
    if (this.peek().kind !== ":") this.unexpected("subquery or range", '":" or "]"');
    this.next();
    let step = 0;
    const s = this.peek();
    if (s.kind === "NUMBER" || s.kind === "DURATION") step = this.durationLiteral(this.next());
    else if (s.kind !== "]") this.unexpected("subquery selector", 'number or duration or "]"');
    const close = this.expect("]", "subquery selector", '"]"');
    const node: SubqueryExpr = {
      type: "SubqueryExpr",
      expr: e,
      range: rangeMs,
      step,
      offset: 0,
      pos: { start: e.pos.start, end: close.end },
    };
    return node;
  }

  private rangeTarget(e: Expr, open: Token, close: Token): VectorSelector {
    const where = { start: open.pos, end: close.end };
    if (e.type !== "VectorSelector") this.error(where, "ranges only allowed for vector selectors");
    if (e.offset !== 0) this.error(where, "no offset modifiers allowed before range");
    if (e.at !== undefined) this.error(where, "no @ modifiers allowed before range");
    return e;
  }

  private parseOffset(e: Expr): Expr {
    this.next();
    let sign = 1;
    if (this.peek().kind === "-") {
      this.next();
      sign = -1;
    }
    const t = this.peek();
    if (t.kind !== "NUMBER" && t.kind !== "DURATION") {
      this.unexpected("offset", "number or duration");
    }
    const ms = sign * this.durationLiteral(this.next());
    return this.setModifier(e, t.end, "offset", ms);
  }

  private parseAt(e: Expr): Expr {
    this.next();
    const t = this.peek();
    if (t.kind === "start" || t.kind === "end") {
      this.next();
      this.expect("(", "@", "timestamp");
      const close = this.expect(")", "@", "timestamp");
      return this.setModifier(e, close.end, "at", t.kind);
    }
    let sign = 1;
    if (t.kind === "-" || t.kind === "+") {
      this.next();
      if (t.kind === "-") sign = -1;
    }
    const n = this.peek();
    if (n.kind !== "NUMBER" && n.kind !== "DURATION") this.unexpected("@", "timestamp");
    this.next();
    const seconds = sign * (n.kind === "NUMBER" ? parseNumber(n.text) : this.durationMs(n) / 1000);
    if (!Number.isFinite(seconds) || Math.abs(seconds) >= 9.223372036854776e18) {
      this.error(e.pos, `timestamp out of bounds for @ modifier: ${goFloat(seconds)}`);
    }
    const ms = Math.sign(seconds) * Math.round(Math.abs(seconds) * 1000);
    return this.setModifier(e, n.end, "at", ms === 0 ? 0 : ms);
  }

  /** Applies `offset` or `@` to a selector or subquery, as Prometheus allows. */
  private setModifier(e: Expr, end: number, which: "offset" | "at", v: number | AtModifier): Expr {
    const what = which === "offset" ? "offset modifier" : "@ modifier";
    let target: Mutable<VectorSelector> | Mutable<SubqueryExpr>;
    let outer: Mutable<Expr>;
    if (e.type === "VectorSelector" || e.type === "SubqueryExpr") {
      target = outer = { ...e };
    } else if (e.type === "MatrixSelector") {
      if (e.absolute) this.error(e.pos, `${what} is not allowed with an absolute time range`);
      target = { ...e.vectorSelector };
      outer = { ...e, vectorSelector: target };
    } else {
      this.error(
        e.pos,
        `${what} must be preceded by an instant vector selector or range vector selector or a subquery`,
      );
    }
    if (which === "offset") {
      if (target.offset !== 0) this.error(e.pos, "offset may not be set multiple times");
      target.offset = v as number;
    } else {
      if (target.at !== undefined) this.error(e.pos, "@ <timestamp> may not be set multiple times");
      target.at = v as AtModifier;
    }
    outer.pos = { start: e.pos.start, end };
    return outer;
  }

  // ---- literals ----

  private durationMs(t: Token): number {
    try {
      return parseDuration(t.text);
    } catch (e) {
      this.error(range(t), (e as Error).message);
    }
  }

  /** A NUMBER (seconds) or DURATION token as ms, as ranges, steps and offsets take them. */
  private durationLiteral(t: Token): number {
    if (t.kind === "DURATION") return this.durationMs(t);
    let seconds: number;
    try {
      seconds = parseNumber(t.text);
    } catch (e) {
      this.error(range(t), `error parsing number: ${(e as Error).message}`);
    }
    if (!Number.isFinite(seconds) || Math.abs(seconds) > 9223372036.854775) {
      this.error(range(t), "duration out of range");
    }
    return Math.trunc(seconds * 1000);
  }

  private unquote(t: Token): string {
    try {
      return unquoteString(t.text);
    } catch (e) {
      this.error(range(t), `error unquoting string ${goQuote(t.text)}: ${(e as Error).message}`);
    }
  }
}

function range(t: Token): PosRange {
  return { start: t.pos, end: t.end };
}

function splitTimeRange(text: string): [string, string] {
  const m = /^\s*(\S+?)\s*:\s*(\d{4}-\S+?)\s*$/.exec(text);
  if (!m) throw new Error(`BUG: lexer produced bad time range ${text}`);
  return [m[1], m[2]];
}

/** Formats a float as Go's `%f`. */
function goFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return v.toFixed(6);
}
