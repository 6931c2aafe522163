/**
 * The query engine's native histogram value, with the arithmetic Prometheus
 * defines on it (`model/histogram/float_histogram.go`): addition and
 * subtraction with schema reduction, zero-bucket reconciliation and custom
 * bound intersection, Kahan-compensated addition, scaling, compaction and
 * counter reset detection.
 *
 * Buckets are kept sparse per side as ascending bucket indexes with their
 * absolute counts (Prometheus's spans are a run-length form of the same
 * indexes). A bucket with count 0 stays until {@linkcode compact} removes
 * it, as in Prometheus, because a few algorithms (quantile 0, reset
 * detection) can see the difference.
 *
 * Methods named like Prometheus's (`add`, `sub`, `mul`, `div`, `compact`,
 * `kahanAdd`) change the receiver; callers copy values they do not own.
 *
 * @module
 */
import type { CounterResetHint, NativeHistogram } from "../model/mod.ts";
import { bucketBound, CUSTOM_SCHEMA, exponentialBound } from "./histogram_bounds.ts";
import {
  boundsMatch,
  dropEmpty,
  intersectBounds,
  kahanInc,
  kahanMerge,
  kahanReduce,
  mapCustom,
  mergeSides,
  reduceSide,
  type Side,
  sideReset,
  skipBelow,
  spanIndexes,
  toSpans,
  zeros,
} from "./_histogram_sides.ts";

export { boundsMatch, kahanInc, toSpans };

/** Exponential and custom-bucket histograms were combined (Prometheus's ErrHistogramsIncompatibleSchema). */
export class IncompatibleSchemaError extends Error {
  constructor() {
    super(
      "cannot apply this operation on histograms with a mix of exponential and custom bucket schemas",
    );
    this.name = "IncompatibleSchemaError";
  }
}

/** The result of adding or subtracting histograms, besides the receiver's new value. */
export interface CombineResult {
  /** One histogram said "reset", the other "not reset" (Prometheus warns). */
  readonly collision: boolean;
  /** Custom bounds differed and were intersected (Prometheus informs). */
  readonly reconciled: boolean;
}

/** Options for building a {@linkcode FloatHistogram}. */
export interface FloatHistogramInit {
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  count?: number;
  sum?: number;
  pIdx?: number[];
  pCnt?: number[];
  nIdx?: number[];
  nCnt?: number[];
  customValues?: readonly number[];
  hint?: CounterResetHint;
}

/** A native histogram with float counts, as PromQL evaluates it. */
export class FloatHistogram {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  /** Positive bucket indexes, ascending, and their counts. */
  pIdx: number[];
  pCnt: number[];
  /** Negative bucket indexes (by absolute value), ascending, and their counts. */
  nIdx: number[];
  nCnt: number[];
  /** Upper bounds of custom buckets (schema -53 only); shared, never changed. */
  customValues: readonly number[] | undefined;
  hint: CounterResetHint;

  constructor(init: FloatHistogramInit = {}) {
    this.schema = init.schema ?? 0;
    this.zeroThreshold = init.zeroThreshold ?? 0;
    this.zeroCount = init.zeroCount ?? 0;
    this.count = init.count ?? 0;
    this.sum = init.sum ?? 0;
    this.pIdx = init.pIdx ?? [];
    this.pCnt = init.pCnt ?? [];
    this.nIdx = init.nIdx ?? [];
    this.nCnt = init.nCnt ?? [];
    this.customValues = init.customValues;
    this.hint = init.hint ?? "unknown";
  }

  /** The engine's form of a stored histogram (spans expanded to indexes). */
  static fromNative(h: NativeHistogram): FloatHistogram {
    const side = (spans: NativeHistogram["positiveSpans"], counts: readonly number[]) => ({
      idx: spanIndexes(spans),
      cnt: counts.slice(),
    });
    const p = side(h.positiveSpans, h.positiveBuckets);
    const n = side(h.negativeSpans, h.negativeBuckets);
    const custom = h.schema === CUSTOM_SCHEMA;
    return new FloatHistogram({
      schema: h.schema,
      zeroThreshold: custom ? 0 : h.zeroThreshold,
      zeroCount: custom ? 0 : h.zeroCount,
      count: h.count,
      sum: h.sum,
      pIdx: p.idx,
      pCnt: p.cnt,
      nIdx: custom ? [] : n.idx,
      nCnt: custom ? [] : n.cnt,
      customValues: custom ? (h.customValues ?? []) : undefined,
      hint: h.counterResetHint,
    });
  }

  /** As a stored (float) histogram, spans rebuilt from the indexes. */
  toNative(): NativeHistogram {
    const p = toSpans(this.pIdx), n = toSpans(this.nIdx);
    return {
      schema: this.schema,
      zeroThreshold: this.zeroThreshold,
      zeroCount: this.zeroCount,
      count: this.count,
      sum: this.sum,
      positiveSpans: p,
      positiveBuckets: this.pCnt.slice(),
      negativeSpans: n,
      negativeBuckets: this.nCnt.slice(),
      ...(this.customValues ? { customValues: this.customValues } : {}),
      float: true,
      counterResetHint: this.hint,
    };
  }

  /** A deep copy (custom values are shared). */
  copy(): FloatHistogram {
    return new FloatHistogram({
      schema: this.schema,
      zeroThreshold: this.zeroThreshold,
      zeroCount: this.zeroCount,
      count: this.count,
      sum: this.sum,
      pIdx: this.pIdx.slice(),
      pCnt: this.pCnt.slice(),
      nIdx: this.nIdx.slice(),
      nCnt: this.nCnt.slice(),
      ...(this.customValues ? { customValues: this.customValues } : {}),
      hint: this.hint,
    });
  }

  /** True for schema -53 (custom bucket bounds). */
  get usesCustomBuckets(): boolean {
    return this.schema === CUSTOM_SCHEMA;
  }

  /** Scales every count and the sum by `factor` (in place); a negative factor makes a gauge. */
  mul(factor: number): this {
    this.zeroCount *= factor;
    this.count *= factor;
    this.sum *= factor;
    for (let k = 0; k < this.pCnt.length; k++) this.pCnt[k]! *= factor;
    for (let k = 0; k < this.nCnt.length; k++) this.nCnt[k]! *= factor;
    if (factor < 0) this.hint = "gauge";
    return this;
  }

  /** Divides every count and the sum by `d` (in place); dividing by 0 drops all buckets. */
  div(d: number): this {
    this.zeroCount /= d;
    this.count /= d;
    this.sum /= d;
    if (d === 0) {
      this.pIdx = [];
      this.pCnt = [];
      this.nIdx = [];
      this.nCnt = [];
      return this;
    }
    for (let k = 0; k < this.pCnt.length; k++) this.pCnt[k]! /= d;
    for (let k = 0; k < this.nCnt.length; k++) this.nCnt[k]! /= d;
    if (d < 0) this.hint = "gauge";
    return this;
  }

  /** Adds `other` into this histogram. Throws {@linkcode IncompatibleSchemaError}. */
  add(other: FloatHistogram): CombineResult {
    return this.#combine(other, false);
  }

  /** Subtracts `other` from this histogram (the hint is not made a gauge here). */
  sub(other: FloatHistogram): CombineResult {
    return this.#combine(other, true);
  }

  #combine(other: FloatHistogram, negative: boolean): CombineResult {
    this.#checkSchema(other);
    const collision = this.#adjustCounterReset(other);
    const sign = negative ? -1 : 1;
    if (!this.usesCustomBuckets) {
      const { zeroCount } = reconcileZeroBuckets(this, other, undefined);
      this.zeroCount += sign * zeroCount;
    }
    this.count += sign * other.count;
    this.sum += sign * other.sum;
    if (this.usesCustomBuckets) {
      if (boundsMatch(this.customValues, other.customValues)) {
        const p = mergeSides(this.schema, 0, negative, this.#p(), other.#p());
        this.pIdx = p.idx;
        this.pCnt = p.cnt;
        return { collision, reconciled: false };
      }
      const bounds = intersectBounds(this.customValues ?? [], other.customValues ?? []);
      const p = mapCustom(negative, this, other, undefined, bounds);
      this.pIdx = p.idx;
      this.pCnt = p.cnt;
      this.customValues = bounds;
      return { collision, reconciled: true };
    }
    let hp = this.#p(), hn = this.#n(), op = other.#p(), on = other.#n();
    if (other.schema < this.schema) {
      hp = reduceSide(hp, this.schema, other.schema);
      hn = reduceSide(hn, this.schema, other.schema);
      this.schema = other.schema;
    } else if (other.schema > this.schema) {
      op = reduceSide(op, other.schema, this.schema);
      on = reduceSide(on, other.schema, this.schema);
    }
    const p = mergeSides(this.schema, this.zeroThreshold, negative, hp, op);
    const n = mergeSides(this.schema, this.zeroThreshold, negative, hn, on);
    this.pIdx = p.idx;
    this.pCnt = p.cnt;
    this.nIdx = n.idx;
    this.nCnt = n.cnt;
    return { collision, reconciled: false };
  }

  /**
   * Adds `other` with Kahan compensation kept in `c` (same layout as this
   * histogram; created when undefined). Returns the compensation to pass to
   * the next call and add at the end.
   */
  kahanAdd(
    other: FloatHistogram,
    c: FloatHistogram | undefined,
  ): CombineResult & { c: FloatHistogram } {
    this.#checkSchema(other);
    const collision = this.#adjustCounterReset(other);
    c ??= this.#newCompensation();
    if (!this.usesCustomBuckets) {
      const r = reconcileZeroBuckets(this, other, c);
      [this.zeroCount, c.zeroCount] = kahanInc(r.zeroCount, this.zeroCount, c.zeroCount);
      [this.zeroCount, c.zeroCount] = kahanInc(r.compensation, this.zeroCount, c.zeroCount);
    }
    [this.count, c.count] = kahanInc(other.count, this.count, c.count);
    [this.sum, c.sum] = kahanInc(other.sum, this.sum, c.sum);
    if (this.usesCustomBuckets) {
      let reconciled = false;
      if (boundsMatch(this.customValues, other.customValues)) {
        const r = kahanMerge(this.schema, 0, this.#p(), c.pCnt, other.#p(), undefined);
        this.pIdx = r.idx;
        this.pCnt = r.cnt;
        c.pCnt = r.comp;
      } else {
        reconciled = true;
        const bounds = intersectBounds(this.customValues ?? [], other.customValues ?? []);
        const r = mapCustom(false, this, other, c.pCnt, bounds);
        this.pIdx = r.idx;
        this.pCnt = r.cnt;
        c.pCnt = r.comp;
        this.customValues = bounds;
        c.customValues = bounds;
      }
      c.pIdx = this.pIdx;
      return { c, collision, reconciled };
    }
    let hp = this.#p(), hn = this.#n(), cp = c.pCnt, cn = c.nCnt;
    let op = other.#p(), on = other.#n();
    let ocp: number[] | undefined, ocn: number[] | undefined;
    if (other.schema < this.schema) {
      ({ side: hp, comp: cp } = kahanReduce(hp, cp, this.schema, other.schema));
      ({ side: hn, comp: cn } = kahanReduce(hn, cn, this.schema, other.schema));
      this.schema = other.schema;
    } else if (other.schema > this.schema) {
      if (op.idx.length > 0) {
        ({ side: op, comp: ocp } = kahanReduce(op, zeros(op), other.schema, this.schema));
      }
      if (on.idx.length > 0) {
        ({ side: on, comp: ocn } = kahanReduce(on, zeros(on), other.schema, this.schema));
      }
    }
    const p = kahanMerge(this.schema, this.zeroThreshold, hp, cp, op, ocp);
    const n = kahanMerge(this.schema, this.zeroThreshold, hn, cn, on, ocn);
    this.pIdx = p.idx;
    this.pCnt = p.cnt;
    this.nIdx = n.idx;
    this.nCnt = n.cnt;
    c.pCnt = p.comp;
    c.nCnt = n.comp;
    c.schema = this.schema;
    c.zeroThreshold = this.zeroThreshold;
    c.pIdx = this.pIdx;
    c.nIdx = this.nIdx;
    return { c, collision, reconciled: false };
  }

  #newCompensation(): FloatHistogram {
    return new FloatHistogram({
      schema: this.schema,
      zeroThreshold: this.zeroThreshold,
      pIdx: this.pIdx,
      pCnt: new Array<number>(this.pCnt.length).fill(0),
      nIdx: this.usesCustomBuckets ? [] : this.nIdx,
      nCnt: this.usesCustomBuckets ? [] : new Array<number>(this.nCnt.length).fill(0),
      ...(this.customValues ? { customValues: this.customValues } : {}),
      hint: this.hint,
    });
  }

  #p(): Side {
    return { idx: this.pIdx, cnt: this.pCnt };
  }

  #n(): Side {
    return { idx: this.nIdx, cnt: this.nCnt };
  }

  #checkSchema(other: FloatHistogram): void {
    if (this.usesCustomBuckets !== other.usesCustomBuckets) throw new IncompatibleSchemaError();
  }

  /** Prometheus's hint rules for adding and subtracting; true on a reset/not-reset clash. */
  #adjustCounterReset(other: FloatHistogram): boolean {
    const a = this.hint, b = other.hint;
    if (a === b || a === "gauge") return false;
    if (b === "gauge") {
      this.hint = "gauge";
      return false;
    }
    if (a === "unknown") return false;
    if (b === "unknown") {
      this.hint = "unknown";
      return false;
    }
    this.hint = "unknown";
    return true;
  }

  /** Removes buckets with a count of 0 (in place). */
  compact(): this {
    ({ idx: this.pIdx, cnt: this.pCnt } = dropEmpty(this.#p(), undefined).side);
    ({ idx: this.nIdx, cnt: this.nCnt } = dropEmpty(this.#n(), undefined).side);
    return this;
  }

  /** This histogram at the lower resolution `schema` (a copy; this one is unchanged). */
  copyToSchema(schema: number): FloatHistogram {
    const c = this.copy();
    if (schema === this.schema) return c;
    const p = reduceSide(this.#p(), this.schema, schema);
    const n = reduceSide(this.#n(), this.schema, schema);
    c.schema = schema;
    c.pIdx = p.idx;
    c.pCnt = p.cnt;
    c.nIdx = n.idx;
    c.nCnt = n.cnt;
    c.hint = "unknown";
    return c;
  }

  /**
   * True when this histogram cannot follow `previous` without a counter
   * reset: a count or bucket went down, a populated bucket vanished, the
   * resolution went up or the zero bucket shrank (Prometheus's DetectReset).
   * The hints "reset" and "not_reset" are taken at their word.
   */
  detectReset(previous: FloatHistogram): boolean {
    if (this.hint === "reset") return true;
    if (this.hint === "not_reset") return false;
    if (this.count < previous.count) return true;
    if (this.usesCustomBuckets) {
      if (!previous.usesCustomBuckets) return true;
      if (!boundsMatch(this.customValues, previous.customValues)) {
        return this.#resetAcrossBounds(previous);
      }
    }
    if (this.schema > previous.schema) return true;
    if (this.zeroThreshold < previous.zeroThreshold) return true;
    const prevZero = zeroCountForLargerThreshold(previous, this.zeroThreshold, undefined);
    if (prevZero.threshold !== this.zeroThreshold) return true;
    if (this.zeroCount < prevZero.zeroCount) return true;
    const pick = (side: Side, schema: number): Side => {
      const s = schema === this.schema ? side : reduceSide(side, schema, this.schema);
      return skipBelow(s, this.schema, this.zeroThreshold);
    };
    return sideReset(pick(this.#p(), this.schema), pick(previous.#p(), previous.schema)) ||
      sideReset(pick(this.#n(), this.schema), pick(previous.#n(), previous.schema));
  }

  /** DetectReset for custom buckets with different bounds: counts compared at the shared bounds. */
  #resetAcrossBounds(previous: FloatHistogram): boolean {
    const cur = this.customValues ?? [], prev = previous.customValues ?? [];
    const walker = (h: FloatHistogram) => {
      let k = 0;
      return (bound: number) => {
        let sum = 0;
        while (
          k < h.pIdx.length && bucketBound(h.pIdx[k]!, CUSTOM_SCHEMA, h.customValues) <= bound
        ) {
          sum += h.pCnt[k++]!;
        }
        return sum;
      };
    };
    const a = walker(this), b = walker(previous);
    let i = 0, j = 0;
    while (i <= cur.length && j <= prev.length) {
      const x = i < cur.length ? cur[i]! : Infinity, y = j < prev.length ? prev[j]! : Infinity;
      if (x === y) {
        if (a(x) < b(x)) return true;
        i++;
        j++;
      } else if (x < y) i++;
      else j++;
    }
    return false;
  }

  /** Exact equality of layout and values (bit-wise for the floats), as Prometheus's Equals. */
  equals(o: FloatHistogram): boolean {
    if (
      this.schema !== o.schema || !Object.is(this.count, o.count) || !Object.is(this.sum, o.sum)
    ) {
      return false;
    }
    if (this.usesCustomBuckets && !boundsMatch(this.customValues, o.customValues)) return false;
    if (this.zeroThreshold !== o.zeroThreshold || !Object.is(this.zeroCount, o.zeroCount)) {
      return false;
    }
    const same = (a: number[], b: number[]) =>
      a.length === b.length && a.every((v, k) => Object.is(v, b[k]));
    return same(this.nIdx, o.nIdx) && same(this.nCnt, o.nCnt) && same(this.pIdx, o.pIdx) &&
      same(this.pCnt, o.pCnt);
  }

  /** True when a count, the sum, a bucket or a custom bound is ±Inf. */
  hasOverflow(): boolean {
    const inf = (v: number) => v === Infinity || v === -Infinity;
    return inf(this.zeroCount) || inf(this.count) || inf(this.sum) || this.pCnt.some(inf) ||
      this.nCnt.some(inf) || (this.customValues?.some(inf) ?? false);
  }

  /** Approximate memory in bytes, as Prometheus's Size (for sample limits). */
  size(): number {
    const buckets = this.pCnt.length + this.nCnt.length + (this.customValues?.length ?? 0);
    return 168 + buckets * 8 + (this.pIdx.length + this.nIdx.length) * 8;
  }
}

/**
 * What `h`'s zero count would be with the larger threshold `larger`, its
 * buckets below it folded in (with `c`'s compensation when given). A
 * populated bucket the threshold falls into moves the threshold to its edge.
 */
function zeroCountForLargerThreshold(
  h: FloatHistogram,
  larger: number,
  c: FloatHistogram | undefined,
): { zeroCount: number; threshold: number; compensation: number } {
  let comp = c ? c.zeroCount : 0;
  if (larger === h.zeroThreshold) {
    return { zeroCount: h.zeroCount, threshold: larger, compensation: comp };
  }
  if (larger < h.zeroThreshold) throw new Error("BUG: new zero threshold below the old one");
  outer: for (;;) {
    let zc = h.zeroCount;
    for (let k = 0; k < h.pIdx.length; k++) {
      const lower = exponentialBound(h.pIdx[k]! - 1, h.schema);
      const upper = exponentialBound(h.pIdx[k]!, h.schema);
      if (lower >= larger) break;
      [zc, comp] = kahanInc(h.pCnt[k]!, zc, comp);
      if (c) [zc, comp] = kahanInc(c.pCnt[k]!, zc, comp);
      if (upper > larger) {
        if (h.pCnt[k] !== 0) larger = upper;
        break;
      }
    }
    for (let k = 0; k < h.nIdx.length; k++) {
      const lower = -exponentialBound(h.nIdx[k]!, h.schema);
      const upper = -exponentialBound(h.nIdx[k]! - 1, h.schema);
      if (upper <= -larger) break;
      [zc, comp] = kahanInc(h.nCnt[k]!, zc, comp);
      if (c) [zc, comp] = kahanInc(c.nCnt[k]!, zc, comp);
      if (lower < -larger) {
        if (h.nCnt[k] !== 0) {
          larger = -lower;
          continue outer;
        }
        break;
      }
    }
    return { zeroCount: zc, threshold: larger, compensation: comp };
  }
}

/**
 * Widens the zero buckets of `h` and `other` to one threshold that splits no
 * populated bucket. `h` (and its compensation `c`) change; for `other` the
 * zero count it would have is returned with its compensation term.
 */
function reconcileZeroBuckets(
  h: FloatHistogram,
  other: FloatHistogram,
  c: FloatHistogram | undefined,
): { zeroCount: number; compensation: number } {
  let zeroCount = other.zeroCount, threshold = other.zeroThreshold, compensation = 0;
  while (threshold !== h.zeroThreshold) {
    if (h.zeroThreshold > threshold) {
      ({ zeroCount, threshold, compensation } = zeroCountForLargerThreshold(
        other,
        h.zeroThreshold,
        undefined,
      ));
    }
    if (threshold > h.zeroThreshold) {
      const r = zeroCountForLargerThreshold(h, threshold, c);
      h.zeroCount = r.zeroCount;
      h.zeroThreshold = r.threshold;
      if (c) c.zeroCount = r.compensation;
      trimBucketsInZeroBucket(h, c);
    }
  }
  return { zeroCount, compensation };
}

/** Empties the buckets inside the zero bucket (already counted there), then compacts. */
function trimBucketsInZeroBucket(h: FloatHistogram, c: FloatHistogram | undefined): void {
  for (let k = 0; k < h.pIdx.length; k++) {
    if (exponentialBound(h.pIdx[k]! - 1, h.schema) >= h.zeroThreshold) break;
    h.pCnt[k] = 0;
    if (c) c.pCnt[k] = 0;
  }
  for (let k = 0; k < h.nIdx.length; k++) {
    if (-exponentialBound(h.nIdx[k]! - 1, h.schema) <= -h.zeroThreshold) break;
    h.nCnt[k] = 0;
    if (c) c.nCnt[k] = 0;
  }
  const p = dropEmpty({ idx: h.pIdx, cnt: h.pCnt }, c?.pCnt);
  const n = dropEmpty({ idx: h.nIdx, cnt: h.nCnt }, c?.nCnt);
  h.pIdx = p.side.idx;
  h.pCnt = p.side.cnt;
  h.nIdx = n.side.idx;
  h.nCnt = n.side.cnt;
  if (c) {
    c.pIdx = h.pIdx;
    c.pCnt = p.comp;
    c.nIdx = h.nIdx;
    c.nCnt = n.comp;
  }
}
