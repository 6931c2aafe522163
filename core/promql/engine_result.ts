/**
 * Shaping the evaluator's output into the public result: series per label
 * set (float and histogram points apart), `__name__` dropped where flagged,
 * sorted, and duplicate label sets refused.
 *
 * @module
 */
import { compareLabels, type Labels, METRIC_NAME } from "../model/mod.ts";
import type { Evaluator } from "./engine.ts";
import { sameLabelsetError } from "./errors.ts";
import type { FloatHistogram } from "./float_histogram.ts";
import {
  type EvalValue,
  type HistPoints,
  keyOf,
  lowerIndex,
  type MatrixValue,
  type RangeSeries,
  type Sample,
  type Series,
  type StepVectors,
  type Value,
  type VectorColumns,
  windowAt,
} from "./value.ts";

/** Collects step vectors into series keyed by labels (and drop flag). */
export function toSeries(
  v: StepVectors,
  ts: Float64Array,
  tick: () => void = () => {},
): RangeSeries[] {
  const byKey = new Map<string, PointLists & { labels: Labels; dropName: boolean }>();
  for (let i = 0; i < ts.length; i++) {
    tick();
    for (const s of v.steps[i]!) {
      const k = keyOf(s.labels);
      let e = byKey.get(k);
      if (!e) {
        e = { labels: s.labels, dropName: s.dropName, t: [], v: [], ht: [], h: [] };
        byKey.set(k, e);
      }
      addPoint(e, ts[i]!, s);
    }
  }
  return [...byKey.values()].map((e) => ({
    labels: e.labels,
    dropName: e.dropName,
    ...pointArrays(e),
  }));
}

/** Float and histogram points of a series being built. */
interface PointLists {
  t: number[];
  v: number[];
  ht: number[];
  h: FloatHistogram[];
}

function addPoint(e: PointLists, t: number, s: { v: number; h?: FloatHistogram }): void {
  if (s.h) {
    e.ht.push(t);
    e.h.push(s.h);
  } else {
    e.t.push(t);
    e.v.push(s.v);
  }
}

/** The typed arrays of a built series; `histograms` only when it has some. */
function pointArrays(e: PointLists): { t: Float64Array; v: Float64Array; histograms?: HistPoints } {
  const out = { t: Float64Array.from(e.t), v: Float64Array.from(e.v) };
  return e.h.length > 0 ? { ...out, histograms: { t: Float64Array.from(e.ht), h: e.h } } : out;
}

/** The windows of a range source at time `t`, as an instant query's matrix result. */
export function matrixAt(m: MatrixValue, t: number, ev: Evaluator): Series[] {
  const { start, end } = windowAt(m, t);
  const out: Series[] = [];
  let total = 0;
  const closed = m.closedStart ?? false;
  for (const s of m.series) {
    const lo = lowerIndex(s.t, start, closed);
    const hi = lowerIndex(s.t, end, false);
    const h = s.histograms;
    const hlo = h ? lowerIndex(h.t, start, closed) : 0, hhi = h ? lowerIndex(h.t, end, false) : 0;
    if (hi <= lo && hhi <= hlo) continue;
    total += hi - lo + hhi - hlo;
    const labels = dropped(s.labels, s.dropName), t = s.t.slice(lo, hi), v = s.v.slice(lo, hi);
    out.push(
      hhi > hlo
        ? { labels, t, v, histograms: { t: h!.t.slice(hlo, hhi), h: h!.h.slice(hlo, hhi) } }
        : { labels, t, v },
    );
  }
  ev.countSamples(total);
  ev.checkHeld(total);
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  checkDuplicates(out);
  return out;
}

/** `labels` without `__name__` when `drop`. */
export function dropped(labels: Labels, drop: boolean): Labels {
  if (!drop) return labels;
  return labels.some((l) => l.name === METRIC_NAME)
    ? labels.filter((l) => l.name !== METRIC_NAME)
    : labels;
}

/** Throws {@linkcode sameLabelsetError} when two of `list` have one label set. */
export function checkDuplicates(list: readonly { readonly labels: Labels }[]): void {
  const seen = new Set<string>();
  for (const { labels } of list) {
    const k = keyOf(labels);
    if (seen.has(k)) throw sameLabelsetError();
    seen.add(k);
  }
}

/*
 * The per-step loops of finishColumns are small functions, called per group
 * (optimized after a few), with indexed loops: a for-of per step allocated
 * an iterator and its results per point until the one long call was
 * optimized (wide workload, `max by (host)` over 1 h at 15 s: 25 MiB).
 */

/** Steps where one of `cs` has a sample; throws when two of them have. */
function presentCount(present: readonly Uint8Array[], cs: readonly number[], n: number): number {
  let count = 0;
  if (cs.length === 1) {
    const p = present[cs[0]!]!;
    for (let i = 0; i < n; i++) count += p[i]!;
    return count;
  }
  for (let i = 0; i < n; i++) {
    let here = 0;
    for (let j = 0; j < cs.length; j++) here += present[cs[j]!]![i]!;
    if (here > 1) throw sameLabelsetError();
    count += here;
  }
  return count;
}

/** Writes the present samples of columns `cs` (steps in order) to `allT`/`allV` from `o`. */
function fillGroup(
  cols: VectorColumns,
  cs: readonly number[],
  ts: Float64Array,
  allT: Float64Array,
  allV: Float64Array,
  o: number,
): void {
  const n = ts.length;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < cs.length; j++) {
      const s = cs[j]!;
      if (!cols.present[s]![i]) continue;
      allT[o] = ts[i]!;
      allV[o++] = cols.v[s]![i]!;
    }
  }
}

/** {@linkcode finish} of a columnar range result: per series, not per sample. */
function finishColumns(cols: VectorColumns, ts: Float64Array): Value {
  const { present } = cols;
  const groups = new Map<string, { labels: Labels; cols: number[] }>();
  for (let s = 0; s < cols.labels.length; s++) {
    const labels = dropped(cols.labels[s]!, cols.dropName[s]!);
    const k = keyOf(labels);
    const g = groups.get(k);
    if (g) g.cols.push(s);
    else groups.set(k, { labels, cols: [s] });
  }
  const n = ts.length;
  const list = [...groups.values()];
  const counts = new Int32Array(list.length);
  let total = 0;
  for (let k = 0; k < list.length; k++) {
    counts[k] = presentCount(present, list[k]!.cols, n);
    total += counts[k]!;
  }
  // Two arrays for all series (views each): a few large allocations, mapped
  // apart from the malloc heap, not two small ones per series between
  // long-lived blocks.
  const allT = new Float64Array(total), allV = new Float64Array(total);
  const series: Series[] = [];
  let o = 0;
  for (let k = 0; k < list.length; k++) {
    const end = o + counts[k]!;
    fillGroup(cols, list[k]!.cols, ts, allT, allV, o);
    series.push({ labels: list[k]!.labels, t: allT.subarray(o, end), v: allV.subarray(o, end) });
    o = end;
  }
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  return { type: "matrix", series };
}

/** Turns the evaluated top node into the public result, dropping names now. */
export function finish(val: EvalValue, ts: Float64Array, instant: boolean): Value {
  if (val.kind === "string") return { type: "string", t: ts[0]!, v: val.s };
  if (val.kind === "scalar") {
    if (instant) return { type: "scalar", t: ts[0]!, v: val.v[0]! };
    return {
      type: "matrix",
      series: [{ labels: [], t: ts.slice(), v: val.v.slice() }],
    };
  }
  if (val.kind === "matrix") throw new Error("BUG: matrix result reached finish()");
  if (instant) {
    const samples: Sample[] = val.steps[0]!.map((s) =>
      s.h
        ? { labels: dropped(s.labels, s.dropName), t: ts[0]!, v: 0, h: s.h }
        : { labels: dropped(s.labels, s.dropName), t: ts[0]!, v: s.v }
    );
    checkDuplicates(samples);
    return { type: "vector", samples };
  }
  if (val.cols) return finishColumns(val.cols, ts);
  // Range: group by final labels; the same labels at one step twice is an error.
  const byKey = new Map<string, PointLists & { labels: Labels; last: number }>();
  for (let i = 0; i < ts.length; i++) {
    for (const s of val.steps[i]!) {
      const labels = dropped(s.labels, s.dropName);
      const k = keyOf(labels);
      let e = byKey.get(k);
      if (!e) {
        e = { labels, last: NaN, t: [], v: [], ht: [], h: [] };
        byKey.set(k, e);
      }
      if (e.last === ts[i]) throw sameLabelsetError();
      e.last = ts[i]!;
      addPoint(e, ts[i]!, s);
    }
  }
  const series: Series[] = [...byKey.values()].map((e) => ({
    labels: e.labels,
    ...pointArrays(e),
  }));
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  return { type: "matrix", series };
}
