/**
 * Room for head open buffers, packed into shared slabs. A series' open
 * samples sit in a slot of `cap` samples in a slab (one ArrayBuffer seen as
 * float64 values, then int32 time offsets), addressed by the slab's two views
 * and the slot's first index in them. An ArrayBuffer and two typed arrays per
 * series took ~270 bytes of JS heap beside the 1,440 of a 120-sample buffer,
 * and more outside it (a backing store each, allocator overhead): a head of
 * 20,000 series alone held ~1,200 bytes of RSS a series more.
 *
 * A slab none of whose slots is taken is dropped, so series that go away
 * give their memory back once their neighbours in the slab have gone too;
 * but one such slab is kept for the next slots: a new series outgrows its
 * first slot within a request of 8 samples or more, and dropping the slab
 * each time made every new series allocate (and zero) a 64 KiB slab.
 *
 * @module
 */

/** Bytes a sample takes in an open buffer (a 32-bit time offset and a float64 value). */
export const OPEN_SAMPLE_BYTES = 12;
/** Target size of one slab (a slot never straddles two). */
const SLAB_BYTES = 64 << 10;

/** What holds a slot: its slab's views, its first index in them, its capacity. */
export interface OpenSlot {
  bt: Int32Array;
  bv: Float64Array;
  bo: number;
  bc: number;
}

/** Slots of one capacity. */
export class OpenSlots {
  /** Samples a slot holds. */
  readonly cap: number;
  readonly #perSlab: number;
  readonly #t: (Int32Array | undefined)[] = [];
  readonly #v: (Float64Array | undefined)[] = [];
  /** Taken slots per slab. */
  readonly #used: number[] = [];
  /** Slab index by its time view (a slot is released by its holder's fields). */
  readonly #slabOf = new Map<Int32Array, number>();
  /**
   * Free slots as slab · perSlab + position. Slots of a dropped slab stay
   * here until popped (and skipped): dropping stays O(1).
   */
  readonly #free: number[] = [];
  /** Indexes of dropped slabs; reused only when {@linkcode #free} is empty (no stale slot of theirs left). */
  readonly #dead: number[] = [];
  /** The one slab kept with no slot taken (its slots are all in {@linkcode #free}), or -1. */
  #spare = -1;

  constructor(cap: number) {
    this.cap = cap;
    this.#perSlab = Math.max(1, Math.floor(SLAB_BYTES / (OPEN_SAMPLE_BYTES * cap)));
  }

  /** Slabs held. */
  get slabs(): number {
    return this.#slabOf.size;
  }

  /** Points `s` at a free slot (the slot it held before is not released). */
  take(s: OpenSlot): void {
    const per = this.#perSlab, free = this.#free;
    let id = -1;
    while (free.length > 0) {
      const x = free.pop()!;
      if (this.#t[Math.floor(x / per)] !== undefined) {
        id = x;
        break;
      }
    }
    if (id < 0) id = this.#newSlab();
    const k = Math.floor(id / per);
    if (this.#used[k]++ === 0 && k === this.#spare) this.#spare = -1;
    s.bt = this.#t[k]!;
    s.bv = this.#v[k]!;
    s.bo = (id - k * per) * this.cap;
    s.bc = this.cap;
  }

  /**
   * Returns the slot at index `bo` of the slab viewed by `bt` (a slab left
   * empty is dropped, unless it is the one kept spare).
   */
  release(bt: Int32Array, bo: number): void {
    const k = this.#slabOf.get(bt)!;
    if (--this.#used[k] > 0 || this.#spare < 0) {
      if (this.#used[k] === 0) this.#spare = k;
      this.#free.push(k * this.#perSlab + bo / this.cap);
      return;
    }
    this.#slabOf.delete(bt);
    this.#t[k] = this.#v[k] = undefined;
    this.#dead.push(k);
  }

  /** Adds a slab; returns its first slot (the others go to the free list, lowest on top). */
  #newSlab(): number {
    const per = this.#perSlab;
    const k = this.#dead.length > 0 ? this.#dead.pop()! : this.#t.length;
    const n = per * this.cap;
    const b = new ArrayBuffer(OPEN_SAMPLE_BYTES * n);
    const t = new Int32Array(b, 8 * n, n);
    this.#t[k] = t;
    this.#v[k] = new Float64Array(b, 0, n);
    this.#used[k] = 0;
    this.#slabOf.set(t, k);
    for (let i = per - 1; i > 0; i--) this.#free.push(k * per + i);
    return k * per;
  }
}
