/**
 * Perch's own JSON push format (`POST /api/v1/metrics`), validated with zod
 * at the boundary (pure: text -> rows + problems).
 *
 * Accepted shapes, alone or in an array:
 * - `{"name", "type"?, "labels"?, "help"?, "unit"?, "samples": [{"value", "timestamp"?}]}`
 * - the flat form `{"name", "value", "labels"?, "timestamp"?, "type"?}`
 *
 * `type` is "counter" | "gauge" | "histogram" | "summary" | "untyped" or
 * 0 | 1 | 2 | 3 (counter, gauge, histogram, summary). Counter values must not
 * be negative. Label values may be strings, numbers or booleans (kept as text).
 *
 * Every problem of a metric is reported at once, each naming its field and
 * what is allowed (`name must not be empty`, `type must be counter, ...`,
 * `samples must not be empty`); a metric with any problem stores nothing.
 *
 * A histogram value is `{"buckets": {"0.1": n, ..., "+Inf": n}, "sum": s,
 * "count": c}` with cumulative bucket counts; it is stored as the classic
 * series `<name>_bucket{le}`, `<name>_sum` and `<name>_count`. Bucket
 * counts must not decrease with `le`; a missing `+Inf` bucket is taken from
 * `count`, and a present one must equal it.
 *
 * Timestamps (see {@linkcode parseJsonTimestamp}): RFC 3339 strings, or unix
 * time as a number or numeric string whose unit is inferred from its
 * magnitude. A missing timestamp means `now`.
 *
 * @module
 */
import { checkLabelName, checkMetricName, formatPath, type MetricType, z } from "../model/mod.ts";
import { NOT_JSON, ParsedRows, parseJsonBody } from "./rows.ts";
import { integerTextToMs, isIntegerText, parseNumber } from "./_util.ts";

/** Options for {@linkcode parseJsonMetrics}. */
export interface JsonParseOptions {
  /** Timestamp (ms) for samples without one. */
  readonly now: number;
}

const TYPE_MESSAGE = "type must be counter, gauge, histogram or summary (or 0\u20133)";
const VALUE_MESSAGE = "value must be a number or {buckets, sum, count}";

function histogramValueSchema() {
  return z.object({
    buckets: z.record(z.string(), z.number().check(z.nonnegative()), {
      error: "buckets must map bounds to non-negative counts",
    }),
    sum: z.number({ error: "sum must be a number" }),
    count: z.number({ error: "count must be a non-negative number" }).check(z.nonnegative({
      error: "count must be a non-negative number",
    })),
  });
}

function buildMetricSchema() {
  const histogramValue = histogramValueSchema();
  const value = z.union([z.number(), histogramValue], { error: VALUE_MESSAGE });
  const timestamp = z.optional(z.union([z.string(), z.number()], {
    error: "timestamp must be RFC 3339 or a unix time number",
  }));
  return z.object({
    name: z.string({ error: "name must be a string" }),
    type: z.optional(z.union([
      z.enum(["counter", "gauge", "histogram", "summary", "untyped"]),
      z.literal(0),
      z.literal(1),
      z.literal(2),
      z.literal(3),
    ], { error: TYPE_MESSAGE })),
    labels: z.optional(z.record(
      z.string(),
      z.union([z.string(), z.number(), z.boolean()], {
        error: "label value must be a string, number or boolean",
      }),
      { error: "labels must be an object of label names to values" },
    )),
    help: z.optional(z.string({ error: "help must be a string" })),
    unit: z.optional(z.string({ error: "unit must be a string" })),
    samples: z.optional(z.array(
      z.object({ value, timestamp }, { error: "a sample must be {value, timestamp}" }),
      {
        error: "samples must be a list of {value, timestamp}",
      },
    )),
    value: z.optional(value),
    timestamp,
  }, { error: "a metric must be a JSON object" });
}

let metricSchema: ReturnType<typeof buildMetricSchema> | undefined;

type HistogramValue = z.infer<ReturnType<typeof histogramValueSchema>>;

const NUMERIC_TYPES: readonly MetricType[] = ["counter", "gauge", "histogram", "summary"];

/** Seconds below this magnitude, then ms, µs, ns (see {@linkcode parseJsonTimestamp}). */
const SECONDS_BELOW = 1e11, MILLIS_BELOW = 1e14, MICROS_BELOW = 1e17;

const RFC3339_REGEXP = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Converts a JSON timestamp to ms, or returns an error message.
 *
 * - RFC 3339 strings (`2024-01-01T12:00:00Z`, `...T12:00:00.123456789+02:00`),
 *   sub-millisecond digits truncated.
 * - Numbers and numeric strings: unix time whose unit comes from the
 *   magnitude of the value: below 1e11 seconds (fractions allowed; 1e11 s is
 *   the year 5138), below 1e14 milliseconds, below 1e17 microseconds, else
 *   nanoseconds. So any date between 1973 and 5138 is read right in every
 *   unit. Integer strings are converted exactly, even beyond 2^53 ns.
 */
export function parseJsonTimestamp(ts: string | number): number | string {
  if (typeof ts === "number") {
    if (!Number.isFinite(ts)) return "timestamp must be a finite number";
    const a = Math.abs(ts);
    if (a < SECONDS_BELOW) return Math.round(ts * 1000);
    if (a < MILLIS_BELOW) return Math.round(ts);
    if (a < MICROS_BELOW) return Math.floor(ts / 1000);
    return Math.floor(ts / 1e6);
  }
  const s = ts.trim();
  if (isIntegerText(s)) {
    const digits = s.replace(/^[+-]/, "").replace(/^0+(?=\d)/, "").length;
    // Digits of 1e11, 1e14, 1e17 are 12, 15 and 18.
    if (digits < 12) return Number(s) * 1000;
    if (digits < 15) return Number(s);
    if (digits < 18) return integerTextToMs(s, 3, 1);
    return integerTextToMs(s, 6, 1);
  }
  const n = parseNumber(s);
  if (n !== undefined) return parseJsonTimestamp(n);
  const m = RFC3339_REGEXP.exec(s);
  if (m) {
    const frac = m[2] ? m[2].slice(0, 4) : "";
    const ms = Date.parse(`${m[1]!.replace(" ", "T")}${frac}${m[3]!.toUpperCase()}`);
    if (Number.isFinite(ms)) return ms;
  }
  return "timestamp must be RFC 3339 or a unix time number";
}

function show(v: unknown): string {
  if (v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** Parses a JSON push body into rows; never throws on bad input. */
export function parseJsonMetrics(text: string, options: JsonParseOptions): ParsedRows {
  const rows = new ParsedRows();
  const doc = parseJsonBody(text, rows);
  if (doc === NOT_JSON) return rows;
  if (Array.isArray(doc)) {
    for (let i = 0; i < doc.length; i++) metric(rows, doc[i], `[${i}]`, options.now);
  } else {
    metric(rows, doc, "", options.now);
  }
  return rows;
}

/**
 * Problems of one metric that do not depend on the others: the name, label
 * names, and the choice between `value` and `samples`. Checked on the raw
 * input, so they are reported together with any type errors.
 */
function metricProblems(input: unknown): [path: string, value: unknown, message: string][] {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return [];
  const m = input as Record<string, unknown>;
  const out: [string, unknown, string][] = [];
  if (m.name === "") out.push(["name", "", "name must not be empty"]);
  else if (typeof m.name === "string") {
    const problem = checkMetricName(m.name);
    if (problem) out.push(["name", m.name, problem]);
  }
  if (m.labels !== null && typeof m.labels === "object" && !Array.isArray(m.labels)) {
    for (const k in m.labels) {
      const problem = checkLabelName(k);
      if (problem) out.push([`labels.${k}`, k, problem]);
    }
  }
  if (m.samples !== undefined && m.value !== undefined) {
    out.push(["value", m.value, 'give either "value" or "samples", not both']);
  } else if (m.samples === undefined && m.value === undefined) {
    out.push(["", "", 'metric needs "value" or "samples"']);
  } else if (Array.isArray(m.samples) && m.samples.length === 0) {
    // Refused rather than ignored, so a bad name or label is never silently let through.
    out.push(["samples", "[]", "samples must not be empty"]);
  }
  return out;
}

const FIELD_ORDER = ["name", "type", "labels", "help", "unit", "value", "samples", "timestamp"];

function metric(rows: ParsedRows, input: unknown, where: string, now: number): void {
  // Built at the first JSON push: start-up needs none of it.
  const parsed = (metricSchema ??= buildMetricSchema()).safeParse(input);
  const problems = metricProblems(input);
  if (!parsed.success || problems.length > 0) {
    for (const issue of parsed.error?.issues ?? []) {
      problems.push([formatPath(issue.path) || "body", valueAt(input, issue.path), issue.message]);
    }
    // In the order of the documented shape, so the report reads top to bottom.
    const rank = (path: string) => {
      const i = FIELD_ORDER.indexOf(path.split(/[.[]/)[0]!);
      return i < 0 ? FIELD_ORDER.length : i;
    };
    problems.sort((a, b) => rank(a[0]) - rank(b[0]));
    for (const [path, value, message] of problems) {
      rows.addError(
        path === "" || path === "body"
          ? (where === "" ? "body" : where)
          : `${where}${where === "" || path.startsWith("[") ? "" : "."}${path}`,
        show(value),
        message,
      );
    }
    rows.invalidSamples++;
    return;
  }
  const m = parsed.data;
  const at = (field: string) => (where === "" ? field : `${where}.${field}`);
  const type: MetricType | undefined = typeof m.type === "number" ? NUMERIC_TYPES[m.type] : m.type;
  const labels: string[] = [];
  for (const k in m.labels) {
    if (k === "le" && type === "histogram") {
      rows.addError(
        at("labels.le"),
        show(m.labels[k]),
        'label "le" is set by Perch for histograms',
      );
      rows.invalidSamples++;
      return;
    }
    labels.push(k, String(m.labels[k]));
  }
  if (type !== undefined || m.help !== undefined || m.unit !== undefined) {
    rows.metadata.set(m.name, { type: type ?? "untyped", help: m.help ?? "", unit: m.unit ?? "" });
  }
  const samples = m.samples ?? [{ value: m.value!, timestamp: m.timestamp }];
  const sampleAt = (k: number, f: string) =>
    m.samples === undefined ? at(f) : at(`samples[${k}]${f === "" ? "" : "." + f}`);
  let plain = -1;
  for (let k = 0; k < samples.length; k++) {
    const s = samples[k]!;
    let t = now;
    if (s.timestamp !== undefined) {
      const r = parseJsonTimestamp(s.timestamp);
      if (typeof r === "string") {
        rows.addError(sampleAt(k, "timestamp"), show(s.timestamp), r);
        rows.invalidSamples++;
        continue;
      }
      t = r;
    }
    if (typeof s.value === "number") {
      if (type === "histogram") {
        rows.addError(
          sampleAt(k, "value"),
          show(s.value),
          "histogram value must be {buckets, sum, count}",
        );
        rows.invalidSamples++;
        continue;
      }
      if (type === "counter" && s.value < 0) {
        rows.addError(sampleAt(k, "value"), show(s.value), "counter value must not be negative");
        rows.invalidSamples++;
        continue;
      }
      if (plain < 0) plain = rows.addSeries(m.name, labels, "", where === "" ? "body" : where);
      rows.addSample(plain, t, s.value);
    } else {
      if (type !== undefined && type !== "histogram") {
        rows.addError(sampleAt(k, "value"), show(s.value), `a ${type} value must be a number`);
        rows.invalidSamples++;
        continue;
      }
      histogram(rows, m.name, labels, s.value, t, sampleAt(k, "value"), where);
    }
  }
}

function histogram(
  rows: ParsedRows,
  name: string,
  labels: string[],
  h: HistogramValue,
  t: number,
  at: string,
  where: string,
): void {
  const buckets: [number, string, number][] = [];
  let inf: number | undefined;
  for (const key in h.buckets) {
    const le = parseNumber(key.trim());
    if (le === undefined || le !== le) {
      rows.addError(`${at}.buckets`, key, "bucket bound must be a number or +Inf");
      rows.invalidSamples++;
      return;
    }
    if (le === Infinity) inf = h.buckets[key]!;
    else buckets.push([le, String(le), h.buckets[key]!]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < buckets.length; i++) {
    if (buckets[i]![2] < buckets[i - 1]![2]) {
      rows.addError(
        `${at}.buckets`,
        buckets[i]![1],
        "bucket counts must be cumulative (not decreasing as le grows)",
      );
      rows.invalidSamples++;
      return;
    }
  }
  if (inf !== undefined && inf !== h.count) {
    rows.addError(`${at}.count`, show(h.count), `count must equal the +Inf bucket (${inf})`);
    rows.invalidSamples++;
    return;
  }
  const last = buckets.length > 0 ? buckets[buckets.length - 1]![2] : 0;
  if (h.count < last) {
    rows.addError(`${at}.count`, show(h.count), "count must not be below the largest bucket count");
    rows.invalidSamples++;
    return;
  }
  buckets.push([Infinity, "+Inf", h.count]);
  const w = where === "" ? "body" : where;
  for (const [, le, n] of buckets) {
    const j = rows.addSeries(`${name}_bucket`, [...labels, "le", le], "", w);
    rows.addSample(j, t, n);
  }
  rows.addSample(rows.addSeries(`${name}_sum`, labels, "", w), t, h.sum);
  rows.addSample(rows.addSeries(`${name}_count`, labels, "", w), t, h.count);
}
