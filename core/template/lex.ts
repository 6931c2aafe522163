/**
 * The template lexer: splits text into text and actions (applying trim
 * markers and dropping comments) and each action into tokens, as Go's
 * `text/template/parse` lexer does.
 *
 * @module
 */
import { unquoteString } from "../model/mod.ts";
import { TemplateParseError } from "./errors.ts";

export type TokT =
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
export interface Tok {
  t: TokT;
  s: string;
  at: number;
  /** Preceded by white space (fields chain only without it). */
  sp: boolean;
  /** Decoded value of a string or char literal. */
  v?: string;
}
export type Item =
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

export const isSpace = (c: string | undefined) =>
  c === " " || c === "\t" || c === "\r" || c === "\n";
const isAlnum = (c: string | undefined) => c !== undefined && /[\p{L}\p{Nd}_]/u.test(c);

/** Decodes a Go string or rune literal (with its quotes) as `strconv.Unquote` does. */
function unquote(quoted: string, at: number): string {
  try {
    return unquoteString(quoted);
  } catch {
    throw new TemplateParseError(`invalid syntax: ${quoted}`, at);
  }
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
      push("str", src.slice(i, j + 1), unquote(src.slice(i, j + 1), at));
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
      const v = unquote(src.slice(i, j + 1), at);
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
export function scan(src: string): Item[] {
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
