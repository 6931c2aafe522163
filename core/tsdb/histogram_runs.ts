/**
 * Runs of native histogram samples (one series, ascending timestamps): merge,
 * clip, cut into chunks, and downsample. Pure functions; the histogram store
 * (histogram_store.ts) does the IO.
 *
 * Downsampling keeps, per epoch-aligned step of `resolution` ms, the step's
 * last histogram at its own timestamp, plus both samples around every
 * possible counter reset. Counter histograms are cumulative, so the increase
 * between any two kept samples is the raw increase, and rate()/increase()
 * over a tier differ from raw only by extrapolation at the range edges.
 * Counter reset hints are rewritten so they stay true between kept samples
 * (FORMAT.md, "Histogram files").
 *
 * @module
 */
import type { NativeHistogram } from "../model/mod.ts";
import {
  encodeHistogramChunk,
  type HistogramSamples,
  MAX_HISTOGRAM_CHUNK_SAMPLES,
  sameLayout,
} from "./histogram_chunk.ts";

/** An empty run. */
export const EMPTY_RUN: HistogramSamples = { t: new Float64Array(0), h: [] };

/** Merges two ascending runs; on equal timestamps `b` (the newer write) wins. */
export function mergeRuns(a: HistogramSamples, b: HistogramSamples): HistogramSamples {
  if (a.t.length === 0) return b;
  if (b.t.length === 0) return a;
  if (a.t[a.t.length - 1]! < b.t[0]!) return concatRuns([a, b]);
  const t: number[] = [], h: NativeHistogram[] = [];
  let i = 0, j = 0;
  while (i < a.t.length || j < b.t.length) {
    if (j >= b.t.length || (i < a.t.length && a.t[i]! < b.t[j]!)) {
      t.push(a.t[i]!), h.push(a.h[i++]!);
    } else {
      if (i < a.t.length && a.t[i] === b.t[j]) i++;
      t.push(b.t[j]!), h.push(b.h[j++]!);
    }
  }
  return { t: new Float64Array(t), h };
}

/** Joins runs that follow each other in time (each starts after the previous ends). */
export function concatRuns(runs: readonly HistogramSamples[]): HistogramSamples {
  if (runs.length === 1) return runs[0]!;
  let n = 0;
  for (const r of runs) n += r.t.length;
  const t = new Float64Array(n);
  const h: NativeHistogram[] = [];
  let k = 0;
  for (const r of runs) {
    t.set(r.t, k);
    k += r.t.length;
    for (const x of r.h) h.push(x);
  }
  return { t, h };
}

/** The samples of `s` in [minT, maxT]. */
export function clipRun(s: HistogramSamples, minT: number, maxT: number): HistogramSamples {
  let a = 0, b = s.t.length;
  while (a < b && s.t[a]! < minT) a++;
  while (b > a && s.t[b - 1]! > maxT) b--;
  if (a === 0 && b === s.t.length) return s;
  return { t: s.t.slice(a, b), h: s.h.slice(a, b) };
}

/** Encodes a run as histogram chunks of at most 65,535 samples each. */
export function runChunks(s: HistogramSamples): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let a = 0; a < s.t.length; a += MAX_HISTOGRAM_CHUNK_SAMPLES) {
    const e = Math.min(s.t.length, a + MAX_HISTOGRAM_CHUNK_SAMPLES);
    out.push(encodeHistogramChunk(s.t.subarray(a, e), s.h.slice(a, e)));
  }
  return out;
}

/**
 * Whether a counter may have been reset between `prev` and `cur` (errs
 * towards yes): a `reset` hint, a count, zero count or bucket that went
 * down, or any change of schema, zero threshold, spans or custom bounds.
 * Gauge histograms never reset.
 */
export function mayBeCounterReset(prev: NativeHistogram, cur: NativeHistogram): boolean {
  if (cur.counterResetHint === "reset") return true;
  if (cur.counterResetHint === "gauge" || prev.counterResetHint === "gauge") return false;
  if (cur.count < prev.count || cur.zeroCount < prev.zeroCount) return true;
  if (!sameLayout(prev, cur)) return true;
  for (let k = 0; k < cur.positiveBuckets.length; k++) {
    if (cur.positiveBuckets[k]! < prev.positiveBuckets[k]!) return true;
  }
  for (let k = 0; k < cur.negativeBuckets.length; k++) {
    if (cur.negativeBuckets[k]! < prev.negativeBuckets[k]!) return true;
  }
  return false;
}

/**
 * Downsamples a run to `resolution` ms (see the module doc). A kept sample
 * whose raw predecessor is not kept gets the hint `unknown` (a `gauge` hint
 * stays): a hint describes the step from the previous sample, and that
 * previous sample is now another one.
 */
export function downsampleHistograms(s: HistogramSamples, resolution: number): HistogramSamples {
  const n = s.t.length;
  if (n === 0 || resolution <= 0) return s;
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (i === n - 1 || Math.floor(s.t[i + 1]! / resolution) !== Math.floor(s.t[i]! / resolution)) {
      keep[i] = 1;
    }
    if (i > 0 && mayBeCounterReset(s.h[i - 1]!, s.h[i]!)) keep[i - 1] = keep[i] = 1;
  }
  const t: number[] = [], h: NativeHistogram[] = [];
  for (let i = 0; i < n; i++) {
    if (!keep[i]) continue;
    const x = s.h[i]!;
    const hint = i === 0 || keep[i - 1] || x.counterResetHint === "gauge"
      ? x.counterResetHint
      : "unknown";
    t.push(s.t[i]!);
    h.push(hint === x.counterResetHint ? x : { ...x, counterResetHint: hint });
  }
  return t.length === n ? s : { t: new Float64Array(t), h };
}
