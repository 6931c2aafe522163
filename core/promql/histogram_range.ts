/**
 * Range functions over windows that hold native histograms (alone or mixed
 * with floats), as Prometheus's `functions.go` defines them: rate, increase
 * and delta with counter resets, schema reduction and extrapolation; irate
 * and idelta; sum and avg over time with Kahan compensation; first, last,
 * count, changes and resets over both kinds; the float-only functions skip
 * histograms with an info.
 *
 * @module
 */
import { FloatHistogram, IncompatibleSchemaError } from "./float_histogram.ts";
import { ANNOTATIONS, type Notes } from "./hist_annotations.ts";
import { HistogramAccumulator } from "./histogram_agg.ts";
import { extrapolationFactor, type RangeCtx, type RangeFn } from "./functions.ts";

/** One step's window: floats `[lo, hi)` of `t`/`v` and histograms `[hlo, hhi)` of `ht`/`hh`. */
export interface HistWindow {
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly lo: number;
  readonly hi: number;
  readonly ht: Float64Array;
  readonly hh: readonly FloatHistogram[];
  readonly hlo: number;
  readonly hhi: number;
}

/** What a range function needs besides the window. */
export interface HistRangeCtx {
  readonly ctx: RangeCtx;
  /** The float implementation of the function. */
  readonly floatFn: RangeFn | undefined;
  /** The series' metric name (for annotations). */
  readonly metric: string;
  readonly notes: Notes;
}

/** A function result: a float, a histogram, or nothing. */
export type HistRangeResult = number | FloatHistogram | undefined;

/** Annotations collected while combining histograms; a failure replaces them (as Prometheus). */
class Annos {
  list: [boolean, string][] = [];
  warn(m: string): void {
    this.list.push([true, m]);
  }
  info(m: string): void {
    this.list.push([false, m]);
  }
  flush(n: Notes): void {
    for (const [w, m] of this.list) w ? n.warn(m) : n.info(m);
  }
}

/** Adds or subtracts `other` into `base`, noting a reconciliation of custom bounds. */
function combine(base: FloatHistogram, other: FloatHistogram, sub: boolean, annos: Annos): void {
  const r = sub ? base.sub(other) : base.add(other);
  if (r.reconciled) {
    annos.info(ANNOTATIONS.mismatchedCustomBuckets(sub ? "subtraction" : "addition"));
  }
}

/** Prometheus's histogramRate: last minus first with resets added back, in the lowest schema. */
function histogramRate(
  hh: readonly FloatHistogram[],
  lo: number,
  hi: number,
  isCounter: boolean,
  metric: string,
  notes: Notes,
): FloatHistogram | undefined {
  const annos = new Annos();
  const fail = () => {
    notes.warn(ANNOTATIONS.mixedExponentialCustom(metric));
    return undefined;
  };
  let prev = hh[lo]!;
  const last = hh[hi - 1]!;
  let custom = prev.usesCustomBuckets;
  if (isCounter && (prev.hint === "gauge" || last.hint === "gauge")) {
    annos.warn(ANNOTATIONS.notCounter(metric));
  }
  if (isCounter) {
    const second = hh[lo + 1]!;
    if (second.detectReset(prev)) {
      prev = new FloatHistogram({
        schema: second.schema,
        ...(second.customValues ? { customValues: second.customValues } : {}),
      });
      custom = second.usesCustomBuckets;
    }
  }
  if (last.usesCustomBuckets !== custom) {
    annos.warn(ANNOTATIONS.mixedExponentialCustom(metric));
    annos.flush(notes);
    return undefined;
  }
  let minSchema = Math.min(last.schema, prev.schema);
  for (let i = lo + 1; i < hi - 1; i++) {
    const cur = hh[i]!;
    if (!isCounter) continue;
    if (cur.hint === "gauge") annos.warn(ANNOTATIONS.notCounter(metric));
    if (cur.schema < minSchema) minSchema = cur.schema;
    if (cur.usesCustomBuckets !== custom) return fail();
  }
  const h = last.copyToSchema(minSchema);
  try {
    combine(h, prev, true, annos);
    if (isCounter) {
      for (let i = lo + 1; i < hi; i++) {
        const cur = hh[i]!;
        if (cur.detectReset(prev)) combine(h, prev, false, annos);
        prev = cur;
      }
    } else if (hh[lo]!.hint !== "gauge" || last.hint !== "gauge") {
      annos.warn(ANNOTATIONS.notGauge(metric));
    }
  } catch (e) {
    if (e instanceof IncompatibleSchemaError) return fail();
    throw e;
  }
  annos.flush(notes);
  h.hint = "gauge";
  return h.compact();
}

/** rate, increase and delta over histograms, extrapolated to the window as for floats. */
function extrapolatedHistogramRate(
  w: HistWindow,
  c: HistRangeCtx,
  isCounter: boolean,
  isRate: boolean,
): HistRangeResult {
  const n = w.hhi - w.hlo;
  if (n < 2) return undefined;
  const result = histogramRate(w.hh, w.hlo, w.hhi, isCounter, c.metric, c.notes);
  if (!result) return undefined;
  const first = w.hh[w.hlo]!.count;
  const zeroRatio = isCounter && result.count > 0 && first >= 0 ? first / result.count : Infinity;
  return result.mul(
    extrapolationFactor(c.ctx, w.ht[w.hlo]!, w.ht[w.hhi - 1]!, n, zeroRatio, isRate),
  );
}

/** irate and idelta: the last two samples of either kind. */
function instantValue(w: HistWindow, c: HistRangeCtx, isRate: boolean): HistRangeResult {
  type P = { t: number; v: number; h?: FloatHistogram };
  if (w.hi - w.lo + w.hhi - w.hlo < 2) return undefined;
  const ss: P[] = [];
  for (let i = Math.max(w.lo, w.hi - 2); i < w.hi; i++) ss.push({ t: w.t[i]!, v: w.v[i]! });
  for (let i = Math.max(w.hlo, w.hhi - 2); i < w.hhi; i++) {
    const s: P = { t: w.ht[i]!, v: 0, h: w.hh[i]! };
    if (ss.length === 0) ss.push(s);
    else if (ss.length === 1) {
      if (s.t < ss[0]!.t) ss.unshift(s);
      else ss.push(s);
    } else if (s.t < ss[0]!.t) {
      // Older than both: dropped.
    } else if (s.t > ss[1]!.t) {
      ss[0] = ss[1]!;
      ss[1] = s;
    } else ss[0] = s;
  }
  const [a, b] = [ss[0]!, ss[1]!];
  const interval = b.t - a.t;
  if (interval === 0) return undefined;
  if (!a.h && !b.h) {
    let r = b.v;
    if (!isRate || !(b.v < a.v)) r = b.v - a.v;
    return isRate ? r / (interval / 1000) : r;
  }
  if (!a.h || !b.h) {
    c.notes.warn(ANNOTATIONS.mixedFloatsHistograms(c.metric));
    return undefined;
  }
  const r = b.h.copy();
  if (isRate && (b.h.hint === "gauge" || a.h.hint === "gauge")) {
    c.notes.warn(ANNOTATIONS.notCounter(c.metric));
  }
  if (!isRate && (b.h.hint !== "gauge" || a.h.hint !== "gauge")) {
    c.notes.warn(ANNOTATIONS.notGauge(c.metric));
  }
  if (!isRate || !b.h.detectReset(a.h)) {
    try {
      if (r.sub(a.h).reconciled) c.notes.info(ANNOTATIONS.mismatchedCustomBuckets("subtraction"));
    } catch (e) {
      if (!(e instanceof IncompatibleSchemaError)) throw e;
      c.notes.warn(ANNOTATIONS.mixedExponentialCustom(c.metric));
      return undefined;
    }
  }
  r.hint = "gauge";
  r.compact();
  return isRate ? r.div(interval / 1000) : r;
}

/** sum_over_time and avg_over_time over histograms only. */
function sumOrAvgOverTime(w: HistWindow, c: HistRangeCtx, avg: boolean): HistRangeResult {
  const acc = new HistogramAccumulator(avg ? "avg" : "sum", w.hh[w.hlo]!);
  let result: FloatHistogram;
  try {
    for (let i = w.hlo + 1; i < w.hhi; i++) acc.add(w.hh[i]!);
    result = acc.result();
  } catch (e) {
    if (!(e instanceof IncompatibleSchemaError)) throw e;
    c.notes.warn(ANNOTATIONS.mixedExponentialCustom(c.metric));
    return undefined;
  }
  if (acc.collision) c.notes.warn(ANNOTATIONS.counterResetCollision("aggregation"));
  if (acc.reconciled) c.notes.info(ANNOTATIONS.mismatchedCustomBuckets("aggregation"));
  return result;
}

/** Samples of both kinds in time order (a histogram after a float at the same time). */
function* merged(w: HistWindow): Generator<{ t: number; v: number; h?: FloatHistogram }> {
  let i = w.lo, j = w.hlo;
  while (i < w.hi || j < w.hhi) {
    if (j >= w.hhi || (i < w.hi && w.t[i]! < w.ht[j]!)) {
      yield { t: w.t[i]!, v: w.v[i++]! };
    } else if (i >= w.hi || w.t[i]! > w.ht[j]!) {
      yield { t: w.ht[j]!, v: 0, h: w.hh[j++]! };
    } else {
      // Equal timestamps cannot happen in Prometheus; take both, float first.
      yield { t: w.t[i]!, v: w.v[i++]! };
    }
  }
}

/** resets or changes over samples of both kinds. */
function countTransitions(w: HistWindow, changes: boolean): number {
  let n = 0;
  let prev: { v: number; h?: FloatHistogram } | undefined;
  for (const cur of merged(w)) {
    if (prev) {
      if (!prev.h && !cur.h) {
        if (changes) {
          if (cur.v !== prev.v && !(Number.isNaN(cur.v) && Number.isNaN(prev.v))) n++;
        } else if (cur.v < prev.v) n++;
      } else if (!prev.h || !cur.h) n++;
      else if (changes ? !cur.h.equals(prev.h) : cur.h.detectReset(prev.h)) n++;
    }
    prev = cur;
  }
  return n;
}

const FLOATS_ONLY = new Set([
  "min_over_time",
  "max_over_time",
  "ts_of_min_over_time",
  "ts_of_max_over_time",
  "stddev_over_time",
  "stdvar_over_time",
  "quantile_over_time",
  "mad_over_time",
]);

const TWO_FLOATS = new Set(["deriv", "predict_linear", "double_exponential_smoothing"]);

/**
 * Evaluates range function `name` on a window that has at least one
 * histogram sample; floats in the window are handled as Prometheus does
 * for mixed windows.
 */
export function histRangeFn(name: string, w: HistWindow, c: HistRangeCtx): HistRangeResult {
  const floats = w.hi - w.lo, hists = w.hhi - w.hlo;
  switch (name) {
    case "rate":
    case "increase":
    case "delta":
      if (floats > 0) {
        c.notes.warn(ANNOTATIONS.mixedFloatsHistograms(c.metric));
        return undefined;
      }
      return extrapolatedHistogramRate(w, c, name !== "delta", name === "rate");
    case "irate":
    case "idelta":
      return instantValue(w, c, name === "irate");
    case "sum_over_time":
    case "avg_over_time":
      if (floats > 0) {
        c.notes.warn(ANNOTATIONS.mixedFloatsHistograms(c.metric));
        return undefined;
      }
      return sumOrAvgOverTime(w, c, name === "avg_over_time");
    case "count_over_time":
      return floats + hists;
    case "present_over_time":
      return 1;
    case "last_over_time": {
      const h = w.hh[w.hhi - 1]!;
      if (floats > 0 && w.ht[w.hhi - 1]! < w.t[w.hi - 1]!) return w.v[w.hi - 1]!;
      return h.copy();
    }
    case "first_over_time": {
      if (floats > 0 && w.t[w.lo]! < w.ht[w.hlo]!) return w.v[w.lo]!;
      return w.hh[w.hlo]!.copy();
    }
    case "ts_of_first_over_time":
      return Math.min(floats > 0 ? w.t[w.lo]! : Infinity, w.ht[w.hlo]!) / 1000;
    case "ts_of_last_over_time":
      return Math.max(floats > 0 ? w.t[w.hi - 1]! : -Infinity, w.ht[w.hhi - 1]!) / 1000;
    case "resets":
      return countTransitions(w, false);
    case "changes":
      return countTransitions(w, true);
  }
  if (FLOATS_ONLY.has(name)) {
    if (floats === 0) return undefined;
    c.notes.info(ANNOTATIONS.ignoredInMixedRange(c.metric));
    return c.floatFn!(w.t, w.v, w.lo, w.hi, c.ctx);
  }
  if (TWO_FLOATS.has(name)) {
    if (floats < 2) {
      if (floats === 1) c.notes.info(ANNOTATIONS.ignoredInMixedRange(c.metric));
      return undefined;
    }
    const r = c.floatFn!(w.t, w.v, w.lo, w.hi, c.ctx);
    c.notes.info(ANNOTATIONS.ignoredInMixedRange(c.metric));
    return r;
  }
  throw new Error(`BUG: no histogram handling for range function ${name}`);
}
