/**
 * The head: recent samples in memory, per series. Each series has sealed,
 * encoded chunks (at most {@linkcode HEAD_CHUNK_SAMPLES} samples, never
 * crossing a block window), one open buffer of raw samples (a slot in a
 * shared slab, see _open_slots.ts), and an out-of-order (OOO) buffer for late
 * samples.
 *
 * Invariants per series: chunks are sorted and disjoint; every OOO sample is
 * older than the first open-buffer sample; every open-buffer sample is newer
 * than every chunk sample. A sample at or before the newest chunk goes to the
 * OOO buffer, which is merged over the chunks at read time and folded into
 * them when it fills up.
 *
 * Duplicates: a sample with the timestamp of a stored one replaces it, so the
 * last write wins (the OOO buffer wins over chunks, as it was written later).
 *
 * @module
 */
import { chunkSampleCount, decodeChunk, encodeChunk, encodeChunkView } from "./chunk.ts";
import { OPEN_SAMPLE_BYTES, type OpenSlot, OpenSlots } from "./_open_slots.ts";
import type { SampleBuf } from "./_sample_buf.ts";

/** A head chunk is cut at this many samples (or at a block window boundary). */
export const HEAD_CHUNK_SAMPLES = 120;
/** The OOO buffer is folded into the chunks once it holds this many samples. */
const OOO_FOLD = 120;
/** Chunks re-encoded after an OOO merge hold up to this many samples. */
const MERGED_CHUNK_SAMPLES = 1024;
/**
 * Sealed head chunks are packed into slabs of this size instead of one
 * ArrayBuffer each: one allocation per ~400 chunks, so the allocator does not
 * keep thousands of freed small blocks after a flush. A slab is dropped when
 * no chunk in it is held any more (chunks are cut in time order, so a flushed
 * window frees its slabs).
 */
const SLAB_BYTES = 64 << 10;
/** A chunk's location: slab index · 2^32 + offset · 2^16 + length (0: the whole slab). */
const SLAB_SHIFT = 2 ** 32;
const OFF_SHIFT = 2 ** 16;
/** Numbers per chunk in {@linkcode MemSeries.c}: minT, maxT, location. */
const REC = 3;

/**
 * A new series' open buffer holds this many samples; past them it moves to a
 * slot of a chunk's {@linkcode HEAD_CHUNK_SAMPLES} (a series that holds a few
 * samples takes 96 bytes, not 1,440).
 */
const FIRST_OPEN_SAMPLES = 8;
const NO_TIMES = new Int32Array(0);
const NO_VALUES = new Float64Array(0);

/** Samples of one series, ascending by timestamp, owned by the receiver. */
export interface Samples {
  t: Float64Array;
  v: Float64Array;
  /** Raw samples each point stands for, when some point is a tier aggregate (see viewFor). */
  c?: Float64Array;
}

const EMPTY: Samples = { t: new Float64Array(0), v: new Float64Array(0) };

/** Binary search: first index in t[0,n) with t[i] >= x. */
export function lowerBound(t: Float64Array, n: number, x: number): number {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Merges two ascending sample runs; on equal timestamps `b` wins (it is the
 * newer write). Returns new arrays.
 */
export function mergeSamples(a: Samples, b: Samples): Samples {
  if (b.t.length === 0) return a;
  if (a.t.length === 0) return b;
  const n = a.t.length + b.t.length;
  const t = new Float64Array(n), v = new Float64Array(n);
  let i = 0, j = 0, k = 0;
  while (i < a.t.length && j < b.t.length) {
    const x = a.t[i], y = b.t[j];
    if (x < y) {
      t[k] = x;
      v[k++] = a.v[i++];
    } else {
      if (x === y) i++;
      t[k] = y;
      v[k++] = b.v[j++];
    }
  }
  while (i < a.t.length) {
    t[k] = a.t[i];
    v[k++] = a.v[i++];
  }
  while (j < b.t.length) {
    t[k] = b.t[j];
    v[k++] = b.v[j++];
  }
  return k === n ? { t, v } : { t: t.subarray(0, k), v: v.subarray(0, k) };
}

/** Samples of `s` within [minT, maxT] (a view when possible). */
export function clip(s: Samples, minT: number, maxT: number): Samples {
  const n = s.t.length;
  if (n === 0 || (s.t[0] >= minT && s.t[n - 1] <= maxT)) return s;
  const lo = lowerBound(s.t, n, minT);
  let hi = lowerBound(s.t, n, maxT);
  if (hi < n && s.t[hi] === maxT) hi++;
  return { t: s.t.subarray(lo, hi), v: s.v.subarray(lo, hi) };
}

/** Concatenates ascending, disjoint runs. */
export function concat(parts: Samples[]): Samples {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.t.length;
  const t = new Float64Array(n), v = new Float64Array(n);
  let k = 0;
  for (const p of parts) {
    t.set(p.t, k);
    v.set(p.v, k);
    k += p.t.length;
  }
  return { t, v };
}

/**
 * One series in the head. Its sealed chunks are {@linkcode REC} numbers each
 * in one array of exactly that length (replaced, not grown, when chunks come
 * and go): a series holds a few chunks, and three growable arrays of
 * bounds and chunk views cost ~860 bytes a series (wide workload, 3 chunks).
 */
class MemSeries implements OpenSlot {
  /** Per chunk: minT, maxT, location in the head's slabs. */
  c: number[] = [];
  /**
   * The open buffer, samples [bo, bo + bn) of its slab's views (a slot of
   * `bc` samples): timestamps as 32-bit offsets from `base` (its first
   * sample's: 480 bytes a series less than float64s) and values; `end` is
   * the end of the block window its samples are in.
   */
  bt: Int32Array = NO_TIMES;
  bv: Float64Array = NO_VALUES;
  bo = 0;
  bc = 0;
  base = NaN;
  bn = 0;
  end = NaN;
  ot: Float64Array | null = null;
  ov: Float64Array | null = null;
  on = 0;

  get chunkCount(): number {
    return this.c.length / REC;
  }

  minT(i: number): number {
    return this.c[i * REC];
  }

  maxT(i: number): number {
    return this.c[i * REC + 1];
  }

  /** Timestamp of open-buffer sample `i`. */
  openT(i: number): number {
    return this.base + this.bt[this.bo + i];
  }

  get lastChunkMaxT(): number {
    return this.c.length ? this.c[this.c.length - 2] : -Infinity;
  }
}

/** Head counters and gauges, as plain numbers. */
export interface HeadStats {
  series: number;
  samples: number;
  chunks: number;
  chunkBytes: number;
  bufferBytes: number;
  oooSamples: number;
  /** Slabs holding open buffers. */
  openSlabs: number;
}

/** The in-memory head of one database. */
export class Head {
  readonly #range: number;
  /** Series by ref (refs are dense counters, so an array: no hashing per sample). */
  readonly #series: (MemSeries | undefined)[] = [];
  #seriesCount = 0;
  #samples = 0;
  #chunks = 0;
  #chunkBytes = 0;
  #bufferBytes = 0;
  #ooo = 0;
  // Time range of all held samples; recomputed lazily after samples are removed.
  #lo = Infinity;
  #hi = -Infinity;
  #rangeDirty = false;
  /** Chunk slabs by index; a slab's live chunk count; free indexes. */
  readonly #slabs: (Uint8Array | undefined)[] = [];
  readonly #slabUse: number[] = [];
  readonly #freeSlabs: number[] = [];
  /** The slab new chunks are packed into (-1: none yet). */
  #slab = -1;
  #slabPos = 0;
  /** Open-buffer slots of new series, and of a chunk's samples. */
  readonly #firstSlots = new OpenSlots(FIRST_OPEN_SAMPLES);
  readonly #fullSlots = new OpenSlots(HEAD_CHUNK_SAMPLES);
  /** See {@linkcode #openSamples}. */
  readonly #openT = new Float64Array(HEAD_CHUNK_SAMPLES);
  readonly #openV = new Float64Array(HEAD_CHUNK_SAMPLES);

  /** `blockRangeMs`: chunks never cross a multiple of it. */
  constructor(blockRangeMs: number) {
    this.#range = blockRangeMs;
  }

  /** The block window of timestamp `t`. */
  window(t: number): number {
    return Math.floor(t / this.#range);
  }

  /** Current counters. */
  stats(): HeadStats {
    return {
      series: this.#seriesCount,
      samples: this.#samples,
      chunks: this.#chunks,
      chunkBytes: this.#chunkBytes,
      bufferBytes: this.#bufferBytes,
      oooSamples: this.#ooo,
      openSlabs: this.#firstSlots.slabs + this.#fullSlots.slabs,
    };
  }

  /** Approximate bytes held (chunks and buffers). */
  get bytes(): number {
    return this.#chunkBytes + this.#bufferBytes;
  }

  /** Refs of series holding samples, ascending. */
  *refs(): IterableIterator<number> {
    const all = this.#series;
    for (let ref = 0; ref < all.length; ref++) if (all[ref] !== undefined) yield ref;
  }

  /** Appends one sample; an equal timestamp replaces the stored value. */
  append(ref: number, t: number, v: number): void {
    this.#appendSlow(ref, t, v, this.#series[ref]);
  }

  /**
   * Appends samples i in [0, n) of the columns in order, as {@linkcode append}
   * each (no call per sample in the common case).
   */
  appendColumns(refs: Int32Array, ts: Float64Array, vs: Float64Array, n: number): void {
    const series = this.#series;
    let hi = this.#hi, fast = 0;
    for (let i = 0; i < n; i++) {
      const ref = refs[i], t = ts[i];
      const s = series[ref];
      // The common case: a newer sample for an open buffer with room, in the
      // window of its first sample (older samples are held: the low end stays).
      if (s !== undefined) {
        const bn = s.bn, at = s.bo + bn, bt = s.bt, d = t - s.base;
        if (bn > 0 && bn < s.bc && d > bt[at - 1] && t < s.end && d === (d | 0)) {
          bt[at] = d;
          s.bv[at] = vs[i];
          s.bn = bn + 1;
          fast++;
          if (t > hi) hi = t;
          continue;
        }
      }
      this.#samples += fast;
      fast = 0;
      if (hi > this.#hi) this.#hi = hi;
      this.#appendSlow(ref, t, vs[i], s);
      hi = this.#hi;
    }
    this.#samples += fast;
    if (hi > this.#hi) this.#hi = hi;
  }

  #appendSlow(ref: number, t: number, v: number, s: MemSeries | undefined): void {
    if (t < this.#lo) this.#lo = t;
    if (t > this.#hi) this.#hi = t;
    if (!s) {
      s = new MemSeries();
      this.#firstSlots.take(s);
      const all = this.#series;
      // Grown one slot at a time, so the array never turns sparse (slow).
      while (all.length <= ref) all.push(undefined);
      all[ref] = s;
      this.#seriesCount++;
      this.#bufferBytes += OPEN_SAMPLE_BYTES * s.bc;
    }
    const oooMax = s.on > 0 ? s.ot![s.on - 1] : -Infinity;
    if (t > s.lastChunkMaxT && t > oooMax) {
      if (s.bn === 0) {
        this.#push(s, t, v);
        return;
      }
      const last = s.openT(s.bn - 1);
      if (t > last) {
        if (s.bn >= HEAD_CHUNK_SAMPLES || this.window(t) !== this.window(s.base)) this.#seal(s);
        this.#push(s, t, v);
        return;
      }
      if (this.window(t) === this.window(s.base)) {
        this.#insertOpen(s, t, v);
        return;
      }
    }
    this.#insertOoo(s, t, v);
  }

  #push(s: MemSeries, t: number, v: number): void {
    if (s.bn === 0) {
      s.base = t;
      s.end = (this.window(t) + 1) * this.#range;
    }
    const d = t - s.base;
    if (d !== (d | 0)) {
      this.#pushWide(s, t, v);
      return;
    }
    if (s.bn === s.bc) this.#growOpen(s);
    const at = s.bo + s.bn++;
    s.bt[at] = d;
    s.bv[at] = v;
    this.#samples++;
  }

  /**
   * A sample whose offset from the open buffer's first is no 32-bit integer
   * (a fractional timestamp, or one 24.8 days after it in a longer block
   * window): sealed as a chunk of its own after the open buffer's samples.
   */
  #pushWide(s: MemSeries, t: number, v: number): void {
    this.#seal(s);
    this.#addChunks(s, new Float64Array([t]), new Float64Array([v]), 0, 1);
    this.#samples++;
  }

  /**
   * Copies the open buffer's samples to the scratch arrays {@linkcode #openT}
   * (timestamps as float64s) and {@linkcode #openV}, valid until the next call.
   */
  #openSamples(s: MemSeries): void {
    const ot = this.#openT, ov = this.#openV, bt = s.bt, bv = s.bv, base = s.base, o = s.bo;
    for (let i = 0; i < s.bn; i++) {
      ot[i] = base + bt[o + i];
      ov[i] = bv[o + i];
    }
  }

  /** Moves a full first slot's samples to a slot of a chunk's capacity. */
  #growOpen(s: MemSeries): void {
    const bt = s.bt, bv = s.bv, bo = s.bo;
    this.#fullSlots.take(s);
    for (let i = 0; i < s.bn; i++) {
      s.bt[s.bo + i] = bt[bo + i];
      s.bv[s.bo + i] = bv[bo + i];
    }
    this.#firstSlots.release(bt, bo);
    this.#bufferBytes += OPEN_SAMPLE_BYTES * (HEAD_CHUNK_SAMPLES - FIRST_OPEN_SAMPLES);
  }

  /** Gives the open buffer's slot back (the series is going). */
  #releaseOpen(s: MemSeries): void {
    (s.bc === HEAD_CHUNK_SAMPLES ? this.#fullSlots : this.#firstSlots).release(s.bt, s.bo);
    this.#bufferBytes -= OPEN_SAMPLE_BYTES * s.bc;
    s.bt = NO_TIMES;
    s.bv = NO_VALUES;
    s.bc = 0;
  }

  #insertOpen(s: MemSeries, t: number, v: number): void {
    const d = t - s.base;
    if (d !== (d | 0)) {
      // Not storable as an offset: the open samples become a chunk, t goes out of order.
      this.#seal(s);
      this.#insertOoo(s, t, v);
      return;
    }
    // From the end: a late sample is mostly a little late.
    let i = s.bn;
    while (i > 0 && s.bt[s.bo + i - 1] >= d) i--;
    if (i < s.bn && s.bt[s.bo + i] === d) {
      s.bv[s.bo + i] = v;
      return;
    }
    if (s.bn === s.bc) {
      if (s.bc === HEAD_CHUNK_SAMPLES) {
        // A full buffer (a chunk's worth): its samples become a chunk, t goes out of order.
        this.#seal(s);
        this.#insertOoo(s, t, v);
        return;
      }
      this.#growOpen(s);
    }
    const o = s.bo;
    s.bt.copyWithin(o + i + 1, o + i, o + s.bn);
    s.bv.copyWithin(o + i + 1, o + i, o + s.bn);
    s.bt[o + i] = d;
    s.bv[o + i] = v;
    s.bn++;
    this.#samples++;
  }

  #insertOoo(s: MemSeries, t: number, v: number): void {
    if (!s.ot || s.on === s.ot.length) {
      const cap = s.ot ? s.ot.length * 2 : 16;
      const nt = new Float64Array(cap), nv = new Float64Array(cap);
      if (s.ot) {
        nt.set(s.ot.subarray(0, s.on));
        nv.set(s.ov!.subarray(0, s.on));
        this.#bufferBytes -= 16 * s.ot.length;
      }
      this.#bufferBytes += 16 * cap;
      s.ot = nt;
      s.ov = nv;
    }
    const ot = s.ot, ov = s.ov!;
    const i = lowerBound(ot, s.on, t);
    if (i < s.on && ot[i] === t) {
      ov[i] = v;
      return;
    }
    ot.copyWithin(i + 1, i, s.on);
    ov.copyWithin(i + 1, i, s.on);
    ot[i] = t;
    ov[i] = v;
    s.on++;
    this.#ooo++;
    // Counted as a head sample unless it replaces one in a chunk; folding fixes the count.
    this.#samples++;
    if (s.on >= OOO_FOLD) this.#fold(s);
  }

  #seal(s: MemSeries): void {
    if (s.bn === 0) return;
    this.#openSamples(s);
    this.#addChunks(s, this.#openT, this.#openV, 0, s.bn);
    s.bn = 0;
  }

  /**
   * Encodes samples [from, to) of `t`/`v` as chunks (one window and at most
   * HEAD_CHUNK_SAMPLES each) and inserts them at chunk index `at`; appended
   * in place, without temporary arrays, when `at` is the end (a seal).
   */
  #addChunks(
    s: MemSeries,
    t: Float64Array,
    v: Float64Array,
    from: number,
    to: number,
    at = s.chunkCount,
  ): void {
    const recs: number[] = [];
    let i = from;
    while (i < to) {
      const w = this.window(t[i]);
      let j = i + 1;
      while (j < to && j - i < HEAD_CHUNK_SAMPLES && this.window(t[j]) === w) j++;
      const c = encodeChunkView(t, v, i, j);
      recs.push(t[i], t[j - 1], this.#store(c));
      this.#chunks++;
      this.#chunkBytes += c.length;
      i = j;
    }
    // concat and slice allocate exactly the length (push would reserve ~17 more).
    s.c = at === s.chunkCount
      ? s.c.concat(recs)
      : s.c.slice(0, at * REC).concat(recs, s.c.slice(at * REC));
  }

  /**
   * Copies an encoded chunk into the current slab (a large one into a slab
   * of its own); returns its location.
   */
  #store(c: Uint8Array): number {
    const n = c.length;
    if (n > SLAB_BYTES / 16) return this.#newSlab(c.slice()) * SLAB_SHIFT;
    if (this.#slab < 0 || this.#slabPos + n > SLAB_BYTES) {
      const old = this.#slab;
      this.#slab = this.#newSlab(new Uint8Array(SLAB_BYTES));
      this.#slabUse[this.#slab] = 0;
      this.#slabPos = 0;
      if (old >= 0 && this.#slabUse[old] === 0) this.#freeSlab(old);
    }
    const at = this.#slabPos;
    this.#slabs[this.#slab]!.set(c, at);
    this.#slabPos += n;
    this.#slabUse[this.#slab]++;
    return this.#slab * SLAB_SHIFT + at * OFF_SHIFT + n;
  }

  /** Registers a slab holding one chunk; returns its index. */
  #newSlab(bytes: Uint8Array): number {
    const i = this.#freeSlabs.length ? this.#freeSlabs.pop()! : this.#slabs.length;
    this.#slabs[i] = bytes;
    this.#slabUse[i] = 1;
    return i;
  }

  #freeSlab(i: number): void {
    this.#slabs[i] = undefined;
    this.#freeSlabs.push(i);
  }

  /** The bytes of chunk `i` of `s` (a view into its slab). */
  #chunk(s: MemSeries, i: number): Uint8Array {
    const loc = s.c[i * REC + 2];
    const slab = this.#slabs[Math.floor(loc / SLAB_SHIFT)]!;
    const n = loc % OFF_SHIFT;
    if (n === 0) return slab;
    const at = Math.floor(loc / OFF_SHIFT) % OFF_SHIFT;
    return slab.subarray(at, at + n);
  }

  #dropChunks(s: MemSeries, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const loc = s.c[i * REC + 2], slab = Math.floor(loc / SLAB_SHIFT);
      this.#chunkBytes -= loc % OFF_SHIFT || this.#slabs[slab]!.length;
      if (--this.#slabUse[slab] === 0 && slab !== this.#slab) this.#freeSlab(slab);
    }
    this.#chunks -= to - from;
    if (to > from) s.c = s.c.slice(0, from * REC).concat(s.c.slice(to * REC));
  }

  #decodeChunks(s: MemSeries, from: number, to: number): Samples {
    const parts: Samples[] = [];
    for (let i = from; i < to; i++) parts.push(decodeChunk(this.#chunk(s, i)));
    return concat(parts);
  }

  /** Folds the OOO buffer into the chunks it overlaps. */
  #fold(s: MemSeries): void {
    const ooo = { t: s.ot!.slice(0, s.on), v: s.ov!.slice(0, s.on) };
    const lo = ooo.t[0], hi = ooo.t[ooo.t.length - 1];
    const k = s.chunkCount;
    let from = 0;
    while (from < k && s.maxT(from) < lo) from++;
    let to = from;
    while (to < k && s.minT(to) <= hi) to++;
    const old = this.#decodeChunks(s, from, to);
    const merged = mergeSamples(old, ooo);
    this.#samples += merged.t.length - old.t.length - s.on;
    this.#ooo -= s.on;
    this.#dropChunks(s, from, to);
    this.#addChunks(s, merged.t, merged.v, 0, merged.t.length, from);
    this.#bufferBytes -= 16 * s.ot!.length;
    s.ot = s.ov = null;
    s.on = 0;
  }

  /** Samples of `ref` in [minT, maxT], ascending, deduplicated. */
  read(ref: number, minT: number, maxT: number): Samples {
    const s = this.#series[ref];
    if (!s) return EMPTY;
    const parts: Samples[] = [];
    for (let i = 0; i < s.chunkCount; i++) {
      if (s.maxT(i) < minT || s.minT(i) > maxT) continue;
      parts.push(clip(decodeChunk(this.#chunk(s, i)), minT, maxT));
    }
    let out = concat(parts);
    if (s.on > 0) {
      out = mergeSamples(
        out,
        clip({ t: s.ot!.slice(0, s.on), v: s.ov!.slice(0, s.on) }, minT, maxT),
      );
    }
    if (s.bn > 0 && s.openT(0) <= maxT && s.openT(s.bn - 1) >= minT) {
      this.#openSamples(s);
      const open = clip(
        { t: this.#openT.slice(0, s.bn), v: this.#openV.slice(0, s.bn) },
        minT,
        maxT,
      );
      out = out.t.length === 0 ? open : concat([out, open]);
    }
    return out;
  }

  /**
   * Appends the samples of `ref` from chunks and buffers overlapping
   * [minT, maxT] to `out`, ascending and deduplicated (the caller clips).
   */
  readInto(ref: number, minT: number, maxT: number, out: SampleBuf): void {
    const s = this.#series[ref];
    if (!s) return;
    if (s.on > 0) {
      const d = this.read(ref, minT, maxT);
      out.push(d.t, d.v);
      return;
    }
    for (let i = 0; i < s.chunkCount; i++) {
      if (s.maxT(i) < minT || s.minT(i) > maxT) continue;
      // Head chunks hold at most HEAD_CHUNK_SAMPLES and were encoded by this process.
      out.decode(this.#chunk(s, i), HEAD_CHUNK_SAMPLES, false);
    }
    if (s.bn > 0 && s.openT(0) <= maxT && s.openT(s.bn - 1) >= minT) {
      out.pushOffsets(s.base, s.bt, s.bv, s.bo, s.bn);
    }
  }

  /** True when the head holds a sample of `ref` in [minT, maxT] (no decoding). */
  hasData(ref: number, minT: number, maxT: number): boolean {
    const s = this.#series[ref];
    if (!s) return false;
    for (let i = 0; i < s.chunkCount; i++) {
      if (s.maxT(i) >= minT && s.minT(i) <= maxT) return true;
    }
    if (s.bn > 0) {
      // From the end: queries mostly reach the newest samples.
      let i = s.bn - 1;
      while (i >= 0 && s.openT(i) > maxT) i--;
      if (i >= 0 && s.openT(i) >= minT) return true;
    }
    if (s.on > 0) {
      const i = lowerBound(s.ot!, s.on, minT);
      if (i < s.on && s.ot![i] <= maxT) return true;
    }
    return false;
  }

  /** Block windows that hold samples, ascending. */
  windows(): number[] {
    const ws = new Set<number>();
    for (const s of this.#series) {
      if (s === undefined) continue;
      for (let i = 0; i < s.chunkCount; i++) ws.add(this.window(s.minT(i)));
      if (s.bn > 0) ws.add(this.window(s.base));
      for (let i = 0; i < s.on; i++) ws.add(this.window(s.ot![i]));
    }
    return [...ws].sort((a, b) => a - b);
  }

  /** Smallest and largest timestamp held, or undefined when empty (cached: O(1) mostly). */
  timeRange(): { minT: number; maxT: number } | undefined {
    if (this.#rangeDirty) {
      const r = this.#scanRange();
      this.#lo = r ? r.minT : Infinity;
      this.#hi = r ? r.maxT : -Infinity;
      this.#rangeDirty = false;
    }
    return this.#lo <= this.#hi ? { minT: this.#lo, maxT: this.#hi } : undefined;
  }

  #scanRange(): { minT: number; maxT: number } | undefined {
    let minT = Infinity, maxT = -Infinity;
    for (const s of this.#series) {
      if (s === undefined) continue;
      if (s.c.length) minT = Math.min(minT, s.minT(0));
      if (s.on) minT = Math.min(minT, s.ot![0]);
      if (s.bn) {
        minT = Math.min(minT, s.openT(0));
        maxT = Math.max(maxT, s.openT(s.bn - 1));
      }
      if (s.c.length) maxT = Math.max(maxT, s.lastChunkMaxT);
      if (s.on) maxT = Math.max(maxT, s.ot![s.on - 1]);
    }
    return minT <= maxT ? { minT, maxT } : undefined;
  }

  /**
   * Removes and returns every sample in block window `w` as encoded chunks per
   * series (sorted, disjoint, duplicates resolved). Later appends to `w`
   * start afresh.
   */
  extractWindow(w: number): Map<number, Uint8Array[]> {
    const out = new Map<number, Uint8Array[]>();
    const lo = w * this.#range, hi = (w + 1) * this.#range;
    this.#rangeDirty = true;
    for (let ref = 0; ref < this.#series.length; ref++) {
      const s = this.#series[ref];
      if (s === undefined) continue;
      const k = s.chunkCount;
      let from = 0;
      while (from < k && s.maxT(from) < lo) from++;
      let to = from;
      while (to < k && s.minT(to) < hi) to++;
      let chunks: Uint8Array[] = [];
      for (let i = from; i < to; i++) chunks.push(this.#chunk(s, i));
      let removed = 0;
      for (const c of chunks) removed += chunkSampleCount(c);
      this.#dropChunks(s, from, to);
      if (s.on > 0) {
        const a = lowerBound(s.ot!, s.on, lo), b = lowerBound(s.ot!, s.on, hi);
        if (b > a) {
          const parts: Samples[] = [];
          for (const c of chunks) parts.push(decodeChunk(c));
          const merged = mergeSamples(concat(parts), {
            t: s.ot!.slice(a, b),
            v: s.ov!.slice(a, b),
          });
          chunks = [];
          for (let i = 0; i < merged.t.length; i += MERGED_CHUNK_SAMPLES) {
            chunks.push(
              encodeChunk(
                merged.t,
                merged.v,
                i,
                Math.min(merged.t.length, i + MERGED_CHUNK_SAMPLES),
              ),
            );
          }
          removed += b - a;
          this.#ooo -= b - a;
          s.ot!.copyWithin(a, b, s.on);
          s.ov!.copyWithin(a, b, s.on);
          s.on -= b - a;
        }
      }
      if (s.bn > 0 && s.end > lo && s.end <= hi) {
        this.#openSamples(s);
        chunks.push(encodeChunk(this.#openT, this.#openV, 0, s.bn));
        removed += s.bn;
        s.bn = 0;
      }
      this.#samples -= removed;
      if (chunks.length > 0) out.set(ref, chunks);
      if (s.c.length === 0 && s.on === 0 && s.bn === 0) {
        this.#releaseOpen(s);
        this.#bufferBytes -= 16 * (s.ot ? s.ot.length : 0);
        this.#series[ref] = undefined;
        this.#seriesCount--;
      }
    }
    if (this.#samples < 0) this.#samples = 0;
    return out;
  }

  /** Adds samples back (after a failed flush) where the head has no sample at that timestamp. */
  restore(ref: number, d: Samples): void {
    if (d.t.length === 0) return;
    const have = this.read(ref, d.t[0], d.t[d.t.length - 1]);
    let j = 0;
    for (let i = 0; i < d.t.length; i++) {
      const t = d.t[i];
      while (j < have.t.length && have.t[j] < t) j++;
      if (j < have.t.length && have.t[j] === t) continue;
      this.append(ref, t, d.v[i]);
    }
  }
}
