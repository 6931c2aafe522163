/**
 * PromQL literal values: numbers, durations and quoted strings, with the
 * semantics of Prometheus (Go's `strconv` and `model.ParseDuration`).
 *
 * @module
 */

const UNIT_MS = {
  y: 365 * 24 * 3600 * 1000,
  w: 7 * 24 * 3600 * 1000,
  d: 24 * 3600 * 1000,
  h: 3600 * 1000,
  m: 60 * 1000,
  s: 1000,
  ms: 1,
} as const;

const DURATION_RE =
  /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
/** Largest duration Go's time.Duration (int64 ns) can hold, in ms. */
const MAX_DURATION_MS = 9223372036854;

/**
 * Parses a Prometheus duration (`1h30m`, `5m`, `1d`, `1y`, `1w`, `250ms`, `0`) into ms.
 * Units must come in decreasing order, each at most once.
 * @throws {RangeError} when the text is not a valid duration.
 */
export function parseDuration(text: string): number {
  if (text === "") throw new RangeError("empty duration string");
  if (text === "0") return 0;
  const m = DURATION_RE.exec(text);
  if (!m || text.length === 0) throw new RangeError(`not a valid duration string: "${text}"`);
  const units = [UNIT_MS.y, UNIT_MS.w, UNIT_MS.d, UNIT_MS.h, UNIT_MS.m, UNIT_MS.s, UNIT_MS.ms];
  let ms = 0;
  let any = false;
  for (let i = 0; i < units.length; i++) {
    const g = m[i + 1];
    if (g === undefined) continue;
    any = true;
    ms += Number(g) * units[i];
  }
  if (!any) throw new RangeError(`not a valid duration string: "${text}"`);
  if (ms > MAX_DURATION_MS) throw new RangeError("duration out of range");
  return ms;
}

/** Formats ms as Prometheus does (`5400000` → `"1h30m"`, `0` → `"0s"`); negative gets `-`. */
export function formatDuration(ms: number): string {
  if (ms < 0) return "-" + formatDuration(-ms);
  if (ms === 0) return "0s";
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/**
 * Parses a number literal as Prometheus does: decimal, `0x` hex, leading-0 octal,
 * `_` digit separators, exponents, `Inf` and `NaN` (any case).
 * @throws {RangeError} when the text is not a number.
 */
export function parseNumber(text: string): number {
  const lower = text.toLowerCase();
  if (lower === "inf" || lower === "+inf") return Infinity;
  if (lower === "-inf") return -Infinity;
  if (lower === "nan") return NaN;
  const plain = text.replace(/(?<=[0-9a-fA-FxX])_(?=[0-9a-fA-F])/g, "");
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(plain)) n = parseInt(plain.slice(2), 16);
  else if (/^0[oO]?[0-7]+$/.test(plain)) n = parseInt(plain.replace(/^0[oO]?/, ""), 8);
  else if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(plain)) n = Number(plain);
  else n = NaN;
  if (n === Infinity) {
    throw new RangeError(`strconv.ParseFloat: parsing ${JSON.stringify(text)}: value out of range`);
  }
  if (Number.isNaN(n)) {
    throw new RangeError(`strconv.ParseFloat: parsing ${JSON.stringify(text)}: invalid syntax`);
  }
  return n;
}
