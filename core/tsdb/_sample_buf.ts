/**
 * Assembles one series' samples from several sources (blocks by sequence,
 * flushes in progress, the head) into one scratch buffer, then returns the
 * part within [minT, maxT] as fresh arrays of exactly that length.
 *
 * Sources are added in write order (oldest first), each as one segment of
 * ascending samples. When every segment starts after the previous one ends
 * (the usual case: disjoint block windows, then the head) the result is a
 * plain copy of the clipped range; otherwise the segments are merged, the
 * later segment winning on equal timestamps.
 *
 * Points of a downsampled tier may stand for several raw samples (counts,
 * see downsample.ts `viewFor`): once a source brings counts, the series
 * carries a count per point (1 for raw samples) and is assembled on a
 * slower path that keeps them.
 *
 * @module
 */
import type { SampleArena } from "../model/mod_light.ts";
import { decodeChunkInto } from "./chunk.ts";
import { lowerBound, mergeSamples, type Samples } from "./head.ts";

/** Samples the scratch holds at first, and again once dropped. */
const SCRATCH_SAMPLES = 4096;
/** Scratch kept between series is dropped when larger than this (samples). */
const KEEP_SAMPLES = 1 << 18;
/** Results shorter than this are views into a shared slab (one allocation for many series). */
const SMALL = 256;
const SLAB = 1 << 14;

/** One series' samples being assembled; reused across series (not reentrant). */
export class SampleBuf {
  t = new Float64Array(SCRATCH_SAMPLES);
  v = new Float64Array(SCRATCH_SAMPLES);
  /** Raw samples per point, while {@linkcode counted}; same capacity as `t`. */
  c: Float64Array | undefined;
  n = 0;
  /** True once a source of the current series brought counts. */
  counted = false;
  #ends: number[] = [];
  #order: number[] = [];
  #slabT: Float64Array | undefined;
  #slabV: Float64Array | undefined;
  #slabPos = 0;

  /**
   * Starts a new query: results from now on are not carved from slabs that
   * earlier results share, so one query's arrays never pin another's memory.
   */
  newQuery(): void {
    this.#slabT = this.#slabV = undefined;
    this.#slabPos = 0;
  }

  /** Fresh arrays (or views into a slab or `arena`) for `k` samples. */
  #alloc(k: number, arena: SampleArena | undefined): Samples {
    if (arena) return arena.samples(k);
    if (k >= SMALL) return { t: new Float64Array(k), v: new Float64Array(k) };
    if (!this.#slabT || this.#slabPos + k > SLAB) {
      this.#slabT = new Float64Array(SLAB);
      this.#slabV = new Float64Array(SLAB);
      this.#slabPos = 0;
    }
    const p = this.#slabPos;
    this.#slabPos = p + k;
    return { t: this.#slabT.subarray(p, p + k), v: this.#slabV!.subarray(p, p + k) };
  }

  /** Copies t/v[lo, hi) of the given arrays into fresh (or slab or `arena`) arrays. */
  #copy(
    t: Float64Array,
    v: Float64Array,
    lo: number,
    hi: number,
    arena: SampleArena | undefined,
  ): Samples {
    const k = hi - lo;
    if (k >= SMALL && !arena) return { t: t.slice(lo, hi), v: v.slice(lo, hi) };
    const { t: ot, v: ov } = this.#alloc(k, arena);
    if (k < 16) {
      for (let i = 0; i < k; i++) {
        ot[i] = t[lo + i];
        ov[i] = v[lo + i];
      }
    } else {
      ot.set(t.subarray(lo, hi));
      ov.set(v.subarray(lo, hi));
    }
    return { t: ot, v: ov };
  }

  /** Starts a new series. */
  reset(): void {
    this.n = 0;
    this.counted = false;
    this.#ends.length = 0;
  }

  /** Makes room for `k` more samples. */
  reserve(k: number): void {
    const need = this.n + k;
    if (need <= this.t.length) return;
    const cap = Math.max(need, this.t.length * 2);
    const t = new Float64Array(cap), v = new Float64Array(cap);
    t.set(this.t.subarray(0, this.n));
    v.set(this.v.subarray(0, this.n));
    this.t = t;
    this.v = v;
    if (this.counted) {
      const c = new Float64Array(cap);
      c.set(this.c!.subarray(0, this.n));
      this.c = c;
    }
  }

  /** Starts keeping counts: every point so far stands for one sample. */
  #count(): void {
    if (!this.c || this.c.length < this.t.length) this.c = new Float64Array(this.t.length);
    this.c.fill(1, 0, this.n);
    this.counted = true;
  }

  /** Appends `count` samples decoded from `chunk` (count from its table entry). */
  decode(chunk: Uint8Array, count: number, verify: boolean): void {
    this.reserve(count);
    const n0 = this.n;
    this.n += decodeChunkInto(chunk, this.t, this.v, n0, verify);
    if (this.counted) this.c!.fill(1, n0, this.n);
  }

  /**
   * Appends samples [start, end) of ascending arrays, with the raw samples
   * each point stands for when `c` is given (else one each).
   */
  push(t: Float64Array, v: Float64Array, start = 0, end = t.length, c?: Float64Array): void {
    const k = end - start;
    if (k <= 0) return;
    if (c && !this.counted) this.#count();
    this.reserve(k);
    this.t.set(t.subarray(start, end), this.n);
    this.v.set(v.subarray(start, end), this.n);
    if (this.counted) {
      if (c) this.c!.set(c.subarray(start, end), this.n);
      else this.c!.fill(1, this.n, this.n + k);
    }
    this.n += k;
  }

  /**
   * Appends `n` samples from index `from` of `d` and `v`, their timestamps
   * `base` plus the offsets in `d` (a head open buffer's), one raw sample each.
   */
  pushOffsets(base: number, d: Int32Array, v: Float64Array, from: number, n: number): void {
    if (n <= 0) return;
    this.reserve(n);
    const t = this.t, vs = this.v, o = this.n;
    for (let i = 0; i < n; i++) {
      t[o + i] = base + d[from + i];
      vs[o + i] = v[from + i];
    }
    if (this.counted) this.c!.fill(1, o, o + n);
    this.n = o + n;
  }

  /** Ends the current source's segment (empty segments are ignored). */
  endSegment(): void {
    const last = this.#ends.length ? this.#ends[this.#ends.length - 1] : 0;
    if (this.n > last) this.#ends.push(this.n);
  }

  /**
   * Orders the segments by their first timestamp into `#order` (as start
   * indexes) and returns true when, in that order, each ends before the next
   * begins: segments written out of time order (a compacted block of old
   * windows has a higher sequence than the newer blocks) that do not overlap
   * need no merge, only concatenation.
   */
  #sortDisjoint(): boolean {
    const ends = this.#ends, t = this.t, order = this.#order;
    order.length = 0;
    for (let i = 0; i < ends.length; i++) order.push(i);
    order.sort((a, b) => t[a === 0 ? 0 : ends[a - 1]] - t[b === 0 ? 0 : ends[b - 1]]);
    for (let k = 0; k + 1 < order.length; k++) {
      const a = order[k], b = order[k + 1];
      if (!(t[ends[a] - 1] < t[b === 0 ? 0 : ends[b - 1]])) return false;
    }
    return true;
  }

  /** The samples in [minT, maxT] of the segments, concatenated in `#order`. */
  #gather(minT: number, maxT: number, arena: SampleArena | undefined): Samples | undefined {
    const ends = this.#ends, t = this.t, v = this.v, order = this.#order;
    const los: number[] = [], his: number[] = [];
    let k = 0;
    for (const s of order) {
      const a = s === 0 ? 0 : ends[s - 1], b = ends[s];
      const seg = t.subarray(a, b);
      const lo = a + lowerBound(seg, b - a, minT);
      let hi = a + lowerBound(seg, b - a, maxT);
      if (hi < b && t[hi] === maxT) hi++;
      los.push(lo);
      his.push(hi);
      if (hi > lo) k += hi - lo;
    }
    if (k === 0) return undefined;
    const out = this.#alloc(k, arena);
    let o = 0;
    for (let i = 0; i < los.length; i++) {
      const lo = los[i], hi = his[i];
      if (hi <= lo) continue;
      out.t.set(t.subarray(lo, hi), o);
      out.v.set(v.subarray(lo, hi), o);
      o += hi - lo;
    }
    return out;
  }

  /**
   * The samples in [minT, maxT], ascending and deduplicated, or undefined
   * when none; in fresh arrays, or in `arena` when given.
   */
  finish(minT: number, maxT: number, arena?: SampleArena): Samples | undefined {
    this.endSegment();
    const n = this.n, t = this.t, ends = this.#ends;
    if (n === 0) return undefined;
    if (this.counted) return this.#finishCounted(minT, maxT);
    let disjoint = true;
    for (let i = 0; i + 1 < ends.length; i++) {
      if (!(t[ends[i] - 1] < t[ends[i]])) {
        disjoint = false;
        break;
      }
    }
    let out: Samples | undefined;
    if (disjoint) {
      const lo = minT === -Infinity ? 0 : lowerBound(t, n, minT);
      let hi = maxT === Infinity ? n : lowerBound(t, n, maxT);
      if (hi < n && t[hi] === maxT) hi++;
      if (hi > lo) out = this.#copy(t, this.v, lo, hi, arena);
    } else if (this.#sortDisjoint()) {
      out = this.#gather(minT, maxT, arena);
    } else {
      let m: Samples = { t: t.subarray(0, ends[0]), v: this.v.subarray(0, ends[0]) };
      for (let i = 1; i < ends.length; i++) {
        const a = ends[i - 1], b = ends[i];
        m = mergeSamples(m, { t: t.subarray(a, b), v: this.v.subarray(a, b) });
      }
      const k = m.t.length;
      const lo = lowerBound(m.t, k, minT);
      let hi = lowerBound(m.t, k, maxT);
      if (hi < k && m.t[hi] === maxT) hi++;
      if (hi > lo) out = this.#copy(m.t, m.v, lo, hi, arena);
    }
    this.#order.length = 0;
    this.#trim();
    return out;
  }

  /** Drops all scratch kept between series and queries (the next series allocates afresh). */
  releaseIdle(): void {
    this.#freshScratch();
    this.c = undefined;
    this.newQuery();
  }

  #freshScratch(): void {
    this.t = new Float64Array(SCRATCH_SAMPLES);
    this.v = new Float64Array(SCRATCH_SAMPLES);
  }

  /** Drops scratch grown past KEEP_SAMPLES. */
  #trim(): void {
    if (this.t.length > KEEP_SAMPLES) this.#freshScratch();
    if (this.c && this.c.length > KEEP_SAMPLES) this.c = undefined;
  }

  /**
   * {@linkcode finish} for a series with counts (rare: tier data answering
   * count_over_time or avg_over_time): segments merged in write order, the
   * later winning on equal timestamps, into fresh arrays with `c`.
   */
  #finishCounted(minT: number, maxT: number): Samples | undefined {
    const ends = this.#ends, t = this.t, v = this.v, c = this.c!;
    let m: Samples | undefined;
    for (let i = 0; i < ends.length; i++) {
      const a = i === 0 ? 0 : ends[i - 1], b = ends[i];
      const seg = { t: t.subarray(a, b), v: v.subarray(a, b), c: c.subarray(a, b) };
      m = m ? mergeCounted(m, seg) : seg;
    }
    this.#trim();
    const k = m!.t.length;
    const lo = lowerBound(m!.t, k, minT);
    let hi = lowerBound(m!.t, k, maxT);
    if (hi < k && m!.t[hi] === maxT) hi++;
    if (hi <= lo) return undefined;
    return { t: m!.t.slice(lo, hi), v: m!.v.slice(lo, hi), c: m!.c!.slice(lo, hi) };
  }
}

/** {@linkcode mergeSamples} keeping counts (`b` wins on equal timestamps). */
function mergeCounted(a: Samples, b: Samples): Samples {
  const n = a.t.length + b.t.length;
  const t = new Float64Array(n), v = new Float64Array(n), c = new Float64Array(n);
  let i = 0, j = 0, k = 0;
  while (i < a.t.length || j < b.t.length) {
    if (j >= b.t.length || (i < a.t.length && a.t[i] < b.t[j])) {
      t[k] = a.t[i];
      v[k] = a.v[i];
      c[k++] = a.c![i++];
    } else {
      if (i < a.t.length && a.t[i] === b.t[j]) i++;
      t[k] = b.t[j];
      v[k] = b.v[j];
      c[k++] = b.c![j++];
    }
  }
  return { t: t.subarray(0, k), v: v.subarray(0, k), c: c.subarray(0, k) };
}
