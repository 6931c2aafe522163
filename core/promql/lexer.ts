/**
 * The PromQL lexer: turns query text into tokens, following Prometheus's
 * `promql/parser/lex.go` (modes inside braces and brackets, durations,
 * numbers incl. hex/Inf/NaN, Go string escapes, `#` comments).
 *
 * A lexing error becomes an `ERROR` token that ends the stream, so the parser
 * reports it when it reaches it (as Prometheus does).
 *
 * @module
 */
import { goQuote } from "../model/mod.ts";
import { AGGREGATE_OPS } from "./ast.ts";

/** Token kinds: keyword and operator tokens use their own (lower-case) text. */
export type TokenKind =
  | "IDENT"
  | "METRIC_IDENT"
  | "NUMBER"
  | "DURATION"
  | "STRING"
  | "TIMERANGE"
  | "EOF"
  | "ERROR"
  | "COMMENT"
  | string;

/** One token; `text` is the source text (the message for `ERROR`). */
export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** Offset of the first character. */
  readonly pos: number;
  /** Offset after the last character. */
  readonly end: number;
}

/** Binary-operator keywords. */
const OPERATOR_WORDS = new Set(["and", "or", "unless", "atan2"]);
/** Modifier keywords. */
export const KEYWORD_WORDS: ReadonlySet<string> = new Set([
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
]);
/** `@` preprocessors. */
const PREPROCESSOR_WORDS = new Set(["start", "end"]);

const OPERATOR_KINDS = new Set([
  "+",
  "-",
  "*",
  "/",
  "%",
  "^",
  "==",
  "!=",
  "<=",
  "<",
  ">=",
  ">",
  "</",
  ">/",
  "=~",
  "!~",
  "@",
  "and",
  "or",
  "unless",
  "atan2",
]);

// Perch extension: `[<RFC 3339>:<RFC 3339>]` absolute range.
const RFC3339 = String
  .raw`\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})`;
const TIMERANGE_RE = new RegExp(`^\\s*(${RFC3339})\\s*:\\s*(${RFC3339})\\s*(?=\\])`);

const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r";
const isDigit = (c: string) => c >= "0" && c <= "9";
const isAlpha = (c: string) => c === "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
const isAlnum = (c: string) => isAlpha(c) || isDigit(c);

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** Tokenizes a whole query. The last token is `EOF` or `ERROR`; comments are dropped. */
export function lex(input: string): Token[] {
  return new Lexer(input).run();
}

class Lexer {
  private pos = 0;
  private start = 0;
  private parenDepth = 0;
  private braceOpen = false;
  private bracketOpen = false;
  private gotColon = false;
  private readonly out: Token[] = [];

  constructor(private readonly input: string) {}

  run(): Token[] {
    for (;;) {
      const err = this.braceOpen ? this.insideBraces() : this.statement();
      if (err !== undefined) {
        this.out.push({ kind: "ERROR", text: err, pos: this.start, end: this.input.length });
        return this.out;
      }
      const last = this.out[this.out.length - 1];
      if (last && last.kind === "EOF") return this.out;
    }
  }

  private peek(off = 0): string {
    return this.input.charAt(this.pos + off);
  }

  private emit(kind: TokenKind): void {
    this.out.push({
      kind,
      text: this.input.slice(this.start, this.pos),
      pos: this.start,
      end: this.pos,
    });
    this.start = this.pos;
  }

  private skipSpaces(): undefined {
    while (isSpace(this.peek())) this.pos++;
    this.start = this.pos;
    return undefined;
  }

  private comment(): undefined {
    while (this.pos < this.input.length && this.peek() !== "\n" && this.peek() !== "\r") this.pos++;
    this.start = this.pos; // comments are skipped
    return undefined;
  }

  /** Lexes one token outside braces; returns an error message to stop. */
  private statement(): string | undefined {
    if (this.peek() === "#") return this.comment();
    if (this.pos >= this.input.length) {
      if (this.parenDepth !== 0) return "unclosed left parenthesis";
      if (this.bracketOpen) return "unclosed left bracket";
      this.emit("EOF");
      return undefined;
    }
    const c = this.input[this.pos++];
    if (isSpace(c)) return this.skipSpaces();
    if (this.bracketOpen && !isDigit(c) && !(c === "." && isDigit(this.peek())) && c !== "]") {
      if (c === ":") {
        if (this.gotColon) return `unexpected colon ${goQuote(c, "'")}`;
        this.gotColon = true;
        this.emit(":");
        return undefined;
      }
      if (isAlpha(c)) return `unexpected character: ${goQuote(c, "'")}, expected ':'`;
    }
    switch (c) {
      case ",":
      case "*":
      case "/":
      case "%":
      case "+":
      case "-":
      case "^":
      case "@":
        this.emit(c);
        return undefined;
      case "=":
        if (this.peek() === "=") {
          this.pos++;
          this.emit("==");
        } else if (this.peek() === "~") {
          return `unexpected character after '=': '~'`;
        } else this.emit("=");
        return undefined;
      case "!":
        if (this.peek() !== "=") {
          return `unexpected character after '!': ${goQuote(this.peek() || "\0", "'")}`;
        }
        this.pos++;
        this.emit("!=");
        return undefined;
      case "<":
      case ">":
        if (this.peek() === "=" || this.peek() === "/") {
          // `</` and `>/` trim native histograms.
          this.emit(c + this.input[this.pos++]!);
        } else this.emit(c);
        return undefined;
      case "(":
        this.parenDepth++;
        this.emit("(");
        return undefined;
      case ")":
        if (--this.parenDepth < 0) {
          // Prometheus replaces the ")" token by the error, positioned after it.
          this.start = this.pos;
          return `unexpected right parenthesis ')'`;
        }
        this.emit(")");
        return undefined;
      case "{":
        this.emit("{");
        this.braceOpen = true;
        return undefined;
      case "[": {
        if (this.bracketOpen) return `unexpected left bracket '['`;
        this.gotColon = false;
        this.emit("[");
        this.bracketOpen = true;
        const m = TIMERANGE_RE.exec(this.input.slice(this.pos));
        if (m) {
          this.pos += m[0].length;
          this.emit("TIMERANGE");
        }
        return undefined;
      }
      case "]":
        if (!this.bracketOpen) return `unexpected right bracket ']'`;
        this.emit("]");
        this.bracketOpen = false;
        return undefined;
      case '"':
      case "'":
        return this.string(c, "STRING");
      case "`":
        return this.rawString();
    }
    if (isDigit(c) || (c === "." && isDigit(this.peek()))) {
      this.pos--;
      return this.numberOrDuration();
    }
    if (isAlpha(c) || c === ":") {
      this.pos--;
      return this.keywordOrIdentifier();
    }
    return `unexpected character: ${goQuote(c, "'")}`;
  }

  private insideBraces(): string | undefined {
    if (this.peek() === "#") return this.comment();
    if (this.pos >= this.input.length) return "unexpected end of input inside braces";
    const c = this.input[this.pos++];
    if (isSpace(c)) return this.skipSpaces();
    if (isAlpha(c)) {
      while (isAlnum(this.peek())) this.pos++;
      this.emit("IDENT");
      return undefined;
    }
    switch (c) {
      case ",":
        this.emit(",");
        return undefined;
      case '"':
      case "'":
        return this.string(c, "STRING");
      case "`":
        return this.rawString();
      case "=":
        if (this.peek() === "~") this.pos++;
        this.emit(this.input.slice(this.start, this.pos));
        return undefined;
      case "!": {
        const n = this.peek();
        if (n !== "~" && n !== "=") {
          return `unexpected character after '!' inside braces: ${goQuote(n || "\0", "'")}`;
        }
        this.pos++;
        this.emit("!" + n);
        return undefined;
      }
      case "{":
        return `unexpected left brace '{'`;
      case "}":
        this.emit("}");
        this.braceOpen = false;
        return undefined;
    }
    return `unexpected character inside braces: ${goQuote(c, "'")}`;
  }

  /** Scans a quoted string, validating escapes as Go does. */
  private string(quote: string, kind: TokenKind): string | undefined {
    for (;;) {
      const c = this.input.charAt(this.pos++);
      if (c === "" || c === "\n") {
        this.pos--;
        return "unterminated quoted string";
      }
      if (c === quote) break;
      if (c === "\\") {
        const err = this.escape(quote);
        if (err) return err;
      }
    }
    this.emit(kind);
    return undefined;
  }

  private escape(quote: string): string | undefined {
    const c = this.input.charAt(this.pos++);
    if ("abfnrtv\\".includes(c) && c !== "" || c === quote) return undefined;
    let n: number, base: number, max: number;
    if (c >= "0" && c <= "7") [n, base, max] = [3, 8, 255];
    else if (c === "x") [n, base, max] = [2, 16, 255];
    else if (c === "u") [n, base, max] = [4, 16, 0x10ffff];
    else if (c === "U") [n, base, max] = [8, 16, 0x10ffff];
    else if (c === "") return "escape sequence not terminated";
    else return `unknown escape sequence U+${hex(c.codePointAt(0)!, 4).toUpperCase()} '${c}'`;
    if (base === 8) this.pos--;
    let x = 0;
    for (; n > 0; n--) {
      const d = this.input.charAt(this.pos++);
      const v = d === "" ? 16 : parseInt(d, 16);
      if (!(v < base)) {
        if (d === "") return "escape sequence not terminated";
        return `illegal character U+${
          hex(d.codePointAt(0)!, 4).toUpperCase()
        } '${d}' in escape sequence`;
      }
      x = x * base + v;
    }
    if (x > max || (x >= 0xd800 && x < 0xe000)) {
      return "escape sequence is an invalid Unicode code point";
    }
    return undefined;
  }

  private rawString(): string | undefined {
    const close = this.input.indexOf("`", this.pos);
    if (close < 0) {
      this.pos = this.input.length;
      return "unterminated raw string";
    }
    this.pos = close + 1;
    this.emit("STRING");
    return undefined;
  }

  private numberOrDuration(): string | undefined {
    if (this.scanNumber()) {
      this.emit("NUMBER");
      return undefined;
    }
    if (this.acceptDurationRest()) {
      this.emit("DURATION");
      return undefined;
    }
    return `bad number or duration syntax: ${goQuote(this.input.slice(this.start, this.pos))}`;
  }

  private accept(valid: string): boolean {
    const c = this.peek();
    if (c !== "" && valid.includes(c)) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Scans a number; false (with `pos` wherever it stopped) when it is not one. */
  private scanNumber(): boolean {
    const initial = this.pos;
    let digits = "0123456789";
    if (this.accept("0") && this.accept("xX")) {
      this.accept("_");
      digits = "0123456789abcdefABCDEF";
    }
    this.accept(".");
    this.accept(digits);
    let dot = false, exp = false;
    while (this.peek() !== "" && (digits + "._eE").includes(this.peek())) {
      const c = this.peek();
      if (c === ".") {
        if (dot) return this.accept("."), false;
        dot = true;
        this.pos++;
        if (this.accept("_.") || digits.length > 10) return false;
      } else if ((c === "e" || c === "E") && digits.length === 10) {
        if (exp) return this.accept("eE"), false;
        exp = true;
        this.pos++;
        this.accept("+-");
        if (this.accept("._eE") || this.peek() === "") return false;
      } else if (c === "_") {
        this.pos++;
        if (this.accept("._eE") || this.peek() === "") return false;
      } else {
        while (this.peek() !== "" && digits.includes(this.peek())) this.pos++;
      }
    }
    if (this.pos === initial) return false;
    return !isAlnum(this.peek());
  }

  private acceptDurationRest(): boolean {
    if (!this.accept("smhdwy")) return false;
    this.accept("s");
    while (this.accept("0123456789")) {
      while (this.accept("0123456789"));
      if (!this.accept("smhdw")) return false;
      this.accept("s");
    }
    if (isAlnum(this.peek())) {
      this.pos++;
      return false;
    }
    return true;
  }

  private keywordOrIdentifier(): undefined {
    while (isAlnum(this.peek()) || this.peek() === ":") this.pos++;
    const word = this.input.slice(this.start, this.pos);
    const lower = word.toLowerCase();
    if (lower === "inf" || lower === "nan") this.emit("NUMBER");
    else if (
      OPERATOR_WORDS.has(lower) || AGGREGATE_OPS.has(lower) || KEYWORD_WORDS.has(lower) ||
      PREPROCESSOR_WORDS.has(lower)
    ) this.emit(lower);
    else this.emit(word.includes(":") ? "METRIC_IDENT" : "IDENT");
    return undefined;
  }
}

/** Describes a token for "unexpected ..." messages, as Prometheus does. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case "EOF":
      return "end of input";
    case "ERROR":
      return t.text;
    case "IDENT":
      return `identifier ${goQuote(t.text)}`;
    case "METRIC_IDENT":
      return `metric identifier ${goQuote(t.text)}`;
    case "NUMBER":
    case "DURATION":
    case "STRING":
    case "TIMERANGE": {
      const name = t.kind === "TIMERANGE" ? "time range" : t.kind.toLowerCase();
      const chars = [...t.text];
      return chars.length > 10
        ? `${name} ${goQuote(chars.slice(0, 10).join(""))}...`
        : `${name} ${goQuote(t.text)}`;
    }
  }
  if (KEYWORD_WORDS.has(t.kind)) return `<${t.text}>`;
  if (OPERATOR_KINDS.has(t.kind)) return `<op:${t.text}>`;
  if (AGGREGATE_OPS.has(t.kind)) return `<aggr:${t.text}>`;
  return goQuote(t.text);
}
