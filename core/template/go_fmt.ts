/**
 * Go's `fmt.Sprintf` and `fmt.Sprint` over template values, as `printf`,
 * `print` and `println` run them.
 *
 * @module
 */
import { formatE, formatF, formatG, formatHexFloat, goQuote, isGoPrint } from "../model/mod.ts";
import { ENC } from "./text.ts";
import {
  formatGoValue,
  GoDuration,
  GoString,
  GoTime,
  goTypeName,
  type GoValue,
  methodOf,
} from "./value.ts";

/** Whether `fmt` prints `v` through a `String()` method (times and durations have one). */
function isStringer(v: GoValue): boolean {
  return v instanceof GoTime || v instanceof GoDuration || methodOf(v, "String") !== undefined;
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
      return pad(goQuote(ok ? String.fromCodePoint(cp) : "\ufffd", "'", f.plus), f);
    }
    case "U": {
      let s = "U+" + a.toString(16).toUpperCase().padStart(4, "0");
      if (f.sharp && Number(v) <= 0x10ffff && isGoPrint(Number(v))) {
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
      return pad(goQuote(s, '"', f.plus), f);
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
  return `%!${verb}(${goTypeName(a)}=${formatGoValue(a)})`;
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
      if (a instanceof GoString) s = fmtStr(a.value, verb, f);
      else if (a instanceof GoDuration && !"vsqxX".includes(verb)) s = fmtInt(a.ns, verb, f);
      else if (isStringer(a) && "vsqxX".includes(verb)) s = fmtStr(formatGoValue(a), verb, f);
      else if (verb === "v" || verb === "s") s = pad(formatGoValue(a), f);
  }
  return s ?? badVerb(verb, a);
}

/**
 * Go's `fmt.Sprintf` for template values: flags `-+ #0`, width and precision
 * (also `*`), argument indexes `[n]`, and the verbs `v T t d b o O x X c q U
 * e E f F g G s %`, with Go's `%!verb(type=value)`, `(MISSING)` and
 * `%!(EXTRA ...)` notes.
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
      args.slice(argNum).map((a) => a === null ? "<nil>" : `${goTypeName(a)}=${formatGoValue(a)}`)
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
    out += formatGoValue(a);
  }
  return out;
}
