/**
 * Number formatting as Go's `fmt`/`strconv` does it, for templates and the
 * alerts API (`%v`, `%.4g`, `%e`, `%f`), and Prometheus's humanize helpers.
 *
 * Fixed-precision output rounds the exact binary value half to even, as Go
 * does (`%.4g` of 12345 is `1.234e+04`, `%.2f` of 0.125 is `0.12`), where
 * JavaScript's `toExponential`/`toFixed` would round ties up. Shortest output
 * (`%v`, precision -1) uses JavaScript's shortest round-trip digits, which are
 * the same digits Go picks.
 *
 * @module
 */

/** Decimal digits without trailing zeros; the value is `0.digits × 10^dp`. */
interface Digits {
  d: string;
  dp: number;
}

const F64 = new DataView(new ArrayBuffer(8));
const POW5: bigint[] = [1n];

function pow5(n: number): bigint {
  while (POW5.length <= n) POW5.push(POW5[POW5.length - 1]! * 5n);
  return POW5[n]!;
}

function trimZeros(s: string): string {
  let n = s.length;
  while (n > 0 && s.charCodeAt(n - 1) === 48) n--;
  return s.slice(0, n);
}

/** The exact decimal expansion of |v| (finite, non-zero). */
function exactDigits(v: number): Digits {
  F64.setFloat64(0, v);
  const hi = F64.getUint32(0), lo = F64.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (bexp === 0) e = -1074; // subnormal
  else {
    mant |= 1n << 52n;
    e = bexp - 1075;
  }
  if (e >= 0) {
    const s = (mant << BigInt(e)).toString();
    return { d: trimZeros(s), dp: s.length };
  }
  // m / 2^k = m·5^k / 10^k
  const s = (mant * pow5(-e)).toString();
  return { d: trimZeros(s), dp: s.length + e };
}

/** Shortest round-trip digits of |v| (finite, non-zero). */
function shortestDigits(v: number): Digits {
  const s = Math.abs(v).toExponential();
  const i = s.indexOf("e");
  const d = trimZeros(s.slice(0, i).replace(".", ""));
  return { d: d || "0", dp: Number(s.slice(i + 1)) + 1 };
}

/** Rounds to `nd` significant digits, half to even on the exact digits. */
function roundDigits(x: Digits, nd: number): Digits {
  const { d } = x;
  if (nd >= d.length) return x;
  if (nd < 0) return { d: "", dp: x.dp };
  const next = d.charCodeAt(nd) - 48;
  let up: boolean;
  if (next !== 5) up = next > 5;
  else if (nd + 1 < d.length) up = true; // trailing zeros were trimmed: anything left is > 0
  else up = nd > 0 && (d.charCodeAt(nd - 1) - 48) % 2 === 1;
  if (!up) return { d: trimZeros(d.slice(0, nd)), dp: x.dp };
  let i = nd - 1;
  while (i >= 0 && d[i] === "9") i--;
  if (i < 0) return { d: "1", dp: x.dp + 1 };
  return { d: d.slice(0, i) + String.fromCharCode(d.charCodeAt(i) + 1), dp: x.dp };
}

function special(v: number, plus = false): string | undefined {
  if (Number.isNaN(v)) return plus ? "+NaN" : "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return undefined;
}

function neg(v: number): boolean {
  return v < 0 || Object.is(v, -0);
}

/** `digits` (padded with zeros to `frac` decimals) as a fixed-point number. */
function fixedFromDigits(x: Digits, frac: number): string {
  const { d, dp } = x;
  let int: string, fr: string;
  if (dp <= 0) {
    int = "0";
    fr = "0".repeat(-dp) + d;
  } else if (dp >= d.length) {
    int = d + "0".repeat(dp - d.length);
    fr = "";
  } else {
    int = d.slice(0, dp);
    fr = d.slice(dp);
  }
  if (int === "") int = "0";
  fr = fr.slice(0, frac).padEnd(frac, "0");
  return frac > 0 ? `${int}.${fr}` : int;
}

/** `m.mmm` (padded to `frac` decimals, or all digits with -1) and `e±XX`. */
function expFromDigits(x: Digits, frac: number): string {
  const d = x.d || "0";
  const exp = x.d ? x.dp - 1 : 0;
  let rest = d.slice(1);
  if (frac >= 0) rest = rest.padEnd(frac, "0");
  const a = Math.abs(exp);
  return `${d[0]}${rest ? "." + rest : ""}e${exp < 0 ? "-" : "+"}${a < 10 ? "0" + a : a}`;
}

/** Go's `%g` with precision `prec` (`-1`: shortest, as `%v` prints a float64). */
export function formatG(v: number, prec = -1): string {
  const sp = special(v);
  if (sp) return sp;
  const sign = neg(v) ? "-" : "";
  if (v === 0) return sign + "0";
  const shortest = prec < 0;
  let p = prec === 0 ? 1 : prec;
  const x = shortest ? shortestDigits(v) : roundDigits(exactDigits(v), p);
  const nd = x.d.length;
  if (shortest) p = nd;
  let eprec = p;
  if (eprec > nd && nd >= x.dp) eprec = nd;
  if (shortest) eprec = 6;
  const exp = x.dp - 1;
  if (exp < -4 || exp >= eprec) return sign + expFromDigits(x, -1);
  return sign + fixedFromDigits(x, Math.max(nd - x.dp, 0));
}

/** Go's `%e` (`prec` digits after the point; `-1`: shortest, as `strconv.FormatFloat(v, 'e', -1)`). */
export function formatE(v: number, prec = 6): string {
  const sp = special(v);
  if (sp) return sp;
  const sign = neg(v) ? "-" : "";
  if (v === 0) return sign + expFromDigits({ d: "", dp: 0 }, prec < 0 ? 0 : prec);
  if (prec < 0) return sign + expFromDigits(shortestDigits(v), -1);
  return sign + expFromDigits(roundDigits(exactDigits(v), prec + 1), prec);
}

/** Go's `%f` with `prec` decimals (`-1`: shortest, as `strconv.FormatFloat(v, 'f', -1)`). */
export function formatF(v: number, prec = 6): string {
  const sp = special(v);
  if (sp) return sp;
  const sign = neg(v) ? "-" : "";
  if (v === 0) return sign + fixedFromDigits({ d: "", dp: 0 }, Math.max(prec, 0));
  if (prec < 0) {
    const x = shortestDigits(v);
    return sign + fixedFromDigits(x, Math.max(x.d.length - x.dp, 0));
  }
  const x = exactDigits(v);
  return sign + fixedFromDigits(roundDigits(x, x.dp + prec), prec);
}

/** Go's `%x` of a float64 (`0x1.8p+01`), shortest. */
export function formatHexFloat(v: number): string {
  const sp = special(v);
  if (sp) return sp;
  const sign = neg(v) ? "-" : "";
  if (v === 0) return sign + "0x0p+00";
  F64.setFloat64(0, v);
  const hi = F64.getUint32(0), lo = F64.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e = bexp - 1023;
  if (bexp === 0) {
    // Subnormal: normalise so the leading 1 sits at bit 52.
    e = -1022;
    while ((mant & (1n << 52n)) === 0n) {
      mant <<= 1n;
      e--;
    }
  }
  const frac = trimZeros((mant & ((1n << 52n) - 1n)).toString(16).padStart(13, "0"));
  const a = Math.abs(e);
  return `${sign}0x1${frac ? "." + frac : ""}p${e < 0 ? "-" : "+"}${a < 10 ? "0" + a : a}`;
}

const BIG = ["k", "M", "G", "T", "P", "E", "Z", "Y"];
const SMALL = ["m", "u", "n", "p", "f", "a", "z", "y"];

/** Prometheus's `humanize`: SI prefixes, 4 significant digits (`1234567` → `1.235M`). */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return formatG(v, 4);
  let prefix = "";
  if (Math.abs(v) >= 1) {
    for (const p of BIG) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const p of SMALL) {
      if (Math.abs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return formatG(v, 4) + prefix;
}

/** Prometheus's `humanize1024`: binary prefixes (`2048` → `2ki`). */
export function humanize1024(v: number): string {
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return formatG(v, 4);
  let prefix = "";
  for (const p of ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"]) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return formatG(v, 4) + prefix;
}

/** Prometheus's `humanizePercentage`: a ratio as a percentage (`0.1234` → `12.34%`). */
export function humanizePercentage(v: number): string {
  return formatG(v * 100, 4) + "%";
}

/** Prometheus's `humanizeDuration`: seconds as `1d 2h 3m 4s`, or `1.5s`, `250ms`. */
export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return formatG(v, 4);
  if (v === 0) return formatG(v, 4) + "s";
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? "-" : "";
    v = Math.abs(v);
    // Go's int64(v): truncation, saturating far outside the int64 range.
    const d = BigInt(Math.trunc(Math.min(v, 9.223372036854775e18)));
    const seconds = d % 60n, minutes = (d / 60n) % 60n, hours = (d / 3600n) % 24n;
    const days = d / 86400n;
    if (days !== 0n) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0n) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0n) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${formatG(v, 4)}s`;
  }
  let prefix = "";
  for (const p of SMALL) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${formatG(v, 4)}${prefix}s`;
}

const pad2 = (n: number) => (n < 10 ? "0" : "") + n;

/**
 * Go's `time.Time.String()` of a UTC instant in ms
 * (`2015-06-23 13:19:44.128 +0000 UTC`; no fraction when it is zero).
 */
export function formatGoTime(ms: number): string {
  const t = new Date(ms);
  const y = t.getUTCFullYear();
  const year = y < 0 ? "-" + String(-y).padStart(4, "0") : String(y).padStart(4, "0");
  const frac = ((ms % 1000) + 1000) % 1000;
  const f = frac ? "." + trimZeros(String(frac).padStart(3, "0")) : "";
  return `${year}-${pad2(t.getUTCMonth() + 1)}-${pad2(t.getUTCDate())} ${pad2(t.getUTCHours())}:${
    pad2(t.getUTCMinutes())
  }:${pad2(t.getUTCSeconds())}${f} +0000 UTC`;
}

/**
 * Prometheus's `floatToTime`: seconds → ms as `model.TimeFromUnixNano(int64(v·1e9))`
 * (truncated to the millisecond). Undefined for NaN/±Inf; throws a RangeError
 * when `v·1e9` overflows int64.
 */
export function secondsToMs(v: number): number | undefined {
  if (!Number.isFinite(v)) return undefined;
  const ns = v * 1e9;
  if (ns >= 9223372036854775807 || ns < -9223372036854775808) {
    throw new RangeError(
      `${formatG(v)} cannot be represented as a nanoseconds timestamp since it overflows int64`,
    );
  }
  // int64(ns) truncates toward zero; /1e6 in Go's integer division truncates again.
  return Number(BigInt(Math.trunc(ns)) / 1000000n);
}

/** Prometheus's `humanizeTimestamp`: seconds since the epoch as Go prints a UTC time. */
export function humanizeTimestamp(v: number): string {
  const ms = secondsToMs(v);
  return ms === undefined ? formatG(v, 4) : formatGoTime(ms);
}

// ---- Go values and fmt ----

/** A Go map as templates see it (`map[string]string`, `map[string]interface {}`). */
export class GoMap {
  constructor(
    /** Go type name, for messages and `%T`. */
    readonly type: string,
    readonly entries: ReadonlyMap<string, GoValue>,
    /** What a missing key yields (`missingkey=zero`). */
    readonly zero: GoValue,
  ) {}
}

/** A Go struct (or pointer to one: `type` starts with `*`). */
export class GoStruct {
  constructor(readonly type: string, readonly fields: Readonly<Record<string, GoValue>>) {}
}

/** A `*time.Time` (UTC, ms precision). */
export class GoTime {
  constructor(readonly ms: number) {}
}

/**
 * A value in a template: string; number = float64; bigint = int; boolean;
 * null = nil; undefined = no value; arrays are query results.
 */
export type GoValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | GoMap
  | GoStruct
  | GoTime
  | readonly GoValue[];

/** The Go type name of a value, as `%T` and error messages print it. */
export function goTypeName(v: GoValue): string {
  if (v === null) return "<nil>";
  if (v === undefined) return "<invalid reflect.Value>";
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
      return "float64";
    case "bigint":
      return "int";
    case "boolean":
      return "bool";
  }
  if (v instanceof GoMap || v instanceof GoStruct) return v.type;
  if (v instanceof GoTime) return "*time.Time";
  return "template.queryResult";
}

/** `%v` of a value (fmt's default format). */
export function formatValue(v: GoValue, depth = 0): string {
  if (v === null) return "<nil>";
  if (v === undefined) return "<invalid reflect.Value>";
  switch (typeof v) {
    case "string":
      return v;
    case "number":
      return formatG(v);
    case "bigint":
    case "boolean":
      return String(v);
  }
  if (v instanceof GoTime) return formatGoTime(v.ms);
  if (v instanceof GoMap) {
    const keys = [...v.entries.keys()].sort();
    return `map[${keys.map((k) => `${k}:${formatValue(v.entries.get(k), depth + 1)}`).join(" ")}]`;
  }
  if (v instanceof GoStruct) {
    const body = `{${Object.values(v.fields).map((f) => formatValue(f, depth + 1)).join(" ")}}`;
    return v.type.startsWith("*") ? "&" + body : body;
  }
  return `[${(v as readonly GoValue[]).map((e) => formatValue(e, depth + 1)).join(" ")}]`;
}

function isPrintable(cp: number): boolean {
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(String.fromCodePoint(cp));
}

/** Go's `strconv.Quote` (`ascii`: `QuoteToASCII`). */
export function goQuote(s: string, ascii = false, quote = '"'): string {
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (cp < 0x80 ? cp >= 0x20 && cp < 0x7f : !ascii && isPrintable(cp)) out += ch;
    else if (cp === 7) out += "\\a";
    else if (cp === 8) out += "\\b";
    else if (cp === 12) out += "\\f";
    else if (cp === 10) out += "\\n";
    else if (cp === 13) out += "\\r";
    else if (cp === 9) out += "\\t";
    else if (cp === 11) out += "\\v";
    else if (cp < 0x80) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp >= 0xd800 && cp < 0xe000) out += "\\ufffd"; // lone surrogate: invalid UTF-8
    else if (cp < 0x10000) out += "\\u" + cp.toString(16).padStart(4, "0");
    else out += "\\U" + cp.toString(16).padStart(8, "0");
  }
  return out + quote;
}

interface Spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  sharp: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

function runeLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function pad(s: string, f: Spec, zeroOk = true): string {
  const w = f.width ?? 0;
  const n = runeLen(s);
  if (n >= w) return s;
  if (f.minus) return s + " ".repeat(w - n);
  return (f.zero && zeroOk ? "0" : " ").repeat(w - n) + s;
}

function fmtInt(v: bigint, verb: string, f: Spec): string | undefined {
  const neg = v < 0n;
  const a = neg ? -v : v;
  let prefix = "";
  let digits: string;
  switch (verb) {
    case "d":
    case "v":
      digits = a.toString(10);
      break;
    case "b":
      digits = a.toString(2);
      if (f.sharp) prefix = "0b";
      break;
    case "o":
    case "O":
      digits = a.toString(8);
      if (verb === "O") prefix = "0o";
      else if (f.sharp) prefix = "0";
      break;
    case "x":
      digits = a.toString(16);
      if (f.sharp) prefix = "0x";
      break;
    case "X":
      digits = a.toString(16).toUpperCase();
      if (f.sharp) prefix = "0X";
      break;
    case "c": {
      const cp = Number(v);
      return pad(
        cp >= 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp < 0xe000)
          ? String.fromCodePoint(cp)
          : "\ufffd",
        f,
      );
    }
    case "q": {
      const cp = Number(v);
      const ok = cp >= 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp < 0xe000);
      return pad(goQuote(ok ? String.fromCodePoint(cp) : "\ufffd", f.plus, "'"), f);
    }
    case "U": {
      let s = "U+" + a.toString(16).toUpperCase().padStart(4, "0");
      if (f.sharp && Number(v) <= 0x10ffff && isPrintable(Number(v))) {
        s += ` '${String.fromCodePoint(Number(v))}'`;
      }
      return pad(s, f);
    }
    default:
      return undefined;
  }
  let prec = 0;
  if (f.prec !== undefined) {
    prec = f.prec;
    if (prec === 0 && a === 0n) return pad("", f, false);
  } else if (f.zero && !f.minus && f.width !== undefined) {
    prec = f.width - (neg || f.plus || f.space ? 1 : 0);
  }
  digits = digits.padStart(prec, "0");
  if (prefix === "0" && digits.startsWith("0")) prefix = "";
  return pad((neg ? "-" : f.plus ? "+" : f.space ? " " : "") + prefix + digits, f, false);
}

function fmtFloat(v: number, verb: string, f: Spec): string | undefined {
  let s: string;
  switch (verb) {
    case "v":
    case "g":
    case "G":
      s = formatG(v, f.prec ?? -1);
      break;
    case "e":
    case "E":
      s = formatE(v, f.prec ?? 6);
      break;
    case "f":
    case "F":
      s = formatF(v, f.prec ?? 6);
      break;
    case "x":
    case "X":
      s = formatHexFloat(v);
      break;
    default:
      return undefined;
  }
  if (Number.isFinite(v) && verb >= "A" && verb <= "Z") s = s.toUpperCase();
  let sign = "";
  if (s.startsWith("-") || s.startsWith("+")) {
    sign = s[0]!;
    s = s.slice(1);
  }
  if (sign === "+" && Number.isFinite(v) === false) {
    // "+Inf" keeps its sign; NaN has none unless asked for.
  } else if (sign === "" && f.plus) sign = "+";
  else if (sign === "" && f.space) sign = " ";
  if (Number.isNaN(v) && !f.plus && !f.space) sign = "";
  if (!Number.isFinite(v)) return pad(sign + s, f, false);
  if (f.zero && !f.minus && f.width !== undefined && f.width > sign.length + s.length) {
    return sign + s.padStart(f.width - sign.length, "0");
  }
  return pad(sign + s, f);
}

const ENC = new TextEncoder();

/** Go's `strconv.CanBackquote`: no backquote, no control character but tab. */
function canBackquote(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "`" || c === 0xfffd || c === 0x7f || (c < 0x20 && c !== 9)) return false;
  }
  return true;
}

function fmtStr(s: string, verb: string, f: Spec): string | undefined {
  if (f.prec !== undefined && verb !== "x" && verb !== "X") s = [...s].slice(0, f.prec).join("");
  switch (verb) {
    case "s":
    case "v":
      return pad(s, f);
    case "q":
      if (f.sharp && canBackquote(s)) return pad("`" + s + "`", f);
      return pad(goQuote(s, f.plus), f);
    case "x":
    case "X": {
      let bytes = [...ENC.encode(s)];
      if (f.prec !== undefined) bytes = bytes.slice(0, f.prec);
      const hex = bytes.map((b) => {
        const h = b.toString(16).padStart(2, "0");
        return verb === "X" ? h.toUpperCase() : h;
      });
      const px = f.sharp ? (verb === "X" ? "0X" : "0x") : "";
      return pad(f.space ? hex.map((h) => px + h).join(" ") : px + hex.join(""), f);
    }
    default:
      return undefined;
  }
}

function badVerb(verb: string, a: GoValue): string {
  if (a === null) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(a)}=${formatValue(a)})`;
}

function fmtArg(a: GoValue, verb: string, f: Spec): string {
  if (verb === "T") return pad(goTypeName(a), f);
  if (a === null || a === undefined) {
    return verb === "v"
      ? pad(a === null ? "<nil>" : "<invalid reflect.Value>", f)
      : badVerb(verb, a);
  }
  let s: string | undefined;
  switch (typeof a) {
    case "boolean":
      s = verb === "t" || verb === "v" ? pad(String(a), f) : undefined;
      break;
    case "bigint":
      s = fmtInt(a, verb, f);
      break;
    case "number":
      s = fmtFloat(a, verb, f);
      break;
    case "string":
      s = fmtStr(a, verb, f);
      break;
    default:
      if (a instanceof GoTime && "vsqxX".includes(verb)) s = fmtStr(formatGoTime(a.ms), verb, f);
      else if (verb === "v" || verb === "s") s = pad(formatValue(a), f);
  }
  return s ?? badVerb(verb, a);
}

/**
 * Go's `fmt.Sprintf` for template values: flags `-+ #0`, width and precision
 * (also `*`), argument indexes `[n]`, and the verbs `v T t d b o O x X c q U
 * e E f F g G s %`, with Go's `%!verb(type=value)`, `(MISSING)` and
 * `%!(EXTRA …)` notes.
 */
export function sprintf(format: string, args: readonly GoValue[]): string {
  let out = "";
  let argNum = 0;
  let reordered = false;
  const n = format.length;
  let i = 0;
  const readNum = (): number | undefined => {
    let j = i;
    while (j < n && format[j]! >= "0" && format[j]! <= "9") j++;
    if (j === i) return undefined;
    const v = Number(format.slice(i, j));
    i = j;
    return v;
  };
  const readIndex = (): boolean => {
    // `[n]` sets the next argument (1-based); false on a bad index.
    if (format[i] !== "[") return true;
    const close = format.indexOf("]", i);
    reordered = true;
    if (close < 0) return false;
    const k = Number(format.slice(i + 1, close));
    i = close + 1;
    if (!Number.isInteger(k) || k < 1 || k > args.length) return false;
    argNum = k - 1;
    return true;
  };
  const intArg = (): number | undefined => {
    const a = args[argNum++];
    return typeof a === "bigint" && a >= -1000000n && a <= 1000000n ? Number(a) : undefined;
  };
  while (i < n) {
    const pct = format.indexOf("%", i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f: Spec = { minus: false, plus: false, space: false, sharp: false, zero: false };
    for (; i < n; i++) {
      const c = format[i];
      if (c === "-") {
        f.minus = true;
        f.zero = false;
      } else if (c === "+") f.plus = true;
      else if (c === " ") f.space = true;
      else if (c === "#") f.sharp = true;
      else if (c === "0") f.zero = !f.minus;
      else break;
    }
    let goodIndex = readIndex();
    if (format[i] === "*") {
      i++;
      const w = argNum < args.length ? intArg() : undefined;
      if (w === undefined) out += "%!(BADWIDTH)";
      else if (w < 0) {
        f.minus = true;
        f.zero = false;
        f.width = -w;
      } else f.width = w;
    } else f.width = readNum();
    if (format[i] === ".") {
      i++;
      goodIndex = readIndex() && goodIndex;
      if (format[i] === "*") {
        i++;
        const p = argNum < args.length ? intArg() : undefined;
        if (p === undefined || p < 0) out += "%!(BADPREC)";
        else f.prec = p;
      } else f.prec = readNum() ?? 0;
    }
    goodIndex = readIndex() && goodIndex;
    if (i >= n) {
      out += "%!(NOVERB)";
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (!goodIndex) {
      out += `%!${verb}(BADINDEX)`;
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += fmtArg(args[argNum++], verb, f);
  }
  if (!reordered && argNum < args.length) {
    out += "%!(EXTRA " +
      args.slice(argNum).map((a) => a === null ? "<nil>" : `${goTypeName(a)}=${formatValue(a)}`)
        .join(", ") +
      ")";
  }
  return out;
}

/** Go's `fmt.Sprint`: operands joined, with a space between two that are not strings. */
export function sprint(args: readonly GoValue[]): string {
  let out = "";
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    if (k > 0 && typeof a !== "string" && typeof args[k - 1] !== "string") out += " ";
    out += formatValue(a);
  }
  return out;
}
