/**
 * Small helpers shared by the parsers: strict number parsing, name
 * sanitizing and exact integer timestamp conversion.
 *
 * @module
 */

/**
 * Parses a float as Go's `strconv.ParseFloat` does for the forms metrics
 * use: decimal with optional exponent, `NaN`, `Inf`, `+Inf`, `-Inf`,
 * `Infinity` (case-insensitive). Returns undefined for anything else,
 * including "", whitespace, and hex/octal/binary literals that `Number()`
 * would accept.
 */
export function parseNumber(s: string): number | undefined {
  const n = s.length;
  if (n === 0) return undefined;
  const c0 = s.charCodeAt(0);
  const cl = s.charCodeAt(n - 1);
  if (c0 <= 32 || cl <= 32) return undefined;
  if (n > 1 && c0 === 48 /* 0 */) {
    const c1 = s.charCodeAt(1) | 32;
    if (c1 === 120 || c1 === 98 || c1 === 111) return undefined; // 0x 0b 0o
  }
  const v = Number(s);
  if (v === v) {
    // Number() also accepts "Infinity" only in that exact case; fine.
    return v;
  }
  switch (s.toLowerCase()) {
    case "nan":
    case "+nan":
    case "-nan":
      return NaN;
    case "inf":
    case "+inf":
    case "infinity":
    case "+infinity":
      return Infinity;
    case "-inf":
    case "-infinity":
      return -Infinity;
  }
  return undefined;
}

function isNameChar(c: number, colon: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 ||
    (colon && c === 58);
}

/**
 * Turns any text into a valid Prometheus metric name, as VictoriaMetrics
 * (`-usePromCompatibleNaming`) and Telegraf's Prometheus output do: every
 * character outside `[a-zA-Z0-9_:]` becomes `_`, and a leading digit gets a
 * `_` prefix. `cpu.usage-idle` -> `cpu_usage_idle`; `1m` -> `_1m`.
 */
export function sanitizeMetricName(s: string): string {
  return sanitize(s, true);
}

/** Like {@linkcode sanitizeMetricName} for label names (`:` is replaced too). */
export function sanitizeLabelName(s: string): string {
  return sanitize(s, false);
}

function sanitize(s: string, colon: boolean): string {
  const n = s.length;
  let ok = n > 0;
  for (let i = 0; i < n && ok; i++) ok = isNameChar(s.charCodeAt(i), colon);
  if (ok) {
    const c0 = s.charCodeAt(0);
    if (c0 < 48 || c0 > 57) return s;
    return "_" + s;
  }
  if (n === 0) return s;
  let out = "";
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    out += isNameChar(c, colon) ? s[i] : "_";
  }
  const c0 = out.charCodeAt(0);
  return c0 >= 48 && c0 <= 57 ? "_" + out : out;
}

/** True when `s` is an optionally signed run of ASCII digits. */
export function isIntegerText(s: string): boolean {
  const n = s.length;
  let i = 0;
  if (n > 0 && (s.charCodeAt(0) === 45 || s.charCodeAt(0) === 43)) i = 1;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Converts an integer timestamp given as text to ms: drops the last
 * `dropDigits` decimal digits (division by 10^dropDigits, rounding toward
 * negative infinity) when `dropDigits > 0`, else multiplies by `mul`. Working
 * on the digits keeps nanosecond values beyond 2^53 exact. The text must
 * satisfy {@linkcode isIntegerText}.
 */
export function integerTextToMs(s: string, dropDigits: number, mul: number): number {
  if (dropDigits === 0) return Number(s) * mul;
  const neg = s.charCodeAt(0) === 45;
  const start = neg || s.charCodeAt(0) === 43 ? 1 : 0;
  const digits = s.length - start;
  if (digits <= dropDigits) {
    // |value| < 10^dropDigits: rounds to 0, or -1 for negatives (floor).
    return neg && Number(s.slice(start)) !== 0 ? -1 : 0;
  }
  const head = Number(s.slice(start, s.length - dropDigits));
  if (!neg) return head;
  const tailNonZero = Number(s.slice(s.length - dropDigits)) !== 0;
  return -(head + (tailNonZero ? 1 : 0));
}

/** Decodes base64url or standard base64 (padding optional); undefined when invalid. */
export function decodeBase64Text(s: string): string | undefined {
  let b = s.replace(/-/g, "+").replace(/_/g, "/");
  if (/[^A-Za-z0-9+/=]/.test(b)) return undefined;
  b = b.replace(/=+$/, "");
  if (b.length % 4 === 1) return undefined;
  while (b.length % 4 !== 0) b += "=";
  try {
    const bin = atob(b);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Returns a copy of `s` that shares no memory with the text it was sliced
 * from. V8 keeps slices of 13 or more characters as views into their parent
 * string, so a cached or stored label value would otherwise keep a whole
 * request body alive (measured: 20 slices of 40 chars held 400 MB).
 */
export function detach(s: string): string {
  return s.length < 13 ? s : JSON.parse(JSON.stringify(s));
}

/**
 * A map that starts afresh once it holds `max` entries: a bounded table of
 * what many series repeat ({@linkcode intern}, the pipeline's shared label
 * pairs), whose memory stays bounded whatever the series churn.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.max && !this.has(key)) this.clear();
    return super.set(key, value);
  }
}

/** Distinct strings {@linkcode intern} keeps before it starts afresh. */
const interned = new BoundedMap<string, string>(1 << 14);

/**
 * A detached (see {@linkcode detach}) copy of `s` shared by every caller
 * that interns an equal string: label names and the values many series
 * repeat (metric names, regions, hosts across metrics) are then held once,
 * not once per series (20,000 series: ~4 MB of copies). Bounded: the table
 * starts afresh at 16,384 strings.
 */
export function intern(s: string): string {
  let got = interned.get(s);
  if (got === undefined) interned.set(got = detach(s), got);
  return got;
}
