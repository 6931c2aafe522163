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

/** One series' samples being assembled; reused across series (not reentrant). */
export class SampleBuf {
  t = new Float64Array(4096);
  v = new Float64Array(4096);
  n = 0;
  #ends: number[] = [];

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
      if (hi > lo) out = { t: t.slice(lo, hi), v: this.v.slice(lo, hi) };
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
      if (hi > lo) out = { t: m.t.slice(lo, hi), v: m.v.slice(lo, hi) };
    }
    if (this.t.length > KEEP_SAMPLES) {
      this.t = new Float64Array(4096);
      this.v = new Float64Array(4096);
    }
    return out;
  }
}
