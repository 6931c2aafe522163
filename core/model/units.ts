/**
 * Durations and byte sizes as people write them in config files and URLs.
 *
 * Durations use Prometheus's syntax: one or more `<integer><unit>` parts in
 * descending unit order, units `y w d h m s ms` (`1h30m`, `90s`, `500ms`).
 * A year is 365 days, as in Prometheus.
 *
 * @module
 */

const DURATION_UNITS: Record<string, number> = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};
const UNIT_ORDER = ["y", "w", "d", "h", "m", "s", "ms"];
const DURATION_PART_REGEXP = /(\d+)(ms|y|w|d|h|m|s)/y;

/**
 * Reads a Prometheus duration of at most `maxMs` into milliseconds, or says
 * why the text is not one in Prometheus's words (`empty duration string`,
 * `not a valid duration string: "..."`, `duration out of range`). `"0"` is zero.
 */
export function readDuration(text: string, maxMs: number): number | string {
  if (text === "0") return 0;
  if (text === "") return "empty duration string";
  const invalid = `not a valid duration string: "${text}"`;
  let total = 0;
  let lastUnit = -1;
  let pos = 0;
  while (pos < text.length) {
    DURATION_PART_REGEXP.lastIndex = pos;
    const m = DURATION_PART_REGEXP.exec(text);
    if (!m) return invalid;
    const unitIndex = UNIT_ORDER.indexOf(m[2]!);
    if (unitIndex <= lastUnit) return invalid; // Units must descend and not repeat.
    lastUnit = unitIndex;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = DURATION_PART_REGEXP.lastIndex;
  }
  return total > maxMs ? "duration out of range" : total;
}

/**
 * Parses a Prometheus duration into milliseconds; returns undefined when the
 * text is not one (or exceeds 2^53 ms). `"0"` is zero.
 */
export function parseDuration(text: string): number | undefined {
  const ms = readDuration(text, Number.MAX_SAFE_INTEGER);
  return typeof ms === "number" ? ms : undefined;
}

/**
 * Milliseconds of a duration field: text as {@linkcode parseDuration} reads
 * it (surrounding space ignored) or a number of seconds; undefined unless a
 * finite duration of at least zero.
 */
export function durationFieldMs(v: string | number): number | undefined {
  const ms = typeof v === "number" ? v * 1000 : parseDuration(v.trim());
  return ms !== undefined && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** Formats milliseconds as a Prometheus duration (`5400000` -> `"1h30m"`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let out = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  for (const unit of UNIT_ORDER) {
    const size = DURATION_UNITS[unit]!;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/**
 * Parses a byte size: a plain number or a number with a unit (`512MiB`,
 * `1.5GB`, `100kb`); returns undefined when the text is not one.
 */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = BYTE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.round(Number(m[1]) * unit);
}

/** Formats a byte count for people: `512 B`, `12.3 MiB`, `1.0 GiB`. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
