/**
 * Go's `strconv` float formatting (`%v`, `%g`, `%e`, `%f`, `%x`) for
 * templates, PromQL's messages and the alerts API.
 *
 * Fixed-precision output rounds the exact binary value half to even, as Go
 * does (`%.4g` of 12345 is `1.234e+04`, `%.2f` of 0.125 is `0.12`), where
 * JavaScript's `toExponential`/`toFixed` would round ties up. Shortest output
 * (`%v`, precision -1) uses JavaScript's shortest round-trip digits, which are
 * the same digits Go picks.
 *
 * @module
 */
import { formatFloat } from "./strconv.ts";

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
  if (prec < 0) return formatFloat(v);
  const sp = special(v);
  if (sp) return sp;
  const sign = neg(v) ? "-" : "";
  if (v === 0) return sign + fixedFromDigits({ d: "", dp: 0 }, Math.max(prec, 0));
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
