/**
 * Values in export and import. A float is a JSON number when finite, else
 * one of the strings `"NaN"`, `"Inf"`, `"-Inf"`, `"StaleNaN"` (Perch's
 * staleness marker), so a round trip is lossless; import also accepts
 * `"+Inf"`, numeric strings and `null` (NaN).
 *
 * A native histogram is a JSON object, lossless too (the stored layout, not
 * the bucket bounds the query API shows):
 *
 * ```json
 * {"schema":3,"zero_threshold":0.001,"zero_count":2,"count":10,"sum":2.5,
 *  "positive_spans":[{"offset":2,"length":2}],"positive_buckets":[3,5],
 *  "negative_spans":[{"offset":-1,"length":1}],"negative_buckets":[0],
 *  "custom_values":[0.1,0.5],"float":true,"reset_hint":"reset"}
 * ```
 *
 * Bucket counts are absolute (not deltas). Empty span and bucket lists,
 * `custom_values` (schema -53 only), `float` (false) and `reset_hint`
 * (`unknown`) may be left out. A non-finite `sum` is a string as export
 * values are (`"NaN"`, `"Inf"`, `"-Inf"`, `"StaleNaN"`).
 *
 * @module
 */
import {
  type BucketSpan,
  checkHistogram,
  COUNTER_RESET_HINTS,
  type CounterResetHint,
  isStaleNaN,
  type NativeHistogram,
  STALE_NAN,
} from "../model/mod.ts";

/** The text of a value in export. */
export function formatExportValue(v: number): string | number {
  if (Number.isFinite(v)) return v;
  if (v === Infinity) return "Inf";
  if (v === -Infinity) return "-Inf";
  return isStaleNaN(v) ? "StaleNaN" : "NaN";
}

/** The value of an export text or number; undefined when it is neither. */
export function parseExportValue(x: unknown): number | undefined {
  if (typeof x === "number") return x;
  if (x === null) return NaN;
  switch (x) {
    case "NaN":
      return NaN;
    case "Inf":
    case "+Inf":
      return Infinity;
    case "-Inf":
      return -Infinity;
    case "StaleNaN":
      return STALE_NAN;
  }
  if (typeof x === "string" && x.trim() !== "" && Number.isFinite(Number(x))) return Number(x);
  return undefined;
}

/** The JSON object of a histogram (see the module doc). */
export function histogramToJson(h: NativeHistogram): Record<string, unknown> {
  const o: Record<string, unknown> = {
    schema: h.schema,
    zero_threshold: h.zeroThreshold,
    zero_count: h.zeroCount,
    count: h.count,
    sum: formatExportValue(h.sum),
  };
  if (h.positiveSpans.length > 0) {
    o.positive_spans = h.positiveSpans.map((s) => ({ offset: s.offset, length: s.length }));
    o.positive_buckets = h.positiveBuckets;
  }
  if (h.negativeSpans.length > 0) {
    o.negative_spans = h.negativeSpans.map((s) => ({ offset: s.offset, length: s.length }));
    o.negative_buckets = h.negativeBuckets;
  }
  if (h.customValues && h.customValues.length > 0) o.custom_values = h.customValues;
  if (h.float) o.float = true;
  if (h.counterResetHint !== "unknown") o.reset_hint = h.counterResetHint;
  return o;
}

/** Thrown by {@linkcode histogramFromJson}: `field` names the bad part. */
export class HistogramJsonError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = "HistogramJsonError";
  }
}

function num(o: Record<string, unknown>, k: string, def?: number): number {
  const x = o[k];
  if (x === undefined && def !== undefined) return def;
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new HistogramJsonError(k, `${k} must be a finite number`);
  }
  return x;
}

function nums(o: Record<string, unknown>, k: string): number[] {
  const x = o[k] ?? [];
  if (!Array.isArray(x) || x.some((v) => typeof v !== "number" || !Number.isFinite(v))) {
    throw new HistogramJsonError(k, `${k} must be an array of finite numbers`);
  }
  return x;
}

function spans(o: Record<string, unknown>, k: string): BucketSpan[] {
  const x = o[k] ?? [];
  if (!Array.isArray(x)) throw new HistogramJsonError(k, `${k} must be an array of spans`);
  return x.map((s, i) => {
    const sp = s as Record<string, unknown>;
    if (typeof s !== "object" || s === null) {
      throw new HistogramJsonError(`${k}[${i}]`, "a span must be {offset, length}");
    }
    return { offset: num(sp, "offset"), length: num(sp, "length") };
  });
}

/**
 * Reads the JSON object of a histogram and checks it as remote write
 * histograms are checked; throws {@linkcode HistogramJsonError}.
 */
export function histogramFromJson(x: unknown): NativeHistogram {
  if (typeof x !== "object" || x === null || Array.isArray(x)) {
    throw new HistogramJsonError("", "a histogram must be an object");
  }
  const o = x as Record<string, unknown>;
  const sum = parseExportValue(o.sum);
  if (sum === undefined) throw new HistogramJsonError("sum", "sum must be a number");
  const hint = o.reset_hint ?? "unknown";
  if (!COUNTER_RESET_HINTS.includes(hint as CounterResetHint)) {
    throw new HistogramJsonError(
      "reset_hint",
      `reset_hint must be one of ${COUNTER_RESET_HINTS.join(", ")}`,
    );
  }
  if (o.float !== undefined && typeof o.float !== "boolean") {
    throw new HistogramJsonError("float", "float must be true or false");
  }
  const custom = o.custom_values === undefined ? undefined : nums(o, "custom_values");
  const h: NativeHistogram = {
    schema: num(o, "schema"),
    zeroThreshold: num(o, "zero_threshold", 0),
    zeroCount: num(o, "zero_count", 0),
    count: num(o, "count"),
    sum,
    positiveSpans: spans(o, "positive_spans"),
    positiveBuckets: nums(o, "positive_buckets"),
    negativeSpans: spans(o, "negative_spans"),
    negativeBuckets: nums(o, "negative_buckets"),
    ...(custom ? { customValues: custom } : {}),
    float: o.float === true,
    counterResetHint: hint as CounterResetHint,
  };
  const bad = checkHistogram(h);
  if (bad) throw new HistogramJsonError("", bad);
  return h;
}
