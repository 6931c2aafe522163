/**
 * Time ranges as dashboards write them (`now-6h` ... `now`, or absolute times),
 * refresh intervals and the query step for a range. Browser-safe: imports
 * only the dependency-free duration parser.
 *
 * @module
 */
import { formatDuration, parseDuration } from "../model/mod_light.ts";

/** Relative ranges offered by the time picker, as `now-<d>`. */
export const RELATIVE_RANGES: readonly string[] = [
  "5m",
  "15m",
  "30m",
  "1h",
  "3h",
  "6h",
  "12h",
  "24h",
  "2d",
  "7d",
  "30d",
];

/** Refresh intervals offered by the picker; `""` is off. */
export const REFRESH_INTERVALS: readonly string[] = ["", "5s", "10s", "30s", "1m", "5m"];

/**
 * Resolves a time expression to ms: `now`, `now-<duration>`,
 * `now+<duration>`, a millisecond or second epoch number, or an RFC 3339 /
 * ISO date. Returns undefined when the text is none of those.
 */
export function parseTimeExpr(text: string, now: number): number | undefined {
  const s = text.trim();
  if (s === "now") return now;
  const rel = /^now([+-])(.+)$/.exec(s);
  if (rel) {
    const d = parseDuration(rel[2]!);
    if (d === undefined) return undefined;
    return rel[1] === "-" ? now - d : now + d;
  }
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    // Seconds until year 5138, milliseconds after.
    return n < 1e11 ? Math.round(n * 1000) : Math.round(n);
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    const t = Date.parse(s);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** A resolved range in ms. */
export interface ResolvedRange {
  readonly start: number;
  readonly end: number;
}

/** Resolves `{from, to}`; returns an error message naming the bad field. */
export function resolveRange(
  range: { from: string; to: string },
  now: number,
): ResolvedRange | { error: string } {
  const start = parseTimeExpr(range.from, now);
  if (start === undefined) return { error: `time.from: cannot parse "${range.from}"` };
  const end = parseTimeExpr(range.to, now);
  if (end === undefined) return { error: `time.to: cannot parse "${range.to}"` };
  if (end <= start) return { error: "time.to: must be after time.from" };
  return { start, end };
}

const NICE_STEPS = [
  1,
  2,
  5,
  10,
  15,
  30,
  60,
  120,
  300,
  600,
  900,
  1800,
  3600,
  7200,
  10800,
  21600,
  43200,
  86400,
].map((s) => s * 1000);

/**
 * A step (ms) giving about one point per `pxPerPoint` pixels over `width`
 * pixels, rounded up to a readable interval and never under `minStep`.
 */
export function stepFor(rangeMs: number, width = 1000, pxPerPoint = 3, minStep = 1000): number {
  const raw = Math.max(minStep, rangeMs / Math.max(1, width / pxPerPoint));
  for (const s of NICE_STEPS) if (s >= raw) return s;
  return Math.ceil(raw / 86_400_000) * 86_400_000;
}

/** A human label for a range (`Last 6h`, or the two times). */
export function describeRange(range: { from: string; to: string }): string {
  const m = /^now-(.+)$/.exec(range.from);
  if (m && range.to === "now") return `Last ${m[1]}`;
  return `${range.from} \u2192 ${range.to}`;
}

/** Parses a refresh interval (`""`/`off` -> 0). */
export function parseRefresh(text: string): number | undefined {
  if (text === "" || text === "off") return 0;
  const d = parseDuration(text);
  return d === undefined ? undefined : d;
}

export { formatDuration, parseDuration };
