/**
 * Bucket-side arithmetic of native histograms (one side = ascending bucket
 * indexes and their counts): merging with Prometheus's rules for the zero
 * bucket edge, resolution reduction, custom bound intersection, Kahan
 * compensation, reset detection per bucket.
 *
 * @module
 */
import type { NativeHistogram } from "../model/mod.ts";
import type { FloatHistogram } from "./float_histogram.ts";
import { CUSTOM_SCHEMA, exponentialBound, targetIndex } from "./histogram_bounds.ts";

/** One side of a histogram: bucket indexes (ascending) and their counts. */
export interface Side {
  idx: number[];
  cnt: number[];
}

/** Neumaier-compensated addition of `inc` to (`sum`, `c`), as Prometheus's `kahansum.Inc`. */
export function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (!Number.isFinite(t) && !Number.isNaN(t)) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += (sum - t) + inc;
  else c += (inc - t) + sum;
  return [t, c];
}

/** Bucket indexes of spans (each offset counts from the end of the previous span). */
export function spanIndexes(spans: NativeHistogram["positiveSpans"]): number[] {
  const out: number[] = [];
  let i = 0;
  for (let k = 0; k < spans.length; k++) {
    const s = spans[k]!;
    i += s.offset;
    for (let j = 0; j < s.length; j++) out.push(i + j);
    i += s.length;
  }
  return out;
}

/** Spans (one per run of consecutive indexes) for ascending indexes. */
export function toSpans(idx: readonly number[]): { offset: number; length: number }[] {
  const spans: { offset: number; length: number }[] = [];
  let end = 0; // Index after the previous span.
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    const last = spans[spans.length - 1];
    if (last && i === end) last.length++;
    else spans.push({ offset: spans.length === 0 ? i : i - end, length: 1 });
    end = i + 1;
  }
  return spans;
}

export function zeros(s: Side): number[] {
  return new Array<number>(s.cnt.length).fill(0);
}

/** Custom bounds are equal (Prometheus's CustomBucketBoundsMatch). */
export function boundsMatch(
  a: readonly number[] | undefined,
  b: readonly number[] | undefined,
): boolean {
  const x = a ?? [], y = b ?? [];
  if (x.length !== y.length) return false;
  for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return false;
  return true;
}

/** The bounds both lists have (undefined when none). */
export function intersectBounds(a: readonly number[], b: readonly number[]): number[] | undefined {
  let out: number[] | undefined;
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      (out ??= []).push(a[i]!);
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return out;
}

/**
 * Both histograms' custom buckets mapped onto the intersected bounds and
 * added (b subtracted when `negative`), with Kahan compensation; buckets that
 * end up 0 (count and compensation) are left out.
 */
export function mapCustom(
  negative: boolean,
  a: FloatHistogram,
  b: FloatHistogram,
  aComp: number[] | undefined,
  bounds: readonly number[] | undefined,
): { idx: number[]; cnt: number[]; comp: number[] } {
  const inter = bounds ?? [];
  const target = new Array<number>(inter.length + 1).fill(0);
  const comp = new Array<number>(inter.length + 1).fill(0);
  const map = (h: FloatHistogram, neg: boolean, hc: number[] | undefined) => {
    const own = h.customValues ?? [];
    let ii = 0;
    for (let k = 0; k < h.pIdx.length; k++) {
      const src = h.pIdx[k]!;
      let t = target.length - 1;
      if (src < own.length) {
        const bound = own[src]!;
        while (ii < inter.length) {
          if (inter[ii]! >= bound) {
            t = ii;
            break;
          }
          ii++;
        }
      }
      const v = h.pCnt[k]!;
      [target[t], comp[t]] = kahanInc(neg ? -v : v, target[t]!, comp[t]!);
      if (!neg && hc) [target[t], comp[t]] = kahanInc(hc[k]!, target[t]!, comp[t]!);
    }
  };
  map(a, false, aComp);
  map(b, negative, undefined);
  const out = { idx: [] as number[], cnt: [] as number[], comp: [] as number[] };
  for (let t = 0; t < target.length; t++) {
    if (target[t] === 0 && comp[t] === 0) continue;
    out.idx.push(t);
    out.cnt.push(target[t]!);
    out.comp.push(comp[t]!);
  }
  return out;
}

/**
 * Adds (or subtracts) side `b` into side `a` in `schema`; leading buckets of
 * `b` whose upper bound is at most `threshold` are inside the zero bucket and
 * skipped (exponential schemas only).
 */
export function mergeSides(
  schema: number,
  threshold: number,
  negative: boolean,
  a: Side,
  b: Side,
): Side {
  const out: Side = { idx: [], cnt: [] };
  let i = 0, skipping = true;
  for (let k = 0; k < b.idx.length; k++) {
    const bi = b.idx[k]!;
    if (skipping && schema !== CUSTOM_SCHEMA && exponentialBound(bi, schema) <= threshold) continue;
    skipping = false;
    const v = negative ? -b.cnt[k]! : b.cnt[k]!;
    while (i < a.idx.length && a.idx[i]! < bi) {
      out.idx.push(a.idx[i]!);
      out.cnt.push(a.cnt[i++]!);
    }
    out.idx.push(bi);
    if (i < a.idx.length && a.idx[i] === bi) out.cnt.push(a.cnt[i++]! + v);
    else out.cnt.push(v);
  }
  while (i < a.idx.length) {
    out.idx.push(a.idx[i]!);
    out.cnt.push(a.cnt[i++]!);
  }
  return out;
}

/** {@linkcode mergeSides} with Kahan compensation (`aComp` aligned with `a`, `bComp` with `b`). */
export function kahanMerge(
  schema: number,
  threshold: number,
  a: Side,
  aComp: number[],
  b: Side,
  bComp: number[] | undefined,
): { idx: number[]; cnt: number[]; comp: number[] } {
  const out = { idx: [] as number[], cnt: [] as number[], comp: [] as number[] };
  let i = 0, skipping = true;
  const take = () => {
    out.idx.push(a.idx[i]!);
    out.cnt.push(a.cnt[i]!);
    out.comp.push(aComp[i++]!);
  };
  for (let k = 0; k < b.idx.length; k++) {
    const bi = b.idx[k]!;
    if (skipping && schema !== CUSTOM_SCHEMA && exponentialBound(bi, schema) <= threshold) continue;
    skipping = false;
    const v = b.cnt[k]!, cv = bComp ? bComp[k]! : 0;
    while (i < a.idx.length && a.idx[i]! < bi) take();
    if (i < a.idx.length && a.idx[i] === bi) {
      let [s, c] = kahanInc(v, a.cnt[i]!, aComp[i]!);
      if (cv !== 0) [s, c] = kahanInc(cv, s, c);
      out.idx.push(bi);
      out.cnt.push(s);
      out.comp.push(c);
      i++;
    } else {
      out.idx.push(bi);
      out.cnt.push(v);
      out.comp.push(cv);
    }
  }
  while (i < a.idx.length) take();
  return out;
}

/** A side in the lower-resolution schema `to`: buckets that fall together are added. */
export function reduceSide(s: Side, from: number, to: number): Side {
  const out: Side = { idx: [], cnt: [] };
  for (let k = 0; k < s.idx.length; k++) {
    const t = targetIndex(s.idx[k]!, from, to);
    const n = out.idx.length;
    if (n > 0 && out.idx[n - 1] === t) out.cnt[n - 1]! += s.cnt[k]!;
    else {
      out.idx.push(t);
      out.cnt.push(s.cnt[k]!);
    }
  }
  return out;
}

/** {@linkcode reduceSide} with Kahan compensation. */
export function kahanReduce(
  s: Side,
  comp: number[],
  from: number,
  to: number,
): { side: Side; comp: number[] } {
  const side: Side = { idx: [], cnt: [] };
  const c: number[] = [];
  for (let k = 0; k < s.idx.length; k++) {
    const t = targetIndex(s.idx[k]!, from, to);
    const n = side.idx.length;
    if (n > 0 && side.idx[n - 1] === t) {
      [side.cnt[n - 1], c[n - 1]] = kahanInc(s.cnt[k]!, side.cnt[n - 1]!, c[n - 1]!);
      [side.cnt[n - 1], c[n - 1]] = kahanInc(comp[k]!, side.cnt[n - 1]!, c[n - 1]!);
    } else {
      side.idx.push(t);
      side.cnt.push(s.cnt[k]!);
      c.push(comp[k]!);
    }
  }
  return { side, comp: c };
}

/** The side without leading buckets whose upper bound is at most `threshold`. */
export function skipBelow(s: Side, schema: number, threshold: number): Side {
  if (threshold === 0 || schema === CUSTOM_SCHEMA) return s;
  let k = 0;
  while (k < s.idx.length && exponentialBound(s.idx[k]!, schema) <= threshold) k++;
  return k === 0 ? s : { idx: s.idx.slice(k), cnt: s.cnt.slice(k) };
}

/** A bucket of `prev` that is populated and missing or smaller in `cur`. */
export function sideReset(cur: Side, prev: Side): boolean {
  let i = 0;
  for (let k = 0; k < prev.idx.length; k++) {
    const pi = prev.idx[k]!;
    while (i < cur.idx.length && cur.idx[i]! < pi) i++;
    if (i < cur.idx.length && cur.idx[i] === pi) {
      if (cur.cnt[i]! < prev.cnt[k]!) return true;
    } else if (prev.cnt[k] !== 0) return true;
  }
  return false;
}

/** The side without buckets whose count (and compensation, when given) is 0. */
export function dropEmpty(s: Side, comp: number[] | undefined): { side: Side; comp: number[] } {
  const side: Side = { idx: [], cnt: [] };
  const c: number[] = [];
  for (let k = 0; k < s.idx.length; k++) {
    if (s.cnt[k] === 0 && (!comp || comp[k] === 0)) continue;
    side.idx.push(s.idx[k]!);
    side.cnt.push(s.cnt[k]!);
    if (comp) c.push(comp[k]!);
  }
  return { side, comp: c };
}
