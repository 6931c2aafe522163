/**
 * OTLP exponential histogram points -> native histograms, as Prometheus 3's
 * OTLP translator does it: the scale is the schema (a scale above 8 is
 * merged down to 8, below -4 is refused), the zero threshold is 1e-128
 * (OTLP's own threshold is not carried, as in Prometheus), and bucket `i` of
 * OTLP's (offset-based, lower-exclusive) layout is native bucket `i + 1`;
 * buckets are grouped into spans, bridging gaps of up to two empty buckets.
 *
 * @module
 */
import {
  type BucketSpan,
  type CounterResetHint,
  MAX_SCHEMA,
  MIN_SCHEMA,
  type NativeHistogram,
} from "../model/mod.ts";

/** Zero threshold of translated histograms (Prometheus's default for OTLP). */
export const OTLP_ZERO_THRESHOLD = 1e-128;

/** The exponential-histogram fields of an OTLP point. */
export interface OtlpExpBuckets {
  readonly scale: number;
  readonly zeroCount: number;
  readonly positiveOffset: number;
  readonly positive: readonly number[];
  readonly negativeOffset: number;
  readonly negative: readonly number[];
}

/**
 * Spans and absolute counts of one side, merged by `scaleDown` scales.
 * Native index of OTLP bucket i is ((offset + i) >> scaleDown) + 1. The
 * first span starts at the first bucket's native index; empty native buckets
 * are written as zeros when at most two lie between filled ones, a longer
 * run starts a new span; the last bucket is always written. This is
 * Prometheus's layout, except that it also places counts correctly when
 * merging scales across an all-empty native bucket (Prometheus's loop puts
 * such a count one bucket too low).
 */
export function convertBucketLayout(
  counts: readonly number[],
  offset: number,
  scaleDown: number,
): { spans: BucketSpan[]; buckets: number[] } {
  const spans: { offset: number; length: number }[] = [];
  const buckets: number[] = [];
  if (counts.length === 0) return { spans, buckets };
  let idx = (offset >> scaleDown) + 1;
  spans.push({ offset: idx, length: 0 });
  let last = idx - 1; // native index of the last bucket written
  const emit = (at: number, c: number) => {
    const gap = at - last - 1;
    if (gap > 2) spans.push({ offset: gap, length: 0 });
    else {
      for (let g = 0; g < gap; g++) buckets.push(0);
      spans[spans.length - 1]!.length += gap;
    }
    spans[spans.length - 1]!.length++;
    buckets.push(c);
    last = at;
  };
  let count = 0;
  for (let i = 0; i < counts.length; i++) {
    const next = ((offset + i) >> scaleDown) + 1;
    if (next !== idx) {
      if (count !== 0) emit(idx, count);
      idx = next;
      count = 0;
    }
    count += counts[i]!;
  }
  emit(idx, count);
  return { spans, buckets };
}

/**
 * Translates an exponential histogram point; returns why it cannot be
 * translated instead (a scale below -4).
 */
export function exponentialToNative(
  p: OtlpExpBuckets,
  count: number,
  sum: number | undefined,
  hint: CounterResetHint,
): NativeHistogram | string {
  let schema = p.scale;
  if (!Number.isInteger(schema) || schema < MIN_SCHEMA) {
    return `cannot convert exponential to native histogram: scale must be >= ${MIN_SCHEMA}, was ${schema}`;
  }
  let scaleDown = 0;
  if (schema > MAX_SCHEMA) {
    scaleDown = schema - MAX_SCHEMA;
    schema = MAX_SCHEMA;
  }
  const pos = convertBucketLayout(p.positive, p.positiveOffset, scaleDown);
  const neg = convertBucketLayout(p.negative, p.negativeOffset, scaleDown);
  return {
    schema,
    zeroThreshold: OTLP_ZERO_THRESHOLD,
    zeroCount: p.zeroCount,
    count,
    sum: sum ?? 0,
    positiveSpans: pos.spans,
    positiveBuckets: pos.buckets,
    negativeSpans: neg.spans,
    negativeBuckets: neg.buckets,
    float: false,
    counterResetHint: hint,
  };
}
