/**
 * PromQL literal values: numbers, durations and quoted strings, with the
 * semantics of Prometheus (Go's `strconv` and `model.ParseDuration`).
 *
 * @module
 */
import { formatDuration as formatModelDuration, readDuration } from "../model/mod.ts";

/** Largest duration Go's time.Duration (int64 ns) can hold, in ms. */
const MAX_DURATION_MS = 9223372036854;

/**
 * Parses a Prometheus duration (`1h30m`, `5m`, `1d`, `1y`, `1w`, `250ms`, `0`) into ms
 * (core/model's syntax, with Go's int64-nanosecond range).
 * Units must come in decreasing order, each at most once.
 * @throws {RangeError} when the text is not a valid duration.
 */
export function parseDuration(text: string): number {
  const ms = readDuration(text, MAX_DURATION_MS);
  if (typeof ms === "string") throw new RangeError(ms);
  return ms;
}

/**
 * Formats ms as Prometheus does (`5400000` -> `"1h30m"`, `0` -> `"0s"`); negative
 * gets `-`. A fraction of a millisecond is rounded (half away from zero).
 */
export function formatDuration(ms: number): string {
  return formatModelDuration(Math.sign(ms) * Math.round(Math.abs(ms)));
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
