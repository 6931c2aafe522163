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
 * @module
 */
import { decodeChunkInto } from "./chunk.ts";
import { lowerBound, mergeSamples, type Samples } from "./head.ts";

/** Scratch kept between series is dropped when larger than this (samples). */
const KEEP_SAMPLES = 1 << 18;
/** Results shorter than this are views into a shared slab (one allocation for many series). */
const SMALL = 256;
const SLAB = 1 << 14;

/** One series' samples being assembled; reused across series (not reentrant). */
export class SampleBuf {
  t = new Float64Array(4096);
  v = new Float64Array(4096);
  n = 0;
  #ends: number[] = [];
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

  /** Copies t/v[lo, hi) of the given arrays into fresh (or slab) arrays. */
  #copy(t: Float64Array, v: Float64Array, lo: number, hi: number): Samples {
    const k = hi - lo;
    if (k >= SMALL) return { t: t.slice(lo, hi), v: v.slice(lo, hi) };
    if (!this.#slabT || this.#slabPos + k > SLAB) {
      this.#slabT = new Float64Array(SLAB);
      this.#slabV = new Float64Array(SLAB);
      this.#slabPos = 0;
    }
    const p = this.#slabPos;
    const ot = this.#slabT.subarray(p, p + k), ov = this.#slabV!.subarray(p, p + k);
    this.#slabPos = p + k;
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
  }

  /** Appends `count` samples decoded from `chunk` (count from its table entry). */
  decode(chunk: Uint8Array, count: number, verify: boolean): void {
    this.reserve(count);
    this.n += decodeChunkInto(chunk, this.t, this.v, this.n, verify);
  }

  /** Appends samples [start, end) of ascending arrays. */
  push(t: Float64Array, v: Float64Array, start = 0, end = t.length): void {
    const k = end - start;
    if (k <= 0) return;
    this.reserve(k);
    this.t.set(t.subarray(start, end), this.n);
    this.v.set(v.subarray(start, end), this.n);
    this.n += k;
  }

  /** Ends the current source's segment (empty segments are ignored). */
  endSegment(): void {
    const last = this.#ends.length ? this.#ends[this.#ends.length - 1] : 0;
    if (this.n > last) this.#ends.push(this.n);
  }

  /** The samples in [minT, maxT], ascending and deduplicated, or undefined when none. */
  finish(minT: number, maxT: number): Samples | undefined {
    this.endSegment();
    const n = this.n, t = this.t, ends = this.#ends;
    if (n === 0) return undefined;
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
      if (hi > lo) out = this.#copy(t, this.v, lo, hi);
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
      if (hi > lo) out = this.#copy(m.t, m.v, lo, hi);
    }
    if (this.t.length > KEEP_SAMPLES) {
      this.t = new Float64Array(4096);
      this.v = new Float64Array(4096);
    }
    return out;
  }
}
