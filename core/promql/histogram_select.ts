/**
 * Native histogram samples of selected series, as the engine reads them.
 *
 * Counter reset hints are given as Prometheus's TSDB reports them, not as
 * they were sent: Prometheus stores histograms in chunks, cuts a new chunk
 * at a counter reset (detected, or sent as hint "reset"), a change of schema,
 * zero threshold or custom bounds, a switch between counter and gauge
 * histograms or floats, and after a stale sample; on read, the first
 * histogram of a chunk says "unknown", the others "not_reset", and gauge
 * chunks "gauge". Deriving the hints from the sample sequence here gives the
 * same answers as Prometheus whatever Perch's storage layout is (head,
 * files, after restarts), where Prometheus's own could differ with chunk
 * boundaries.
 *
 * Selectors whose histograms only feed `histogram_count`, `histogram_sum` or
 * `histogram_avg` (and no subquery, `histogram_quantile`,
 * `histogram_fraction` or trim operator) read them as Prometheus's
 * HistogramStatsIterator does: without buckets, and with "unknown" hints
 * resolved by comparing with the histogram read before.
 *
 * @module
 */
import { isStaleNaN, type NativeHistogram, type SeriesData } from "../model/mod.ts";
import type { Expr, VectorSelector } from "./ast.ts";
import { boundsMatch, FloatHistogram } from "./float_histogram.ts";

/** The histogram samples of one fetched series. */
export interface HistData {
  /** Timestamps, ascending. */
  readonly t: Float64Array;
  readonly h: FloatHistogram[];
  /** 1 where the sample is a staleness marker. */
  readonly stale: Uint8Array;
  /** Samples without stale markers, built on first use. */
  clean?: { t: Float64Array; h: FloatHistogram[] };
}

/** Histogram samples without stale markers. */
export function cleanHist(d: HistData): { t: Float64Array; h: FloatHistogram[] } {
  if (d.clean) return d.clean;
  const t: number[] = [], h: FloatHistogram[] = [];
  for (let i = 0; i < d.t.length; i++) {
    if (d.stale[i]) continue;
    t.push(d.t[i]!);
    h.push(d.h[i]!);
  }
  d.clean = { t: Float64Array.from(t), h };
  return d.clean;
}

/** True when `h` can go on in the chunk of `prev` (Prometheus's appendable checks). */
function appendable(prev: FloatHistogram, h: FloatHistogram, gauge: boolean): boolean {
  if (h.schema !== prev.schema || h.zeroThreshold !== prev.zeroThreshold) return false;
  if (h.usesCustomBuckets && !boundsMatch(h.customValues, prev.customValues)) return false;
  if (gauge) return true;
  if (h.count < prev.count || h.zeroCount < prev.zeroCount) return false;
  const side = (ci: number[], cc: number[], pi: number[], pc: number[]) => {
    let i = 0;
    for (let k = 0; k < pi.length; k++) {
      while (i < ci.length && ci[i]! < pi[k]!) i++;
      if (i < ci.length && ci[i] === pi[k]) {
        if (cc[i]! < pc[k]!) return false;
      } else if (pc[k] !== 0) return false;
    }
    return true;
  };
  return side(h.pIdx, h.pCnt, prev.pIdx, prev.pCnt) && side(h.nIdx, h.nCnt, prev.nIdx, prev.nCnt);
}

/**
 * The histograms of a fetched series with the hints Prometheus's storage
 * would report (see the module doc), or undefined when it has none.
 */
export function histData(s: SeriesData, stats: boolean): HistData | undefined {
  const src = s.histograms;
  if (!src || src.t.length === 0) return undefined;
  const n = src.t.length;
  const out: FloatHistogram[] = new Array(n);
  const stale = new Uint8Array(n);
  let f = 0; // Next float sample.
  let chunk: "none" | "counter" | "gauge" = "none";
  let last: FloatHistogram | undefined; // Last histogram of the current chunk.
  let lastStale = false;
  let read: FloatHistogram | undefined; // Last non-stale histogram (stats reading).
  for (let i = 0; i < n; i++) {
    const t = src.t[i]!;
    // Floats between the previous histogram and this one: stale markers are
    // stored as stale histograms, anything else is a change of sample type.
    for (; f < s.t.length && s.t[f]! < t; f++) {
      if (isStaleNaN(s.v[f]!)) lastStale = true;
      else chunk = "none";
    }
    const raw: NativeHistogram = src.h[i]!;
    const h = FloatHistogram.fromNative(raw);
    if (isStaleNaN(raw.sum)) {
      stale[i] = 1;
      out[i] = h;
      lastStale = true;
      continue;
    }
    const gauge = raw.counterResetHint === "gauge";
    const fresh = chunk === "none" || (chunk === "gauge") !== gauge || lastStale ||
      (!gauge && raw.counterResetHint === "reset") || !appendable(last!, h, gauge);
    if (fresh) chunk = gauge ? "gauge" : "counter";
    h.hint = gauge ? "gauge" : fresh ? "unknown" : "not_reset";
    last = h;
    lastStale = false;
    if (stats) {
      if (h.hint === "unknown" && read) h.hint = h.detectReset(read) ? "reset" : "not_reset";
      read = FloatHistogram.fromNative(raw);
      out[i] = new FloatHistogram({ schema: h.schema, count: h.count, sum: h.sum, hint: h.hint });
    } else out[i] = h;
  }
  return { t: src.t, h: out, stale };
}

/**
 * The selectors whose histograms may be read without buckets: below
 * `histogram_count`, `histogram_sum` or `histogram_avg`, and not below a
 * subquery, `histogram_quantile(s)`, `histogram_fraction` or a trim operator.
 */
export function statsSelectors(expr: Expr): Set<VectorSelector> {
  const out = new Set<VectorSelector>();
  const walk = (e: Expr, stats: boolean, blocked: boolean): void => {
    switch (e.type) {
      case "VectorSelector":
        if (stats && !blocked) out.add(e);
        return;
      case "MatrixSelector":
        return walk(e.vectorSelector, stats, blocked);
      case "SubqueryExpr":
        return walk(e.expr, stats, true);
      case "ParenExpr":
      case "UnaryExpr":
        return walk(e.expr, stats, blocked);
      case "Call": {
        const f = e.func;
        const s = stats || f === "histogram_count" || f === "histogram_sum" ||
          f === "histogram_avg";
        const b = blocked || f === "histogram_quantile" || f === "histogram_quantiles" ||
          f === "histogram_fraction";
        for (const a of e.args) walk(a, s, b);
        return;
      }
      case "AggregateExpr":
        if (e.param) walk(e.param, stats, blocked);
        return walk(e.expr, stats, blocked);
      case "BinaryExpr": {
        const b = blocked || e.op === "</" || e.op === ">/";
        walk(e.lhs, stats, b);
        return walk(e.rhs, stats, b);
      }
      default:
        return;
    }
  };
  walk(expr, false, false);
  return out;
}
