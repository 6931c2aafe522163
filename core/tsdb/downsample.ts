/**
 * Downsampling: per series and per window of `resolution` ms (aligned to the
 * epoch), the aggregates count, sum, min, max and last, plus for counters a
 * counter series that keeps every increase (as Thanos' AggrChunks do). A
 * downsampled block stores each aggregate as its own pseudo-series with ref
 * `ref * 8 + aggregate` ({@linkcode aggRef}); all aggregates of a window sit
 * at the timestamp of the window's last source sample.
 *
 * - count, sum, min, max skip NaN (stale markers); a window of only NaN has
 *   just a `last` point.
 * - last is the last source value of the window (a stale marker included).
 * - counter (counter-like series only): the last non-NaN value of each window
 *   plus every sample right before a drop (a counter reset). The total
 *   increase between any two kept points equals the raw one, so rate() and
 *   increase() over downsampled data differ from raw only by extrapolation.
 *
 * Pure functions; the block worker writes the result (block_writer.ts) and
 * the database picks the aggregate a query needs ({@linkcode viewFor}).
 *
 * @module
 */
import type { Samples } from "./head.ts";

/** Aggregate codes; a pseudo-series ref is `ref * 8 + code`. */
export const AGG = { last: 0, min: 1, max: 2, sum: 3, count: 4, counter: 5 } as const;
/** Number of aggregate slots per series ref. */
export const AGG_SLOTS = 8;

/** The pseudo-series ref of aggregate `agg` of series `ref`. */
export function aggRef(ref: number, agg: number): number {
  return ref * AGG_SLOTS + agg;
}

/** One downsampling tier: data older than `afterMs` is kept at `resolutionMs`. */
export interface DownsamplingTier {
  afterMs: number;
  resolutionMs: number;
}

/** The product default: raw for 24 h, 1 m to 7 d, 5 m after (until retention deletes it). */
export const DEFAULT_DOWNSAMPLING: readonly DownsamplingTier[] = [
  { afterMs: 24 * 3_600_000, resolutionMs: 60_000 },
  { afterMs: 7 * 24 * 3_600_000, resolutionMs: 300_000 },
];

/** Aggregates of one series: parallel columns per aggregate. */
export interface SeriesAggregates {
  /** Aggregate code -> its samples (absent when empty). */
  readonly parts: Map<number, Samples>;
}

/**
 * Source of one series for {@linkcode downsampleSeries}: raw samples, or the
 * aggregates of a finer tier (each a Samples run, `counter` optional).
 */
export type DownsampleSource =
  | { kind: "raw"; s: Samples }
  | { kind: "agg"; parts: Map<number, Samples> };

class Col {
  t: number[] = [];
  v: number[] = [];
  push(t: number, v: number): void {
    this.t.push(t);
    this.v.push(v);
  }
  done(): Samples | undefined {
    return this.t.length ? { t: new Float64Array(this.t), v: new Float64Array(this.v) } : undefined;
  }
}

/** Aggregates one series into windows of `resolution` ms. */
export function downsampleSeries(
  src: DownsampleSource,
  resolution: number,
  counter: boolean,
): SeriesAggregates {
  // Per-point inputs: for raw samples every aggregate is the value itself.
  const last = src.kind === "raw" ? src.s : src.parts.get(AGG.last);
  const get = (a: number) => src.kind === "raw" ? src.s : src.parts.get(a);
  const cols = [new Col(), new Col(), new Col(), new Col(), new Col(), new Col()];
  const win = (t: number) => Math.floor(t / resolution);
  // last: the last point of each window.
  if (last) {
    const { t, v } = last;
    for (let i = 0; i < t.length; i++) {
      if (i + 1 === t.length || win(t[i + 1]) !== win(t[i])) cols[AGG.last].push(t[i], v[i]);
    }
  }
  // min, max, sum, count over non-NaN points, stamped at the window's last point.
  const stamp = (w: number) => {
    // Timestamp of the last source point in window w (binary search in `last`).
    const t = last!.t;
    let lo = 0, hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (win(t[mid]) <= w) lo = mid + 1;
      else hi = mid;
    }
    return t[lo - 1];
  };
  const fold = (a: number, init: number, f: (acc: number, x: number) => number, cnt = false) => {
    const s = get(a);
    if (!s || !last) return;
    let w = NaN, acc = init, any = false;
    for (let i = 0; i <= s.t.length; i++) {
      const wi = i < s.t.length ? win(s.t[i]) : NaN;
      if (wi !== w) {
        if (any) cols[a].push(stamp(w), acc);
        w = wi;
        acc = init;
        any = false;
      }
      if (i === s.t.length) break;
      const x = s.v[i];
      if (x !== x) continue;
      acc = f(acc, src.kind === "raw" && cnt ? 1 : x);
      any = true;
    }
  };
  fold(AGG.min, Infinity, Math.min);
  fold(AGG.max, -Infinity, Math.max);
  fold(AGG.sum, 0, (a, x) => a + x);
  fold(AGG.count, 0, (a, x) => a + x, true);
  if (counter) {
    const c = src.kind === "raw" ? src.s : (src.parts.get(AGG.counter) ?? src.parts.get(AGG.last));
    if (c) {
      // Non-NaN points; keep the last of each window and each point before a drop.
      let pt = NaN, pv = NaN;
      for (let i = 0; i < c.t.length; i++) {
        const v = c.v[i];
        if (v !== v) continue;
        if (pv === pv && v < pv) cols[AGG.counter].push(pt, pv);
        else if (pv === pv && win(c.t[i]) !== win(pt)) cols[AGG.counter].push(pt, pv);
        pt = c.t[i];
        pv = v;
      }
      if (pv === pv) cols[AGG.counter].push(pt, pv);
    }
  }
  const parts = new Map<number, Samples>();
  cols.forEach((c, a) => {
    const d = c.done();
    if (d) parts.set(a, d);
  });
  return { parts };
}

/** Functions whose answer needs the counter aggregate. */
const COUNTER_FUNCS = new Set(["rate", "increase", "irate", "resets", "idelta", "delta"]);

/**
 * The samples a query sees from a downsampled series, by the PromQL function
 * that asked (`SelectHints.func`):
 *
 * | func                       | served from      | exact on whole windows        |
 * | -------------------------- | ---------------- | ----------------------------- |
 * | min_over_time, max_over_time | min, max       | yes                           |
 * | sum_over_time              | sum              | yes                           |
 * | count_over_time            | count, with counts | yes                         |
 * | avg_over_time              | sum, with counts | yes (sum of sums / sum of counts) |
 * | rate, increase, resets, ...  | counter (else last) | increase yes; extrapolation approximate |
 * | anything else, none        | counter if present, else last | last value per window |
 *
 * "With counts": the view's `c` holds each window's count of raw samples,
 * which the query engine adds up instead of counting points (SeriesData
 * `counts`), so a window weighs as many samples as it stands for.
 */
export function viewFor(
  parts: Map<number, Samples>,
  func: string | undefined,
): Samples | undefined {
  switch (func) {
    case "min_over_time":
      return parts.get(AGG.min);
    case "max_over_time":
      return parts.get(AGG.max);
    case "sum_over_time":
      return parts.get(AGG.sum);
    case "count_over_time": {
      const c = parts.get(AGG.count);
      return c && { t: c.t, v: c.v, c: c.v };
    }
    case "avg_over_time": {
      const s = parts.get(AGG.sum), c = parts.get(AGG.count);
      if (!s || !c || s.t.length !== c.t.length) return parts.get(AGG.last);
      return { t: s.t, v: s.v, c: c.v };
    }
  }
  if (func !== undefined && COUNTER_FUNCS.has(func)) {
    return parts.get(AGG.counter) ?? parts.get(AGG.last);
  }
  return parts.get(AGG.counter) ?? parts.get(AGG.last);
}

/** True for series that downsampling treats as counters (by type, else by name). */
export function isCounterLike(name: string | undefined, type: string | undefined): boolean {
  if (type === "counter" || type === "histogram" || type === "summary") return true;
  if (type === "gauge") return false;
  return name !== undefined && /_(total|count|sum|bucket)$/.test(name);
}

/** Merges two ascending runs keeping both points on equal timestamps (`a`'s first). */
function unionRuns(a: Samples | undefined, b: Samples | undefined): Samples | undefined {
  if (!a || a.t.length === 0) return b;
  if (!b || b.t.length === 0) return a;
  const n = a.t.length + b.t.length;
  const t = new Float64Array(n), v = new Float64Array(n);
  let i = 0, j = 0, k = 0;
  while (i < a.t.length || j < b.t.length) {
    if (j >= b.t.length || (i < a.t.length && a.t[i] <= b.t[j])) {
      t[k] = a.t[i];
      v[k++] = a.v[i++];
    } else {
      t[k] = b.t[j];
      v[k++] = b.v[j++];
    }
  }
  return { t, v };
}

/** `s` without the points at timestamps in `drop` (ascending). */
function without(s: Samples | undefined, drop: readonly number[]): Samples | undefined {
  if (!s || drop.length === 0) return s;
  const t: number[] = [], v: number[] = [];
  let j = 0;
  for (let i = 0; i < s.t.length; i++) {
    while (j < drop.length && drop[j] < s.t[i]) j++;
    if (j < drop.length && drop[j] === s.t[i]) continue;
    t.push(s.t[i]);
    v.push(s.v[i]);
  }
  return { t: new Float64Array(t), v: new Float64Array(v) };
}

/**
 * Merges late data into the aggregates of a downsampled series: the result
 * has one point per `resolution` window, as if the late samples had been
 * there when the window was downsampled. `tier` holds the existing
 * aggregates (at `resolution` or finer); `late` is raw samples or a finer
 * tier's aggregates.
 *
 * Per window: count and sum add up, min and max combine, last is the point
 * with the greater timestamp and the counter keeps both runs' points. Equal
 * timestamps follow "last write wins" as far as aggregates allow: a late raw
 * sample at the timestamp of the window's last aggregated sample (its
 * `last` point) replaces that sample in last, count, sum and the counter
 * (min and max cannot forget a value). Any other raw sample that was already
 * aggregated cannot be recognised and is added.
 */
export function mergeIntoTier(
  tier: ReadonlyMap<number, Samples>,
  late: DownsampleSource,
  resolution: number,
  counter: boolean,
): SeriesAggregates {
  const add = downsampleSeries(late, resolution, counter).parts;
  const base = new Map(tier);
  const tl = tier.get(AGG.last);
  if (late.kind === "raw" && tl) {
    // Late raw samples that rewrite a window's last aggregated sample.
    const raw = late.s.t;
    const replaced: number[] = [];
    const cnt = base.get(AGG.count), sum = base.get(AGG.sum);
    const cv = cnt ? cnt.v.slice() : undefined, sv = sum ? sum.v.slice() : undefined;
    const drop: number[] = [];
    let j = 0;
    for (let i = 0; i < tl.t.length; i++) {
      const t = tl.t[i];
      while (j < raw.length && raw[j] < t) j++;
      if (j >= raw.length || raw[j] !== t) continue;
      replaced.push(t);
      const old = tl.v[i];
      if (old !== old || !cnt || !cv) continue;
      const k = binaryFind(cnt.t, t);
      if (k < 0) continue;
      cv[k] -= 1;
      if (sv && sum && sum.t[k] === t) sv[k] -= old;
      if (cv[k] <= 0) drop.push(t);
    }
    if (replaced.length > 0) {
      if (cnt && cv) base.set(AGG.count, without({ t: cnt.t, v: cv }, drop)!);
      if (sum && sv) base.set(AGG.sum, without({ t: sum.t, v: sv }, drop)!);
      for (const a of [AGG.min, AGG.max]) {
        const x = without(base.get(a), drop);
        if (x) base.set(a, x);
      }
      for (const a of [AGG.last, AGG.counter]) {
        const x = without(base.get(a), replaced);
        if (x) base.set(a, x);
      }
    }
  }
  const merged = new Map<number, Samples>();
  for (const a of Object.values(AGG)) {
    const x = unionRuns(base.get(a), add.get(a));
    if (x && x.t.length > 0) merged.set(a, x);
  }
  if (counter && !merged.has(AGG.counter) && merged.has(AGG.last)) {
    merged.set(AGG.counter, merged.get(AGG.last)!);
  }
  return downsampleSeries({ kind: "agg", parts: merged }, resolution, counter);
}

function binaryFind(t: Float64Array, x: number): number {
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo < t.length && t[lo] === x ? lo : -1;
}
