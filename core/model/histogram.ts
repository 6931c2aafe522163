/**
 * Native (sparse) histograms, as Prometheus defines them: exponential
 * buckets of base 2^(2^-schema) for schemas -4...8, or custom bucket bounds
 * for schema -53 (`customValues` are the upper bounds, the last bucket is
 * +Inf).
 *
 * One type serves integer and float histograms: bucket counts are kept as
 * absolute float64 counts (the wire's integer deltas are resolved when
 * decoding), and `float` says which kind the sender used, so a re-encoder
 * can write the same kind back.
 *
 * A bucket's index follows from the spans: the first span's offset is the
 * index of its first bucket, each later span's offset is the gap after the
 * previous span. For an exponential schema, bucket `i` of the positive side
 * covers (base^(i-1), base^i]; of the negative side, the mirror image.
 *
 * @module
 */

/** A run of `length` consecutive buckets, `offset` buckets after the previous run. */
export interface BucketSpan {
  readonly offset: number;
  readonly length: number;
}

/** Counter reset hint, as remote write sends it. */
export type CounterResetHint = "unknown" | "reset" | "not_reset" | "gauge";

/**
 * Every hint, in the order of their numbers in Prometheus's remote write
 * enum and in histogram chunk headers (the index is the wire value).
 */
export const COUNTER_RESET_HINTS: readonly CounterResetHint[] = [
  "unknown",
  "reset",
  "not_reset",
  "gauge",
];

/** One native histogram sample's value. */
export interface NativeHistogram {
  /** -4...8 exponential, or {@linkcode CUSTOM_BUCKETS_SCHEMA}. */
  readonly schema: number;
  /** Width of the zero bucket ([-zt, zt]); 0 for custom buckets. */
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  /** Observations in total. */
  readonly count: number;
  /** Sum of observations. */
  readonly sum: number;
  readonly positiveSpans: readonly BucketSpan[];
  /** Absolute count of each positive bucket, in span order. */
  readonly positiveBuckets: readonly number[];
  readonly negativeSpans: readonly BucketSpan[];
  readonly negativeBuckets: readonly number[];
  /** Upper bounds of the custom buckets (schema -53 only), ascending. */
  readonly customValues?: readonly number[];
  /** Sent as a float histogram (counts may be fractional). */
  readonly float: boolean;
  readonly counterResetHint: CounterResetHint;
}

/** The schema of histograms with custom bucket bounds (NHCB). */
export const CUSTOM_BUCKETS_SCHEMA = -53;
/** Finest exponential schema. */
export const MAX_SCHEMA = 8;
/** Coarsest exponential schema. */
export const MIN_SCHEMA = -4;

function spanTotal(spans: readonly BucketSpan[]): number {
  let n = 0;
  for (const s of spans) n += s.length;
  return n;
}

function checkSide(
  side: "positive" | "negative",
  spans: readonly BucketSpan[],
  buckets: readonly number[],
  float: boolean,
): string | undefined {
  for (let k = 0; k < spans.length; k++) {
    const s = spans[k]!;
    if (!Number.isInteger(s.offset) || !Number.isInteger(s.length) || s.length < 0) {
      return `${side}_spans[${k}] is not a valid span`;
    }
    if (k > 0 && s.offset < 0) {
      return `${side}_spans[${k}] has a negative offset ${s.offset}`;
    }
  }
  const want = spanTotal(spans);
  if (want !== buckets.length) {
    return `${side} spans cover ${want} buckets but ${buckets.length} bucket counts are given`;
  }
  for (let k = 0; k < buckets.length; k++) {
    const c = buckets[k]!;
    if (!(c >= 0) || !Number.isFinite(c)) return `${side} bucket ${k} has count ${c}`;
    if (!float && !Number.isInteger(c)) return `${side} bucket ${k} has count ${c}`;
  }
  return undefined;
}

/**
 * Checks a histogram as Prometheus's Validate does; returns why it is
 * invalid (naming the field), or undefined.
 */
export function checkHistogram(h: NativeHistogram): string | undefined {
  const custom = h.schema === CUSTOM_BUCKETS_SCHEMA;
  if (!custom && (h.schema < MIN_SCHEMA || h.schema > MAX_SCHEMA || !Number.isInteger(h.schema))) {
    return `schema ${h.schema} is out of range (${MIN_SCHEMA}\u2026${MAX_SCHEMA} or ${CUSTOM_BUCKETS_SCHEMA})`;
  }
  if (custom) {
    const cv = h.customValues ?? [];
    for (let k = 0; k < cv.length; k++) {
      if (!Number.isFinite(cv[k]!)) return `custom_values[${k}] is ${cv[k]}, must be finite`;
      if (k > 0 && !(cv[k]! > cv[k - 1]!)) {
        return `custom_values must be strictly increasing (custom_values[${k}] = ${cv[k]})`;
      }
    }
    if (h.negativeSpans.length > 0 || h.negativeBuckets.length > 0) {
      return "histograms with custom buckets cannot have negative buckets";
    }
    if (h.zeroCount !== 0 || h.zeroThreshold !== 0) {
      return "histograms with custom buckets cannot have a zero bucket";
    }
    // Bucket indexes run 0...len(custom_values): the last one is +Inf.
    let idx = -1;
    for (const s of h.positiveSpans) {
      idx += s.offset + s.length;
      if (idx > cv.length) {
        return `positive spans reach bucket ${idx}, past the ${cv.length + 1} custom buckets`;
      }
    }
  } else if ((h.customValues?.length ?? 0) > 0) {
    return "custom_values are only allowed with schema -53";
  }
  if (!(h.zeroThreshold >= 0)) return `zero_threshold ${h.zeroThreshold} is negative`;
  for (const [f, v] of [["zero_count", h.zeroCount], ["count", h.count]] as const) {
    if (!(v >= 0) || (!h.float && !Number.isInteger(v))) return `${f} ${v} is not a valid count`;
  }
  const bad = checkSide("negative", h.negativeSpans, h.negativeBuckets, h.float) ??
    checkSide("positive", h.positiveSpans, h.positiveBuckets, h.float);
  if (bad) return bad;
  // Float histograms are not checked against their count (rounding), as in Prometheus.
  if (h.float) return undefined;
  let total = h.zeroCount;
  for (const c of h.positiveBuckets) total += c;
  for (const c of h.negativeBuckets) total += c;
  if (Number.isNaN(h.sum) ? total > h.count : total !== h.count) {
    return `count ${h.count} does not match the ${total} observations in its buckets`;
  }
  return undefined;
}

/** Absolute bucket counts from integer deltas (the remote write / chunk form). */
export function countsFromDeltas(deltas: ArrayLike<number>): number[] {
  const out = new Array<number>(deltas.length);
  let c = 0;
  for (let k = 0; k < deltas.length; k++) {
    c += deltas[k]!;
    out[k] = c;
  }
  return out;
}

/** Integer deltas from absolute bucket counts. */
export function deltasFromCounts(counts: readonly number[]): number[] {
  const out = new Array<number>(counts.length);
  let prev = 0;
  for (let k = 0; k < counts.length; k++) {
    out[k] = counts[k]! - prev;
    prev = counts[k]!;
  }
  return out;
}

/** Two histograms are the same value (used for duplicate detection and tests). */
export function histogramsEqual(a: NativeHistogram, b: NativeHistogram): boolean {
  const same = (x: readonly number[], y: readonly number[]) =>
    x.length === y.length && x.every((v, k) => Object.is(v, y[k]));
  const spans = (x: readonly BucketSpan[], y: readonly BucketSpan[]) =>
    x.length === y.length &&
    x.every((s, k) => s.offset === y[k]!.offset && s.length === y[k]!.length);
  return a.schema === b.schema && a.zeroThreshold === b.zeroThreshold &&
    a.zeroCount === b.zeroCount && a.count === b.count && Object.is(a.sum, b.sum) &&
    spans(a.positiveSpans, b.positiveSpans) && spans(a.negativeSpans, b.negativeSpans) &&
    same(a.positiveBuckets, b.positiveBuckets) && same(a.negativeBuckets, b.negativeBuckets) &&
    same(a.customValues ?? [], b.customValues ?? []);
}
