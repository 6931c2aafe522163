/**
 * The process memory ceiling (`limits.memory_limit`). Perch's big consumers
 * are each bounded by their own setting (the head by
 * `storage.head_memory_budget`, queries by `query.max_memory`, the range
 * cache by `query.cache_max_bytes`, ingest by `limits.max_inflight_appends`,
 * connections by `server.max_connections`); this guard is the backstop for
 * the whole process. It samples the resident set size, and while it is over
 * the limit Perch sheds work it can refuse (queries, pushes, exports: 503
 * with Retry-After) instead of growing, until memory is back under 90 % of
 * the limit. Probes, `/metrics` and admin actions are never shed.
 *
 * @module
 */

/** Samples RSS and says whether the process is over its memory limit. */
export class MemoryGuard {
  #rss = 0;
  #pressure = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param limit The ceiling in bytes (read at each sample; 0 = off).
   * @param readRss Reads the resident set size in bytes.
   */
  constructor(
    readonly limit: () => number,
    readonly readRss: () => number = () => Deno.memoryUsage().rss,
  ) {}

  /** Takes a sample now and then every `intervalMs`. */
  start(intervalMs = 500): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Reads RSS and updates the pressure state (with 10 % hysteresis). */
  sample(): void {
    const limit = this.limit();
    this.#rss = this.readRss();
    if (!(limit > 0)) this.#pressure = false;
    else if (this.#rss > limit) this.#pressure = true;
    else if (this.#rss < 0.9 * limit) this.#pressure = false;
  }

  /** True while work should be shed. */
  get pressure(): boolean {
    return this.#pressure;
  }

  /** The last RSS sample, bytes. */
  get rss(): number {
    return this.#rss;
  }
}
