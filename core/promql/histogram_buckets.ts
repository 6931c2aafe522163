/**
 * The buckets of a native histogram with their boundaries, as Prometheus's
 * bucket iterators give them: negative buckets, the zero bucket (when it has
 * observations), positive buckets, in ascending (or descending) order of
 * values. A negative bucket's upper bound or a positive bucket's lower bound
 * inside the zero bucket is moved to its edge.
 *
 * @module
 */
import { jsonFloat } from "../model/mod.ts";
import { formatG } from "../model/mod.ts";
import type { FloatHistogram } from "./float_histogram.ts";
import { bucketBound, CUSTOM_SCHEMA } from "./histogram_bounds.ts";

/** One bucket with its boundaries. */
export interface Bucket {
  lower: number;
  upper: number;
  lowerInclusive: boolean;
  upperInclusive: boolean;
  count: number;
}

/** Bucket `k` of the positive or negative side, bounds not clipped to the zero bucket. */
export function sideBucket(h: FloatHistogram, positive: boolean, k: number): Bucket {
  if (positive) {
    const idx = h.pIdx[k]!;
    const lower = bucketBound(idx - 1, h.schema, h.customValues);
    const upper = bucketBound(idx, h.schema, h.customValues);
    const custom = h.schema === CUSTOM_SCHEMA;
    return {
      lower,
      upper,
      lowerInclusive: custom ? idx === 0 : lower < 0,
      upperInclusive: custom ? true : upper > 0,
      count: h.pCnt[k]!,
    };
  }
  const idx = h.nIdx[k]!;
  const lower = -bucketBound(idx, h.schema, undefined);
  const upper = -bucketBound(idx - 1, h.schema, undefined);
  return { lower, upper, lowerInclusive: lower < 0, upperInclusive: upper > 0, count: h.nCnt[k]! };
}

function positive(h: FloatHistogram, k: number): Bucket {
  const b = sideBucket(h, true, k);
  if (b.lower > 0 && b.lower < h.zeroThreshold) b.lower = h.zeroThreshold;
  return b;
}

function negative(h: FloatHistogram, k: number): Bucket {
  const b = sideBucket(h, false, k);
  if (b.upper < 0 && b.upper > -h.zeroThreshold) b.upper = -h.zeroThreshold;
  return b;
}

function zero(h: FloatHistogram): Bucket {
  return {
    lower: -h.zeroThreshold,
    upper: h.zeroThreshold,
    lowerInclusive: true,
    upperInclusive: true,
    count: h.zeroCount,
  };
}

/** Every bucket, lowest values first (or highest first with `reverse`). */
export function allBuckets(h: FloatHistogram, reverse = false): Bucket[] {
  const out: Bucket[] = [];
  if (!reverse) {
    for (let k = h.nIdx.length - 1; k >= 0; k--) out.push(negative(h, k));
    if (h.zeroCount > 0) out.push(zero(h));
    for (let k = 0; k < h.pIdx.length; k++) out.push(positive(h, k));
  } else {
    for (let k = h.pIdx.length - 1; k >= 0; k--) out.push(positive(h, k));
    if (h.zeroCount > 0) out.push(zero(h));
    for (let k = 0; k < h.nIdx.length; k++) out.push(negative(h, k));
  }
  return out;
}

/** A native histogram in the HTTP API's JSON (`histogram` / `histograms` of a result). */
export interface HistogramApiJson {
  count: string;
  sum: string;
  /** Populated buckets: `[boundaries, lower, upper, count]`, lowest first. */
  buckets?: [number, string, string, string][];
}

/**
 * A native histogram as Prometheus's API writes it: count, sum and the
 * populated buckets as `[boundaries, lower, upper, count]`, where boundaries
 * is 0 (upper inclusive), 1 (lower inclusive), 2 (neither) or 3 (both).
 */
export function histogramApiJson(h: FloatHistogram): HistogramApiJson {
  const out: HistogramApiJson = { count: jsonFloat(h.count), sum: jsonFloat(h.sum) };
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    const kind = b.lowerInclusive ? (b.upperInclusive ? 3 : 1) : (b.upperInclusive ? 0 : 2);
    (out.buckets ??= []).push([kind, jsonFloat(b.lower), jsonFloat(b.upper), jsonFloat(b.count)]);
  }
  return out;
}

/** Prometheus's `FloatHistogram.String()`: `{count:..., sum:..., [lower,upper):count, ...}`. */
export function histogramString(h: FloatHistogram): string {
  const b = (x: Bucket) =>
    `${x.lowerInclusive ? "[" : "("}${formatG(x.lower)},${formatG(x.upper)}${
      x.upperInclusive ? "]" : ")"
    }:${formatG(x.count)}`;
  let s = `{count:${formatG(h.count)}, sum:${formatG(h.sum)}`;
  for (let k = h.nIdx.length - 1; k >= 0; k--) {
    if (h.nCnt[k] !== 0) s += ", " + b(negative(h, k));
  }
  if (h.zeroCount !== 0) s += ", " + b(zero(h));
  for (let k = 0; k < h.pIdx.length; k++) if (h.pCnt[k] !== 0) s += ", " + b(positive(h, k));
  return s + "}";
}
