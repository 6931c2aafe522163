/**
 * Number formatting as Go's `fmt` does it, for templates and the alerts API
 * (`%v`, `%.4g`, `%e`, `%f`), and Prometheus's humanize helpers.
 *
 * @module
 */

/** Decimal digits (no trailing zeros) and the decimal exponent of |v|, rounded to `prec` digits (or shortest). */
function digitsOf(v: number, prec: number): { digits: string; exp: number } {
  const s = prec < 0 ? Math.abs(v).toExponential() : Math.abs(v).toExponential(prec - 1);
  const [mant, e] = s.split("e");
  const digits = mant!.replace(".", "").replace(/0+$/, "") || "0";
  return { digits, exp: Number(e) };
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return undefined;
}

function fixedFromDigits(digits: string, dp: number): string {
  if (dp <= 0) return "0." + "0".repeat(-dp) + digits;
  if (dp >= digits.length) return digits + "0".repeat(dp - digits.length);
  return digits.slice(0, dp) + "." + digits.slice(dp);
}

function expFromDigits(digits: string, exp: number): string {
  const m = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
  const a = Math.abs(exp);
  return `${m}e${exp < 0 ? "-" : "+"}${a < 10 ? "0" + a : a}`;
}

/** Go's `%g` with precision `prec` (`-1`: shortest, as `%v` prints a float64). */
export function formatG(v: number, prec = -1): string {
  const sp = special(v);
  if (sp) return sp;
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const sign = v < 0 ? "-" : "";
  const p = prec === 0 ? 1 : prec;
  const { digits, exp } = digitsOf(v, p);
  const nd = digits.length, dp = exp + 1;
  let eprec = p < 0 ? 6 : p;
  if (p >= 0 && eprec > nd && nd >= dp) eprec = nd;
  if (exp < -4 || exp >= eprec) return sign + expFromDigits(digits, exp);
  return sign + fixedFromDigits(digits, dp);
}

/** Go's `%e` (`prec` digits after the point; `-1`: shortest, as `strconv.FormatFloat(v, 'e', -1)`). */
export function formatE(v: number, prec = 6): string {
  const sp = special(v);
  if (sp) return sp;
  const sign = v < 0 || Object.is(v, -0) ? "-" : "";
  if (prec < 0) {
    if (v === 0) return sign + "0e+00";
    const { digits, exp } = digitsOf(v, -1);
    return sign + expFromDigits(digits, exp);
  }
  const s = Math.abs(v).toExponential(Math.min(prec, 100));
  const [m, e] = s.split("e");
  const n = Number(e);
  return `${sign}${m}e${n < 0 ? "-" : "+"}${Math.abs(n) < 10 ? "0" : ""}${Math.abs(n)}`;
}

/** Go's `%f` with `prec` decimals. */
export function formatF(v: number, prec = 6): string {
  const sp = special(v);
  if (sp) return sp;
  if (Math.abs(v) >= 1e21) {
    return BigInt(Math.round(v)).toString() + (prec > 0 ? "." + "0".repeat(prec) : "");
  }
  return v.toFixed(Math.min(prec, 100));
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
    const d = Math.trunc(v);
    const seconds = d % 60, minutes = Math.trunc(d / 60) % 60, hours = Math.trunc(d / 3600) % 24;
    const days = Math.trunc(d / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
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
