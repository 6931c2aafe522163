/**
 * PromQL function kernels on plain numbers and sample windows, following the
 * semantics of Prometheus's `promql/functions.go` (rate extrapolation, Kahan
 * summation, linear regression, bucket quantiles).
 *
 * @module
 */
import { formatG } from "../model/mod.ts";
import { QueryExecutionError } from "./errors.ts";

/** Everything a range function may need besides the window. */
export interface RangeCtx {
  /** Window start (exclusive) and end (inclusive), ms. */
  rangeStart: number;
  rangeEnd: number;
  /** Window length in ms. */
  range: number;
  /** The step's evaluation time in ms. */
  evalTs: number;
  /** Scalar arguments other than the range vector, in call order. */
  args: number[];
  /** Annotations collected while evaluating. */
  warn(msg: string): void;
  /**
   * Optional prefix counts of counter resets of the current series:
   * `resets[i]` = number of `j` in `1..i` with `v[j] < v[j - 1]`. Lets
   * counter functions skip the reset scan of windows without one.
   */
  resets?: Int32Array;
  /**
   * Raw samples each point of the current series stands for, when it comes
   * from a downsampled tier (then `v` holds, per point, the count for
   * `count_over_time` and the sum for `avg_over_time`, the functions that
   * read it). Absent: one sample per point.
   */
  counts?: Float64Array;
}

/** Fills `out[i]` with the number of counter resets among `v[1..i]` (see {@linkcode RangeCtx.resets}). */
export function counterResetPrefix(v: Float64Array, out: Int32Array): Int32Array {
  let r = 0;
  if (v.length > 0) out[0] = 0;
  for (let i = 1; i < v.length; i++) {
    if (v[i]! < v[i - 1]!) r++;
    out[i] = r;
  }
  return out;
}

/** A range function over the window `[lo, hi)` of `t`/`v`; undefined = no output. */
export type RangeFn = (
  t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  ctx: RangeCtx,
) => number | undefined;

/** Neumaier-compensated summation state, as Prometheus's `kahansum.Inc`. */
export class Kahan {
  sum = 0;
  c = 0;
  /** Adds one value. */
  add(inc: number): void {
    const t = this.sum + inc;
    if (!Number.isFinite(t) && !Number.isNaN(t)) this.c = 0;
    else if (Math.abs(this.sum) >= Math.abs(inc)) this.c += (this.sum - t) + inc;
    else this.c += (inc - t) + this.sum;
    this.sum = t;
  }
  /** The compensated sum. */
  value(): number {
    if (!Number.isFinite(this.sum) && !Number.isNaN(this.sum)) return this.sum;
    return this.sum + this.c;
  }
}

/**
 * Where {@linkcode kahanInc} leaves its result: one shared scratch instead of
 * an object or tuple per added sample (hot loops add millions).
 */
export const KAHAN = { sum: 0, c: 0 };

/** {@linkcode Kahan.add} on plain numbers: `inc` added to (`sum`, `c`), result in {@linkcode KAHAN}. */
export function kahanInc(inc: number, sum: number, c: number): void {
  const t = sum + inc;
  if (!Number.isFinite(t) && !Number.isNaN(t)) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += (sum - t) + inc;
  else c += (inc - t) + sum;
  KAHAN.sum = t;
  KAHAN.c = c;
}

/**
 * Prometheus's extrapolation of a rate, increase or delta: the factor that
 * scales the difference between the first and the last of `n` (at least 2)
 * samples at `firstT`..`lastT` to the whole window (per second with
 * `isRate`). Each edge is extended by half the average sample interval at
 * most, and the start by no more than `zeroRatio` of the sampled interval
 * (a counter's first value over its increase: it does not extrapolate below
 * zero; Infinity for none).
 */
export function extrapolationFactor(
  ctx: RangeCtx,
  firstT: number,
  lastT: number,
  n: number,
  zeroRatio: number,
  isRate: boolean,
): number {
  let durationToStart = (firstT - ctx.rangeStart) / 1000;
  let durationToEnd = (ctx.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const avgBetween = sampledInterval / (n - 1);
  const threshold = avgBetween * 1.1;
  if (durationToStart >= threshold) durationToStart = avgBetween / 2;
  if (zeroRatio !== Infinity) {
    const durationToZero = sampledInterval * zeroRatio;
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = avgBetween / 2;
  let factor = sampledInterval !== 0
    ? (sampledInterval + durationToStart + durationToEnd) / sampledInterval
    : 1;
  if (isRate) factor /= ctx.range / 1000;
  return factor;
}

function extrapolatedRate(isCounter: boolean, isRate: boolean): RangeFn {
  return (t, v, lo, hi, ctx) => {
    const n = hi - lo;
    if (n < 2) return undefined;
    let result = v[hi - 1]! - v[lo]!;
    if (isCounter && (ctx.resets === undefined || ctx.resets[hi - 1]! !== ctx.resets[lo]!)) {
      for (let i = lo + 1; i < hi; i++) if (v[i]! < v[i - 1]!) result += v[i - 1]!;
    }
    const zeroRatio = isCounter && result > 0 && v[lo]! >= 0 ? v[lo]! / result : Infinity;
    return result * extrapolationFactor(ctx, t[lo]!, t[hi - 1]!, n, zeroRatio, isRate);
  };
}

function instantValue(isRate: boolean): RangeFn {
  return (t, v, lo, hi) => {
    if (hi - lo < 2) return undefined;
    const t0 = t[hi - 2]!, t1 = t[hi - 1]!, v0 = v[hi - 2]!, v1 = v[hi - 1]!;
    const interval = t1 - t0;
    if (interval === 0) return undefined;
    let r = v1;
    if (!isRate || !(v1 < v0)) r = v1 - v0;
    if (isRate) r /= interval / 1000;
    return r;
  };
}

/** Least-squares slope and intercept at `interceptTime`, as Prometheus computes them. */
export function linearRegression(
  t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  interceptTime: number,
): [number, number] {
  const sumX = new Kahan(), sumY = new Kahan(), sumXY = new Kahan(), sumX2 = new Kahan();
  const initY = v[lo]!;
  let constY = true;
  let n = 0;
  for (let i = lo; i < hi; i++) {
    const y = v[i]!;
    if (constY && i > lo && y !== initY) constY = false;
    n++;
    const x = (t[i]! - interceptTime) / 1000;
    sumX.add(x);
    sumY.add(y);
    sumXY.add(x * y);
    sumX2.add(x * x);
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  const sx = sumX.sum + sumX.c, sy = sumY.sum + sumY.c;
  const sxy = sumXY.sum + sumXY.c, sx2 = sumX2.sum + sumX2.c;
  const covXY = sxy - sx * sy / n;
  const varX = sx2 - sx * sx / n;
  const slope = covXY / varX;
  return [slope, sy / n - slope * sx / n];
}

let sortScratch = new Float64Array(256);

/**
 * The phi-quantile of values, as Prometheus's `quantile` (values sorted with
 * NaN first; `values` is left as it is).
 */
export function quantile(q: number, values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  // A typed array's own sort (no comparator called per pair, no boxed
  // results); it puts NaN last and -0 before 0, where Prometheus's order
  // puts NaN first and keeps the input order of -0 and 0: NaN is accounted
  // for below, inputs holding both zeros take the comparator.
  if (sortScratch.length < n) sortScratch = new Float64Array(Math.max(n, sortScratch.length * 2));
  const s = sortScratch.subarray(0, n);
  let nan = 0, negZero = false, posZero = false;
  for (let i = 0; i < n; i++) {
    const x = values[i]!;
    s[i] = x;
    if (x !== x) nan++;
    else if (x === 0) {
      if (1 / x < 0) negZero = true;
      else posZero = true;
    }
  }
  let at: (k: number) => number;
  if (negZero && posZero) {
    const sorted = Array.from(values).sort((a, b) =>
      Number.isNaN(a) ? -1 : Number.isNaN(b) ? 1 : a - b
    );
    at = (k) => sorted[k]!;
  } else {
    s.sort();
    at = (k) => k < nan ? NaN : s[k - nan]!;
  }
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return at(lower) * (1 - weight) + at(upper) * weight;
}

/** The warning Prometheus gives for a quantile outside [0, 1] (the value as Go's `%g`). */
export function invalidQuantileWarning(q: number): string {
  return `PromQL warning: quantile value should be between 0 and 1, got ${formatG(q)}`;
}

/** The warning Prometheus gives for a `limit_ratio` ratio outside [-1, 1], capped to `to`. */
export function invalidRatioWarning(r: number, to: number): string {
  return `PromQL warning: ratio value should be between -1 and 1, got ${formatG(r)}, capping to ${
    formatG(to)
  }`;
}

function avgOverTime(_t: Float64Array, v: Float64Array, lo: number, hi: number): number {
  let sum = v[lo]!, c = 0, count = 1, mean = 0, incremental = false;
  for (let i = lo + 1; i < hi; i++) {
    const f = v[i]!;
    count = i - lo + 1;
    if (!incremental) {
      kahanInc(f, sum, c);
      if (Number.isFinite(KAHAN.sum) || Number.isNaN(KAHAN.sum)) {
        sum = KAHAN.sum;
        c = KAHAN.c;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    const q = (count - 1) / count;
    kahanInc(f / count, q * mean, q * c);
    mean = KAHAN.sum;
    c = KAHAN.c;
  }
  if (incremental) return mean + c;
  return sum / count + c / count;
}

/** The Kahan-compensated sum of v[lo, hi). */
function sumOverTime(v: Float64Array, lo: number, hi: number): number {
  let sum = 0, c = 0;
  for (let i = lo; i < hi; i++) {
    kahanInc(v[i]!, sum, c);
    sum = KAHAN.sum;
    c = KAHAN.c;
  }
  return !Number.isFinite(sum) && !Number.isNaN(sum) ? sum : sum + c;
}

function varianceOverTime(v: Float64Array, lo: number, hi: number): number {
  let count = 0, mSum = 0, mC = 0, aSum = 0, aC = 0;
  for (let i = lo; i < hi; i++) {
    const f = v[i]!;
    count++;
    const delta = f - (mSum + mC);
    kahanInc(delta / count, mSum, mC);
    mSum = KAHAN.sum;
    mC = KAHAN.c;
    kahanInc(delta * (f - (mSum + mC)), aSum, aC);
    aSum = KAHAN.sum;
    aC = KAHAN.c;
  }
  return (aSum + aC) / count;
}

function compareOverTime(cmp: (cur: number, best: number) => boolean, returnTs: boolean): RangeFn {
  return (t, v, lo, hi) => {
    if (hi <= lo) return undefined;
    let best = v[lo]!, ts = t[lo]!;
    for (let i = lo; i < hi; i++) {
      if (cmp(v[i]!, best)) {
        best = v[i]!;
        ts = t[i]!;
      }
    }
    return returnTs ? ts / 1000 : best;
  };
}

function doubleExponentialSmoothing(
  _t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  ctx: RangeCtx,
): number | undefined {
  const sf = ctx.args[0]!, tf = ctx.args[1]!;
  if (!(sf > 0 && sf < 1)) {
    throw new QueryExecutionError(
      `invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf.toFixed(6)}`,
    );
  }
  if (!(tf > 0 && tf < 1)) {
    throw new QueryExecutionError(
      `invalid trend factor. Expected: 0 < tf < 1, got: ${tf.toFixed(6)}`,
    );
  }
  const l = hi - lo;
  if (l < 2) return undefined;
  let s0 = 0, s1 = v[lo]!, b = v[lo + 1]! - v[lo]!;
  for (let i = 1; i < l; i++) {
    const x = sf * v[lo + i]!;
    if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

/** Range functions by name (`absent_over_time` is handled by the engine). */
export const RANGE_FUNCTIONS: Readonly<Record<string, RangeFn>> = {
  rate: extrapolatedRate(true, true),
  increase: extrapolatedRate(true, false),
  delta: extrapolatedRate(false, false),
  irate: instantValue(true),
  idelta: instantValue(false),
  deriv: (t, v, lo, hi) => hi - lo < 2 ? undefined : linearRegression(t, v, lo, hi, t[lo]!)[0],
  predict_linear: (t, v, lo, hi, ctx) => {
    if (hi - lo < 2) return undefined;
    const [slope, intercept] = linearRegression(t, v, lo, hi, ctx.evalTs);
    return slope * ctx.args[0]! + intercept;
  },
  resets: (_t, v, lo, hi) => {
    let n = 0;
    for (let i = lo + 1; i < hi; i++) if (v[i]! < v[i - 1]!) n++;
    return n;
  },
  changes: (_t, v, lo, hi) => {
    let n = 0;
    for (let i = lo + 1; i < hi; i++) {
      const a = v[i - 1]!, b = v[i]!;
      if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) n++;
    }
    return n;
  },
  double_exponential_smoothing: doubleExponentialSmoothing,
  avg_over_time: (t, v, lo, hi, ctx) =>
    ctx.counts
      ? sumOverTime(v, lo, hi) / sumOverTime(ctx.counts, lo, hi)
      : avgOverTime(t, v, lo, hi),
  sum_over_time: (_t, v, lo, hi) => sumOverTime(v, lo, hi),
  count_over_time: (_t, _v, lo, hi, ctx) => ctx.counts ? sumOverTime(ctx.counts, lo, hi) : hi - lo,
  min_over_time: compareOverTime((cur, best) => cur < best || Number.isNaN(best), false),
  max_over_time: compareOverTime((cur, best) => cur > best || Number.isNaN(best), false),
  ts_of_min_over_time: compareOverTime((cur, best) => cur <= best || Number.isNaN(best), true),
  ts_of_max_over_time: compareOverTime((cur, best) => cur >= best || Number.isNaN(best), true),
  ts_of_first_over_time: (t, _v, lo) => t[lo]! / 1000,
  ts_of_last_over_time: (t, _v, _lo, hi) => t[hi - 1]! / 1000,
  stddev_over_time: (_t, v, lo, hi) => Math.sqrt(varianceOverTime(v, lo, hi)),
  stdvar_over_time: (_t, v, lo, hi) => varianceOverTime(v, lo, hi),
  last_over_time: (_t, v, _lo, hi) => v[hi - 1]!,
  first_over_time: (_t, v, lo) => v[lo]!,
  present_over_time: () => 1,
  quantile_over_time: (_t, v, lo, hi, ctx) => {
    const q = ctx.args[0]!;
    if (Number.isNaN(q) || q < 0 || q > 1) ctx.warn(invalidQuantileWarning(q));
    return quantile(q, v.subarray(lo, hi));
  },
  mad_over_time: (_t, v, lo, hi) => {
    const vals = Array.from(v.subarray(lo, hi));
    if (vals.some(Number.isNaN)) return NaN;
    const median = quantile(0.5, vals.slice());
    return quantile(0.5, vals.map((x) => Math.abs(x - median)));
  },
};

/** Go's `math.Pow` special cases differ from JS `**` for ±1 bases. */
export function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

function sgn(v: number): number {
  return v < 0 ? -1 : v > 0 ? 1 : v;
}

/** Element-wise math functions on instant vectors. */
export const MATH_FUNCTIONS: Readonly<Record<string, (v: number) => number>> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  rad: (v) => v * Math.PI / 180,
  deg: (v) => v * 180 / Math.PI,
  sgn,
};

function utcDate(seconds: number): Date {
  return new Date(Math.trunc(seconds) * 1000);
}

/** Date functions on a Unix time in seconds (UTC). */
export const DATE_FUNCTIONS: Readonly<Record<string, (seconds: number) => number>> = {
  minute: (s) => utcDate(s).getUTCMinutes(),
  hour: (s) => utcDate(s).getUTCHours(),
  day_of_week: (s) => utcDate(s).getUTCDay(),
  day_of_month: (s) => utcDate(s).getUTCDate(),
  day_of_year: (s) => {
    const d = utcDate(s);
    const start = Date.UTC(d.getUTCFullYear(), 0, 1);
    return Math.floor((d.getTime() - start) / 86400000) + 1;
  },
  days_in_month: (s) => {
    const d = utcDate(s);
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  },
  month: (s) => utcDate(s).getUTCMonth() + 1,
  year: (s) => utcDate(s).getUTCFullYear(),
};

/** A classic histogram bucket: upper bound and cumulative count. */
export interface Bucket {
  upper: number;
  count: number;
}

/** Result of {@linkcode bucketQuantile}. */
export interface BucketQuantileResult {
  value: number;
  forcedMonotonic: boolean;
}

/**
 * The phi-quantile from classic buckets (sorted in place), as Prometheus's
 * `BucketQuantile`: linear interpolation within a bucket, coalescing of equal
 * bounds, precision fix and forced monotonicity.
 */
export function bucketQuantile(q: number, buckets: Bucket[]): BucketQuantileResult {
  const nan = { value: NaN, forcedMonotonic: false };
  if (Number.isNaN(q)) return nan;
  if (q < 0) return { value: -Infinity, forcedMonotonic: false };
  if (q > 1) return { value: Infinity, forcedMonotonic: false };
  buckets.sort((a, b) => a.upper - b.upper);
  if (buckets.length === 0 || buckets[buckets.length - 1]!.upper !== Infinity) return nan;
  // Coalesce equal upper bounds.
  const bs: Bucket[] = [];
  for (const b of buckets) {
    const last = bs[bs.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else bs.push({ upper: b.upper, count: b.count });
  }
  // Fix tiny precision errors, then force monotonicity.
  let prev = bs[0]!.count;
  for (let i = 1; i < bs.length; i++) {
    const curr = bs[i]!.count;
    const delta = Math.abs(curr - prev);
    if (delta === 0) continue;
    if (delta / curr <= 1e-12) bs[i]!.count = prev;
    else prev = curr;
  }
  let forced = false;
  let max = bs[0]!.count;
  for (let i = 1; i < bs.length; i++) {
    if (bs[i]!.count > max) max = bs[i]!.count;
    else if (bs[i]!.count < max) {
      bs[i]!.count = max;
      forced = true;
    }
  }
  if (bs.length < 2) return nan;
  const observations = bs[bs.length - 1]!.count;
  if (observations === 0) return nan;
  let rank = q * observations;
  let b = 0;
  {
    let lo = 0, hi = bs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bs[mid]!.count >= rank) hi = mid;
      else lo = mid + 1;
    }
    b = lo;
  }
  if (b === bs.length - 1) return { value: bs[bs.length - 2]!.upper, forcedMonotonic: forced };
  if (b === 0 && bs[0]!.upper <= 0) return { value: bs[0]!.upper, forcedMonotonic: forced };
  let start = 0;
  const end = bs[b]!.upper;
  let count = bs[b]!.count;
  if (b > 0) {
    start = bs[b - 1]!.upper;
    count -= bs[b - 1]!.count;
    rank -= bs[b - 1]!.count;
  }
  return { value: start + (end - start) * (rank / count), forcedMonotonic: forced };
}

/**
 * The fraction of observations between `lower` and `upper` from classic
 * buckets. Within a bucket the observations are spread linearly; in a bucket
 * with an infinite bound they sit at its finite bound. The lowest bucket starts
 * at 0 when its upper bound is positive, as for quantiles.
 */
export function bucketFraction(lower: number, upper: number, buckets: Bucket[]): number {
  const bs = buckets.slice().sort((a, b) => a.upper - b.upper);
  if (bs.length === 0 || bs[bs.length - 1]!.upper !== Infinity) return NaN;
  const total = bs[bs.length - 1]!.count;
  if (total === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  const rank = (x: number): number => {
    let r = 0, prevCum = 0;
    for (let i = 0; i < bs.length; i++) {
      const hi = bs[i]!.upper;
      const lo = i === 0 ? (hi > 0 ? 0 : -Infinity) : bs[i - 1]!.upper;
      const count = bs[i]!.count - prevCum;
      prevCum = bs[i]!.count;
      if (x <= lo) break;
      if (x >= hi) r += count;
      else if (lo === -Infinity) r += count;
      else if (hi !== Infinity) r += count * (x - lo) / (hi - lo);
    }
    return r;
  };
  return (rank(upper) - rank(lower)) / total;
}
