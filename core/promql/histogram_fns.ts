/**
 * Estimates from native histograms, as Prometheus computes them
 * (`promql/quantile.go`, `functions.go`, `FloatHistogram.TrimBuckets`):
 * quantiles and fractions interpolate linearly in custom and zero buckets
 * and logarithmically in exponential buckets; the variance puts each
 * bucket's observations at its (geometric or arithmetic) mean; trimming
 * keeps the observations below or above a value.
 *
 * @module
 */
import type { FloatHistogram } from "./float_histogram.ts";
import { kahanInc } from "./float_histogram.ts";
import { allBuckets, type Bucket, sideBucket } from "./histogram_buckets.ts";

/** A quantile and the infos Prometheus attaches to it. */
export interface QuantileResult {
  readonly value: number;
  /** The result is NaN because of NaN observations. */
  readonly nanResult?: boolean;
  /** NaN observations push the result higher. */
  readonly nanSkew?: boolean;
}

/**
 * The fraction of bucket `b` at or below `v` (strictly inside its finite
 * bounds): linear, or on a logarithmic scale (mirrored for negative buckets).
 */
function fractionBelow(b: Bucket, v: number, linear: boolean): number {
  if (linear) return (v - b.lower) / (b.upper - b.lower);
  const logLower = Math.log2(Math.abs(b.lower)), logUpper = Math.log2(Math.abs(b.upper));
  const logV = Math.log2(Math.abs(v));
  if (v > 0) return (logV - logLower) / (logUpper - logLower);
  return 1 - (logV - logUpper) / (logLower - logUpper);
}

/** The phi-quantile of a native histogram (Prometheus's HistogramQuantile). */
export function histogramQuantile(q: number, h: FloatHistogram): QuantileResult {
  if (q < 0) return { value: -Infinity };
  if (q > 1) return { value: Infinity };
  if (h.count === 0 || Number.isNaN(q)) return { value: NaN };
  const forward = Number.isNaN(h.sum) || q < 0.5;
  const buckets = allBuckets(h, !forward);
  let rank = forward ? q * h.count : (1 - q) * h.count;
  let bucket: Bucket = {
    lower: 0,
    upper: 0,
    lowerInclusive: false,
    upperInclusive: false,
    count: 0,
  };
  let count = 0, k = 0;
  while (k < buckets.length) {
    bucket = { ...buckets[k++]! };
    if (bucket.count === 0) continue;
    count += bucket.count;
    if (count >= rank) break;
  }
  if (!h.usesCustomBuckets && bucket.lower < 0 && bucket.upper > 0) {
    if (h.nIdx.length === 0 && h.pIdx.length > 0) bucket.lower = 0;
    else if (h.pIdx.length === 0 && h.nIdx.length > 0) bucket.upper = 0;
  } else if (h.usesCustomBuckets) {
    if (bucket.lower === -Infinity) {
      if (bucket.upper <= 0) return { value: bucket.upper };
      bucket.lower = 0;
    } else if (bucket.upper === Infinity) return { value: bucket.lower };
  }
  if (count > h.count) count = h.count;
  if (count < rank) {
    if (Number.isNaN(h.sum)) return { value: NaN, nanResult: true };
    return { value: bucket.upper };
  }
  if (forward) rank -= count - bucket.count;
  else rank = count - rank;
  let nanSkew = false;
  if (Number.isNaN(h.sum)) {
    while (k < buckets.length) count += buckets[k++]!.count;
    nanSkew = count < h.count;
  }
  const fraction = rank / bucket.count;
  let value: number;
  if (h.usesCustomBuckets || (bucket.lower <= 0 && bucket.upper >= 0)) {
    value = bucket.lower + (bucket.upper - bucket.lower) * fraction;
  } else {
    const logLower = Math.log2(Math.abs(bucket.lower)),
      logUpper = Math.log2(Math.abs(bucket.upper));
    value = bucket.lower > 0
      ? 2 ** (logLower + (logUpper - logLower) * fraction)
      : -(2 ** (logUpper + (logLower - logUpper) * (1 - fraction)));
  }
  return nanSkew ? { value, nanSkew } : { value };
}

/**
 * The estimated fraction of observations between `lower` and `upper`
 * (Prometheus's HistogramFraction); `nans` when NaN observations were left out.
 */
export function histogramFraction(
  lower: number,
  upper: number,
  h: FloatHistogram,
): { value: number; nans: boolean } {
  if (h.count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) {
    return { value: NaN, nans: false };
  }
  if (lower >= upper) return { value: 0, nans: false };
  const buckets = allBuckets(h);
  let count = 0, rank = 0, lowerRank = 0, upperRank = 0;
  let lowerSet = false, upperSet = false, k = 0;
  while (k < buckets.length) {
    const b = { ...buckets[k++]! };
    count += b.count;
    let zeroBucket = false;
    if (b.lower <= 0 && b.upper >= 0) {
      zeroBucket = true;
      if (h.nIdx.length === 0 && h.pIdx.length > 0) b.lower = 0;
      else if (h.pIdx.length === 0 && h.nIdx.length > 0) b.upper = 0;
    }
    const linear = h.usesCustomBuckets || zeroBucket;
    const rankAt = (v: number) => {
      if (linear && b.lower === -Infinity) return b.count;
      return rank + b.count * fractionBelow(b, v, linear);
    };
    if (!lowerSet && b.lower >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && b.lower >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && b.lower < lower && b.upper > lower) {
      lowerRank = rankAt(lower);
      lowerSet = true;
    }
    if (!upperSet && b.lower < upper && b.upper > upper) {
      upperRank = rankAt(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += b.count;
  }
  let nans = false;
  if (Number.isNaN(h.sum)) {
    while (k < buckets.length) count += buckets[k++]!.count;
    nans = count < h.count;
  } else count = h.count;
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return { value: (upperRank - lowerRank) / h.count, nans };
}

/**
 * The variance of the observations, each bucket's at its mean: arithmetic
 * for custom buckets, 0 in the zero bucket, geometric otherwise.
 */
export function histogramVariance(h: FloatHistogram): number {
  const mean = h.sum / h.count;
  let variance = 0, c = 0;
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    let val: number;
    if (h.usesCustomBuckets) val = (b.upper + b.lower) / 2;
    else if (b.lower <= 0 && b.upper >= 0) val = 0;
    else {
      val = Math.sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    const delta = val - mean;
    [variance, c] = kahanInc(b.count * delta * delta, variance, c);
  }
  return (variance + c) / h.count;
}

/** Where observations surviving a trim are assumed to sit on average. */
function midpoint(lo: number, hi: number, positive: boolean, linear: boolean): number {
  const loInf = lo === Infinity || lo === -Infinity, hiInf = hi === Infinity || hi === -Infinity;
  if (loInf) {
    if (hiInf) return 0;
    return hi > 0 ? hi / 2 : hi;
  }
  if (hiInf) return lo;
  if (linear) return (lo + hi) / 2;
  const geo = Math.sqrt(Math.abs(lo * hi));
  return positive ? geo : -geo;
}

/** Trimming a bucket with an infinite bound: what is kept and where it sits. */
function trimInfinite(upperTrim: boolean, b: Bucket, rhs: number): [number, number] {
  const zeroIfInf = (x: number) => (x === Infinity || x === -Infinity ? 0 : x);
  if (b.lower === -Infinity) {
    if (upperTrim) {
      if (rhs >= b.upper) return [b.count, 0];
      if (rhs > 0 && b.upper > 0 && b.upper !== Infinity) return [b.count * rhs / b.upper, rhs / 2];
      if (b.upper <= 0) return [b.count, rhs];
      return [0, zeroIfInf(b.upper)];
    }
    if (rhs <= b.lower) return [b.count, 0];
    if (rhs >= 0 && b.upper > rhs && b.upper !== Infinity) {
      return [b.count * (1 - rhs / b.upper), (rhs + b.upper) / 2];
    }
    return [0, zeroIfInf(b.upper)];
  }
  if (upperTrim) return [0, zeroIfInf(b.lower)];
  if (rhs >= b.lower) return [b.count, rhs];
  return [0, zeroIfInf(b.lower)];
}

function trimBucket(
  b: Bucket,
  rhs: number,
  upperTrim: boolean,
  positive: boolean,
  custom: boolean,
): [number, number] {
  if (b.lower === -Infinity || b.upper === Infinity) return trimInfinite(upperTrim, b, rhs);
  const under = rhs <= b.lower
    ? 0
    : rhs >= b.upper
    ? b.count
    : b.count * fractionBelow(b, rhs, custom);
  if (upperTrim) return [under, midpoint(b.lower, rhs, positive, custom)];
  return [b.count - under, midpoint(rhs, b.upper, positive, custom)];
}

/**
 * The histogram with only the observations below `rhs` (`</`, upperTrim) or
 * above it (`>/`): buckets across `rhs` keep their interpolated share, and
 * count and sum are recomputed from what is kept (sum at bucket midpoints)
 * when anything was cut. Returns a new histogram.
 */
export function trimHistogram(
  src: FloatHistogram,
  rhs: number,
  upperTrim: boolean,
): FloatHistogram {
  const h = src.copy();
  const custom = h.usesCustomBuckets;
  let count = 0, sum = 0, trimmed = false, hasPositive = false, hasNegative = false;
  const side = (idx: number[], cnt: number[], positive: boolean) => {
    for (let k = 0; k < idx.length; k++) {
      if (cnt[k] === 0) continue;
      if (positive) hasPositive = true;
      else hasNegative = true;
      const b = sideBucket(h, positive, k);
      const whole = upperTrim ? b.upper <= rhs : b.lower >= rhs;
      const partly = upperTrim ? b.lower < rhs : b.upper > rhs;
      if (whole) {
        count += b.count;
        sum += midpoint(b.lower, b.upper, positive, custom) * b.count;
      } else if (partly) {
        const [keep, mid] = trimBucket(b, rhs, upperTrim, positive, custom);
        count += keep;
        sum += mid * keep;
        if (cnt[k] !== keep) {
          cnt[k] = keep;
          trimmed = true;
        }
      } else {
        cnt[k] = 0;
        trimmed = true;
      }
    }
  };
  side(h.pIdx, h.pCnt, true);
  side(h.nIdx, h.nCnt, false);
  if (h.zeroCount > 0) {
    let lower = -h.zeroThreshold, upper = h.zeroThreshold;
    if (hasNegative && !hasPositive) upper = 0;
    if (hasPositive && !hasNegative) lower = 0;
    let keep: number, mid: number;
    if (upperTrim) {
      if (rhs <= lower) [keep, mid] = [0, 0];
      else if (rhs >= upper) [keep, mid] = [h.zeroCount, (lower + upper) / 2];
      else [keep, mid] = [h.zeroCount * (rhs - lower) / (upper - lower), (lower + rhs) / 2];
    } else {
      if (rhs <= lower) [keep, mid] = [h.zeroCount, (lower + upper) / 2];
      else if (rhs >= upper) [keep, mid] = [0, 0];
      else [keep, mid] = [h.zeroCount * (upper - rhs) / (upper - lower), (rhs + upper) / 2];
    }
    if (h.zeroCount !== keep) {
      h.zeroCount = keep;
      trimmed = true;
    }
    sum += mid * keep;
    count += keep;
  }
  if (trimmed) {
    h.count = count;
    h.sum = sum;
    h.compact();
  }
  return h;
}
