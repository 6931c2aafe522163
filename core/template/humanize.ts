/**
 * The `humanize` family as Prometheus (`humanize`, `humanize1024`,
 * `humanizePercentage`, `humanizeTimestamp`) and prometheus/common
 * (`humanizeDuration`, which Alertmanager uses too) define them: Go's `%.4g`
 * with SI or binary prefixes.
 *
 * @module
 */
import { FnError } from "./errors.ts";
import { formatG } from "../model/mod.ts";
import { formatGoTime, secondsToMs } from "./go_time.ts";
import { GoDuration, goTypeName, type GoValue } from "./value.ts";

const BIG = ["k", "M", "G", "T", "P", "E", "Z", "Y"];
const SMALL = ["m", "u", "n", "p", "f", "a", "z", "y"];

/** Prometheus's `humanize`: SI prefixes, 4 significant digits (`1234567` -> `1.235M`). */
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

/** Prometheus's `humanize1024`: binary prefixes (`2048` -> `2ki`). */
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

/** Prometheus's `humanizePercentage`: a ratio as a percentage (`0.1234` -> `12.34%`). */
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

/** Prometheus's `humanizeTimestamp`: seconds since the epoch as Go prints a UTC time. */
export function humanizeTimestamp(v: number): string {
  const ms = secondsToMs(v);
  return ms === undefined ? formatG(v, 4) : formatGoTime(ms);
}

/** Go's `strconv.ParseFloat(s, 64)`. */
function parseGoFloat(s: string): number {
  const err = (why: string) =>
    new FnError(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: ${why}`);
  const m = /^([+-]?)(inf|infinity)$/i.exec(s);
  if (m) return m[1] === "-" ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) throw err("invalid syntax");
  const v = Number(s);
  if (!Number.isFinite(v)) throw err("value out of range");
  return v;
}

/** prometheus/common's `ConvertToFloat`: float64, int, string or `time.Duration` (in seconds). */
export function toFloat(v: GoValue): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return parseGoFloat(v);
  if (typeof v === "bigint") return Number(v);
  if (v instanceof GoDuration && !v.pointer) return Number(v.ns) / 1e9;
  throw new FnError(`can't convert ${goTypeName(v)} to float`);
}
