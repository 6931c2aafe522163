/**
 * Memory for the samples one reader (a query) takes from storage. Storage
 * carves each series' arrays out of a few large slabs instead of allocating
 * two arrays per series, and the owner resets the arena once nothing reads
 * them any more, so the next query reuses the same memory: a query round
 * leaves neither garbage for the collector nor a grown malloc heap behind.
 *
 * Views handed out are valid until {@linkcode SampleArena.reset}; after it
 * they alias the next reader's data. Whoever resets must hold no view (the
 * query engine copies everything its results keep).
 *
 * @module
 */

/** Samples of one series: timestamps and values of the same length. */
export interface SampleViews {
  t: Float64Array;
  v: Float64Array;
}

/** Options for {@linkcode SampleArena}. */
export interface SampleArenaOptions {
  /** Samples per slab (a slab is one Float64Array for times, one for values). @default 32768 */
  readonly slabSamples?: number;
  /** Slabs kept over a reset; more are dropped. @default 8 */
  readonly keepSlabs?: number;
}

/** A bump allocator of sample arrays (see the module doc). Not thread-safe; one owner. */
export class SampleArena {
  readonly #slabSamples: number;
  readonly #keepSlabs: number;
  #slabs: { t: Float64Array; v: Float64Array }[] = [];
  /** Slab being carved, and the next free sample in it. */
  #cur = -1;
  #pos = 0;

  constructor(opts: SampleArenaOptions = {}) {
    this.#slabSamples = opts.slabSamples ?? 32_768;
    this.#keepSlabs = opts.keepSlabs ?? 8;
  }

  /**
   * Arrays for `k` samples (contents unspecified), valid until the next
   * {@linkcode reset}. Runs longer than half a slab get arrays of their own.
   */
  samples(k: number): SampleViews {
    const size = this.#slabSamples;
    if (k > size >> 1) return { t: new Float64Array(k), v: new Float64Array(k) };
    if (this.#cur < 0 || this.#pos + k > size) {
      this.#cur++;
      if (this.#cur === this.#slabs.length) {
        this.#slabs.push({ t: new Float64Array(size), v: new Float64Array(size) });
      }
      this.#pos = 0;
    }
    const s = this.#slabs[this.#cur]!, p = this.#pos;
    this.#pos = p + k;
    return { t: s.t.subarray(p, p + k), v: s.v.subarray(p, p + k) };
  }

  /** Bytes the arena holds (its slabs). */
  get bytes(): number {
    return this.#slabs.length * this.#slabSamples * 16;
  }

  /** Makes all memory free again (invalidating every view) and drops slabs over the kept number. */
  reset(): void {
    if (this.#slabs.length > this.#keepSlabs) this.#slabs.length = this.#keepSlabs;
    this.#cur = -1;
    this.#pos = 0;
  }
}

/**
 * Arenas lent to queries: {@linkcode acquire} one per query, give it back
 * with {@linkcode release} when the query is done with every view. At most
 * `maxIdle` arenas are kept between queries (each up to its kept slabs:
 * 4 MiB with the defaults); the rest are left to the garbage collector.
 */
export class SampleArenaPool {
  readonly #idle: SampleArena[] = [];
  constructor(
    readonly maxIdle = 2,
    readonly arenaOptions: SampleArenaOptions = {},
  ) {}

  /** An empty arena. */
  acquire(): SampleArena {
    return this.#idle.pop() ?? new SampleArena(this.arenaOptions);
  }

  /** Takes back an arena nothing reads any more. */
  release(a: SampleArena): void {
    a.reset();
    if (this.#idle.length < this.maxIdle) this.#idle.push(a);
  }

  /** Bytes held by idle arenas. */
  get idleBytes(): number {
    let n = 0;
    for (const a of this.#idle) n += a.bytes;
    return n;
  }
}
