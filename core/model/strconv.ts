/**
 * Go's `strconv` as Prometheus writes and reads text: a float in shortest
 * plain decimal (`FormatFloat(v, 'f', -1, 64)`) or as its HTTP API writes
 * sample values (`jsonutil.MarshalFloat`), a quoted string (`Quote`) and an
 * unquoted literal (`Unquote`). PromQL, the HTTP API, OTLP labels and
 * the template engine all use these, so they print numbers and strings alike.
 *
 * @module
 */

/**
 * Formats a float as Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest
 * round-trip digits, never an exponent (`1e21` -> `1000000000000000000000`,
 * `-0` -> `-0`, `NaN`, `+Inf`, `-Inf`).
 */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Object.is(v, -0)) return "-0";
  const s = String(v);
  if (s.indexOf("e") === -1) return s; // The common case: no exponent.
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, lead, frac = "", expText] = m;
  const exp = Number(expText);
  const digits = lead + frac;
  if (exp >= 0) {
    return sign +
      (exp + 1 >= digits.length
        ? digits + "0".repeat(exp + 1 - digits.length)
        : `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`);
  }
  return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
}

/**
 * A float as Prometheus's API writes it (jsonutil.MarshalFloat): shortest
 * digits, in exponent form below 1e-6 and from 1e21 (`1e-07`, `1e+21`),
 * `-0` kept, `NaN`, `+Inf`, `-Inf`.
 */
export function jsonFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Object.is(v, -0)) return "-0";
  // As String(v), without V8's number-to-string cache (whose entries outlive
  // young-generation collections); most values have no exponent: no regex.
  const s = JSON.stringify(v);
  return s.indexOf("e") === -1 ? s : s.replace(/e([+-])(\d)$/, "e$10$2");
}

const NAMED_ESCAPES: Readonly<Record<number, string>> = {
  7: "\\a",
  8: "\\b",
  9: "\\t",
  10: "\\n",
  11: "\\v",
  12: "\\f",
  13: "\\r",
};

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isGoPrint(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f;
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(String.fromCodePoint(cp));
}

/**
 * Quotes a string as Go's `strconv.Quote` (`%q`) does; `quote` `'` quotes a
 * rune, `ascii` escapes everything outside ASCII (`QuoteToASCII`, `%+q`).
 * Lone surrogates U+DC80..U+DCFF stand for raw bytes (see
 * {@linkcode unquoteString}) and print as `\xNN`; other lone surrogates are
 * invalid UTF-8 and print as `\ufffd`.
 */
export function goQuote(s: string, quote = '"', ascii = false): string {
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (cp >= 0xdc80 && cp <= 0xdcff) out += "\\x" + hex(cp - 0xdc00, 2);
    else if (cp >= 0xd800 && cp < 0xe000) out += "\\ufffd";
    else if (cp < 0x80 ? isGoPrint(cp) : !ascii && isGoPrint(cp)) out += ch;
    else if (NAMED_ESCAPES[cp]) out += NAMED_ESCAPES[cp];
    else if (cp < 0x80) out += "\\x" + hex(cp, 2);
    else if (cp < 0x10000) out += "\\u" + hex(cp, 4);
    else out += "\\U" + hex(cp, 8);
  }
  return out + quote;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  "'": "'",
  '"': '"',
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes bytes from `\x`/octal escapes. Bytes that are not valid UTF-8 become
 * lone surrogates U+DC80..U+DCFF, so they survive (and print back as `\xNN`) and
 * `String.prototype.isWellFormed()` reports them.
 */
function decodeBytes(bytes: number[]): string {
  try {
    return utf8.decode(new Uint8Array(bytes));
  } catch {
    return bytes.map((b) => String.fromCharCode(b < 0x80 ? b : 0xdc00 + b)).join("");
  }
}

/**
 * Resolves a quoted string (`"..."`, `'...'` with Go escapes, or raw `` `...` ``),
 * as PromQL reads it; a Go rune literal is `'...'` holding one code point.
 * @throws {SyntaxError} on a bad escape or missing quote.
 */
export function unquoteString(quoted: string): string {
  const q = quoted[0];
  if (quoted.length < 2 || quoted[quoted.length - 1] !== q) throw new SyntaxError("invalid syntax");
  const body = quoted.slice(1, -1);
  if (q === "`") return body;
  if (q !== '"' && q !== "'") throw new SyntaxError("invalid syntax");
  let out = "";
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length) out += decodeBytes(bytes);
    bytes = [];
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== "\\") {
      if (c === q) throw new SyntaxError("invalid syntax");
      flush();
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === undefined) throw new SyntaxError("invalid syntax");
    if (e in SIMPLE_ESCAPES && (e !== "'" || q === "'") && (e !== '"' || q === '"')) {
      flush();
      out += SIMPLE_ESCAPES[e];
    } else if (e >= "0" && e <= "7") {
      const digits = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(digits)) throw new SyntaxError("invalid syntax");
      const v = parseInt(digits, 8);
      if (v > 255) throw new SyntaxError("invalid syntax");
      bytes.push(v);
      i += 2;
    } else if (e === "x" || e === "u" || e === "U") {
      const n = e === "x" ? 2 : e === "u" ? 4 : 8;
      const digits = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digits)) throw new SyntaxError("invalid syntax");
      const v = parseInt(digits, 16);
      i += n;
      if (e === "x") bytes.push(v);
      else {
        if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw new SyntaxError("invalid syntax");
        flush();
        out += String.fromCodePoint(v);
      }
    } else throw new SyntaxError("invalid syntax");
  }
  flush();
  return out;
}
