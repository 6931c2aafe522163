/**
 * Value formatting by unit, shared by the server and the islands (this module
 * imports nothing, so it is safe in the browser).
 *
 * Units are Prometheus base units (`seconds`, `bytes`, `ratio`, `celsius`,
 * `percent`, ...) as written in OpenMetrics `# UNIT` lines or implied by a
 * metric name's suffix. Formatting picks a readable scale: `1.2 GiB`,
 * `340 ms`, `21.5 °C`.
 *
 * @module
 */

/** Units the formatter knows; anything else is printed after the number. */
export const KNOWN_UNITS = [
  "",
  "none",
  "seconds",
  "milliseconds",
  "bytes",
  "bits",
  "ratio",
  "percent",
  "celsius",
  "fahrenheit",
  "volts",
  "amperes",
  "watts",
  "joules",
  "hertz",
  "meters",
  "grams",
  "reqps",
  "bytes_per_second",
  "bits_per_second",
  "pps",
  "ops",
  "iops",
  "eps",
  "rpm",
  "bool",
  "bool_yes_no",
  "bool_on_off",
] as const;

const SUFFIX_UNITS: readonly [string, string][] = [
  ["_seconds", "seconds"],
  ["_milliseconds", "milliseconds"],
  ["_bytes", "bytes"],
  ["_bits", "bits"],
  ["_ratio", "ratio"],
  ["_percent", "percent"],
  ["_celsius", "celsius"],
  ["_fahrenheit", "fahrenheit"],
  ["_volts", "volts"],
  ["_amperes", "amperes"],
  ["_watts", "watts"],
  ["_joules", "joules"],
  ["_hertz", "hertz"],
  ["_meters", "meters"],
  ["_grams", "grams"],
];

/**
 * The unit implied by a metric name: the suffix before `_total`, `_bucket`,
 * `_sum`, `_count`, `_created` (`http_request_duration_seconds_bucket` ->
 * `seconds`); `""` when none.
 */
export function unitFromMetricName(name: string): string {
  const base = name.replace(/_(total|bucket|sum|count|created|info)$/, "");
  for (const [suffix, unit] of SUFFIX_UNITS) {
    if (base.endsWith(suffix)) return unit;
  }
  return "";
}

/**
 * The unit of a query result: the panel's option wins, then `# UNIT`
 * metadata of the first metric named in the query, then its name suffix.
 * A counter read through `rate(...)`/`irate(...)` of bytes becomes
 * `bytes_per_second`; of a `_total` without unit, `reqps` is not guessed.
 */
export function resolveUnit(
  panelUnit: string | undefined,
  expr: string,
  metadataUnit?: (metric: string) => string | undefined,
): string {
  if (panelUnit) return panelUnit;
  // Counting series or changes gives a plain number, whatever was counted.
  if (
    /^\s*(count|count_values|group|absent|absent_over_time|changes|resets|count_over_time)\b/.test(
      expr,
    )
  ) {
    return "";
  }
  const m = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{|\[|\)|$)/.exec(stripFunctions(expr));
  if (!m) return "";
  const metric = m[1]!;
  let unit = metadataUnit?.(metric) || unitFromMetricName(metric);
  if (/\b(i?rate|deriv)\s*\(/.test(expr)) {
    if (unit === "bytes") unit = "bytes_per_second";
    else if (unit === "seconds" && !/_bucket/.test(metric)) unit = "ratio_of_time";
  }
  if (/histogram_quantile\s*\(/.test(expr)) unit = unitFromMetricName(metric);
  return unit === "ratio_of_time" ? "" : unit;
}

const FUNCTION_WORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
]);

function stripFunctions(expr: string): string {
  // Remove `name(` call heads, keywords and quoted strings so the first
  // remaining identifier is a metric name.
  return expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
    .replace(/[a-zA-Z_]+\s*\(/g, "(")
    .split(/\s+/)
    .filter((w) => !FUNCTION_WORDS.has(w))
    .join(" ");
}

const IEC = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
const SI = ["", "k", "M", "G", "T", "P", "E"];

function trimmed(v: number, decimals: number | undefined): string {
  if (decimals !== undefined) return v.toFixed(decimals);
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 100) return String(Math.round(v));
  if (a >= 10) return String(Math.round(v * 10) / 10);
  if (a >= 1) return String(Math.round(v * 100) / 100);
  return String(Number(v.toPrecision(3)));
}

function scaled(v: number, base: number, names: readonly string[], decimals?: number): string {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < names.length - 1) {
    x /= base;
    i++;
  }
  const name = names[i]!;
  return name ? `${trimmed(x, decimals)} ${name}` : trimmed(x, decimals);
}

function duration(sec: number, decimals?: number): string {
  const a = Math.abs(sec);
  if (a === 0) return "0 s";
  if (a < 1e-6) return `${trimmed(sec * 1e9, decimals)} ns`;
  if (a < 1e-3) return `${trimmed(sec * 1e6, decimals)} µs`;
  if (a < 1) return `${trimmed(sec * 1e3, decimals)} ms`;
  if (a < 60) return `${trimmed(sec, decimals)} s`;
  if (a < 3600) return `${trimmed(sec / 60, decimals)} min`;
  if (a < 86400) return `${trimmed(sec / 3600, decimals)} h`;
  return `${trimmed(sec / 86400, decimals)} d`;
}

/**
 * Formats `v` in `unit` with an optional fixed number of decimals
 * (`formatValue(1288490188.8, "bytes")` -> `"1.2 GiB"`,
 * `formatValue(0.34, "seconds")` -> `"340 ms"`, `formatValue(21.5, "celsius")`
 * -> `"21.5 °C"`). NaN prints as `NaN`, infinities as `+Inf`/`-Inf`.
 */
export function formatValue(v: number, unit = "", decimals?: number): string {
  if (v !== v) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  switch (unit) {
    case "":
    case "none":
      return scaled(v, 1000, SI, decimals);
    case "seconds":
      return duration(v, decimals);
    case "milliseconds":
      return duration(v / 1000, decimals);
    case "bytes":
      return Math.abs(v) < 1024 ? `${trimmed(v, decimals)} B` : scaled(v, 1024, IEC, decimals);
    case "bytes_per_second":
      return `${formatValue(v, "bytes", decimals)}/s`;
    case "bits":
      return `${scaled(v, 1000, SI, decimals)}b`.replace(/ b$/, " b");
    case "ratio":
      return `${trimmed(v * 100, decimals)}%`;
    case "percent":
      return `${trimmed(v, decimals)}%`;
    case "celsius":
      return `${trimmed(v, decimals ?? (Math.abs(v) < 100 ? 1 : undefined))} °C`;
    case "fahrenheit":
      return `${trimmed(v, decimals ?? (Math.abs(v) < 100 ? 1 : undefined))} °F`;
    case "volts":
      return `${scaled(v, 1000, SI, decimals)}V`.replace(/(\d)V$/, "$1 V");
    case "amperes":
      return `${scaled(v, 1000, SI, decimals)}A`.replace(/(\d)A$/, "$1 A");
    case "watts":
      return `${scaled(v, 1000, SI, decimals)}W`.replace(/(\d)W$/, "$1 W");
    case "joules":
      return `${scaled(v, 1000, SI, decimals)}J`.replace(/(\d)J$/, "$1 J");
    case "hertz":
      return `${scaled(v, 1000, SI, decimals)}Hz`.replace(/(\d)Hz$/, "$1 Hz");
    case "meters":
      return `${scaled(v, 1000, SI, decimals)}m`.replace(/(\d)m$/, "$1 m");
    case "grams":
      return `${scaled(v, 1000, SI, decimals)}g`.replace(/(\d)g$/, "$1 g");
    case "reqps":
      return `${scaled(v, 1000, SI, decimals)} req/s`;
    case "bits_per_second":
      return `${formatValue(v, "bits", decimals)}/s`;
    case "pps":
      return `${scaled(v, 1000, SI, decimals)} p/s`;
    case "ops":
      return `${scaled(v, 1000, SI, decimals)} ops/s`;
    case "iops":
      return `${scaled(v, 1000, SI, decimals)} io/s`;
    case "eps":
      return `${scaled(v, 1000, SI, decimals)} ev/s`;
    case "rpm":
      return `${scaled(v, 1000, SI, decimals)} rpm`;
    case "bool":
      return v === 0 ? "False" : "True";
    case "bool_yes_no":
      return v === 0 ? "No" : "Yes";
    case "bool_on_off":
      return v === 0 ? "Off" : "On";
    default:
      return `${scaled(v, 1000, SI, decimals)} ${unit}`;
  }
}
