/**
 * Memory for the samples one reader (a query) takes from storage, and for
 * the per-series columns it evaluates them into. Storage carves each
 * series' arrays out of a few large slabs instead of allocating two arrays
 * per series, the query engine does the same for its intermediate columns,
 * and the owner resets the arena once nothing reads them any more, so the
 * next query reuses the same memory: a query round leaves neither garbage
 * for the collector nor a grown malloc heap behind.
 *
 * Views handed out are valid until {@linkcode SampleArena.reset}; after it
 * they alias the next reader's data. Whoever resets must hold no view (the
 * query engine copies everything its results keep).
 *
 * @module
 */
import { keepsIdleMemory } from "../idle_memory.ts";

/** Samples of one series: timestamps and values of the same length. */
export interface SampleViews {
  t: Float64Array;
  v: Float64Array;
}

/** Options for {@linkcode SampleArena}. */
export interface SampleArenaOptions {
  /** Elements per slab (a Float64Array slab is 8 bytes an element). @default 32768 */
  readonly slabSamples?: number;
  /**
   * Slabs of each kind kept over a reset (1.5 MiB a kind with the defaults;
   * 12 would keep what a query over 1,000 series × 360 samples fills and
   * save it 15-25 % of its CPU in page faults, for about 9 MiB more
   * resident); more are dropped. @default 6
   */
  readonly keepSlabs?: number;
}

/**
 * Frees the memory of arrays nothing may read any more at once, instead of
 * at the collector's next full collection (until which a query round's
 * dropped slabs stayed resident: ~5 MiB a query over 1,000 series × 360
 * samples). Views of them read as empty afterwards.
 */
function free(arrays: (Float64Array<ArrayBuffer> | Uint8Array<ArrayBuffer>)[], from: number): void {
  for (let i = from; i < arrays.length; i++) arrays[i]!.buffer.transfer(0);
}

/** Slabs of one array type, carved front to back. */
class Slabs<A extends Float64Array<ArrayBuffer> | Uint8Array<ArrayBuffer>> {
  readonly list: A[] = [];
  /** Arrays of runs longer than half a slab, handed out since the last reset. */
  readonly own: A[] = [];
  /** Slab being carved, and the next free element in it. */
  cur = -1;
  pos = 0;
  /** Elements handed out since the last reset. */
  taken = 0;
  constructor(readonly size: number, readonly make: (n: number) => A) {}

  take(k: number): A {
    this.taken += k;
    if (k > this.size >> 1) {
      const a = this.make(k);
      this.own.push(a);
      return a;
    }
    if (this.cur < 0 || this.pos + k > this.size) {
      this.cur++;
      if (this.cur === this.list.length) this.list.push(this.make(this.size));
      this.pos = 0;
    }
    const p = this.pos;
    this.pos = p + k;
    return this.list[this.cur]!.subarray(p, p + k) as A;
  }

  reset(keep: number): void {
    if (this.list.length > keep) {
      free(this.list, keep);
      this.list.length = keep;
    }
    free(this.own, 0);
    this.own.length = 0;
    this.cur = -1;
    this.pos = 0;
    this.taken = 0;
  }
}

const floats = (n: number) => new Float64Array(n);

/** A bump allocator of sample arrays and columns (see the module doc). One owner. */
export class SampleArena {
  readonly #keepSlabs: number;
  readonly #t: Slabs<Float64Array<ArrayBuffer>>;
  readonly #v: Slabs<Float64Array<ArrayBuffer>>;
  readonly #floats: Slabs<Float64Array<ArrayBuffer>>;
  readonly #bytes: Slabs<Uint8Array<ArrayBuffer>>;

  constructor(opts: SampleArenaOptions = {}) {
    const size = opts.slabSamples ?? 32_768;
    this.#keepSlabs = opts.keepSlabs ?? 6;
    this.#t = new Slabs(size, floats);
    this.#v = new Slabs(size, floats);
    this.#floats = new Slabs(size, floats);
    // Byte slabs as large in bytes as the others, so they too are mapped apart from the heap.
    this.#bytes = new Slabs(size * 8, (n) => new Uint8Array(n));
  }

  /**
   * Arrays for `k` samples (contents unspecified), valid until the next
   * {@linkcode reset}. Runs longer than half a slab get arrays of their own.
   */
  samples(k: number): SampleViews {
    return { t: this.#t.take(k), v: this.#v.take(k) };
  }

  /**
   * A Float64Array of `k` elements (contents unspecified: a column's values
   * are read only where its presence flags say so), valid until the next
   * {@linkcode reset}.
   */
  floats(k: number): Float64Array {
    return this.#floats.take(k);
  }

  /** A zeroed Uint8Array of `k` elements, valid until the next {@linkcode reset}. */
  bytes(k: number): Uint8Array {
    return this.#bytes.take(k).fill(0);
  }

  /** Bytes handed out since the last reset (how much the reader took). */
  get bytesUsed(): number {
    return (this.#t.taken + this.#v.taken + this.#floats.taken) * 8 + this.#bytes.taken;
  }

  /** Bytes the arena holds (its slabs). */
  get bytesHeld(): number {
    let n = 0;
    for (const s of [this.#t, this.#v, this.#floats]) n += s.list.length * s.size * 8;
    return n + this.#bytes.list.length * this.#bytes.size;
  }

  /**
   * Makes all memory free again (invalidating every view) and frees slabs
   * over the kept number and the arrays of long runs.
   */
  reset(): void {
    for (const s of [this.#t, this.#v, this.#floats]) s.reset(this.#keepSlabs);
    this.#bytes.reset(this.#keepSlabs);
  }
}

/**
 * Arenas lent to queries: {@linkcode acquire} one per query, give it back
 * with {@linkcode release} when the query is done with every view. At most
 * `maxIdle` arenas are kept between queries (each up to its kept slabs); the
 * rest are left to the garbage collector, and so are all of them once the
 * process goes quiet (core/idle_memory.ts).
 */
export class SampleArenaPool {
  readonly #idle: SampleArena[] = [];
  constructor(
    readonly maxIdle = 2,
    readonly arenaOptions: SampleArenaOptions = {},
    /** Called at each {@linkcode release} (a query ended) with the bytes its arena handed out. */
    readonly onRelease?: (bytesUsed: number) => void,
  ) {
    keepsIdleMemory(this);
  }

  /** Drops the idle arenas (those lent out stay with their queries). */
  releaseIdle(): void {
    this.#idle.length = 0;
  }

  /** An empty arena. */
  acquire(): SampleArena {
    return this.#idle.pop() ?? new SampleArena(this.arenaOptions);
  }

  /** Takes back an arena nothing reads any more. */
  release(a: SampleArena): void {
    const used = a.bytesUsed;
    a.reset();
    if (this.#idle.length < this.maxIdle) this.#idle.push(a);
    this.onRelease?.(used);
  }

  /** Bytes held by idle arenas. */
  get idleBytes(): number {
    let n = 0;
    for (const a of this.#idle) n += a.bytesHeld;
    return n;
  }
}
