/**
 * Gives the memory of a burst of queries back soon after it ends. A query
 * round leaves garbage in V8's old generation (collected only when it has
 * grown a good deal more) and free pages in glibc's heap (trimmed every
 * 10 s): tens of MiB resident for seconds after a dashboard loaded. Once
 * queries have been quiet for a moment, {@linkcode IdleReclaimer} runs one
 * full collection and a malloc trim, at most every so often unless the
 * resident set has grown by the threshold again since the last one and
 * that one gave back at least half the threshold (a dashboard loaded twice
 * in a few seconds gets its memory back after each load; growth that is
 * live, such as a filling cache, does not buy a collection every few
 * seconds). Other bursts are seen as rises of the resident set
 * ({@linkcode RssRiseWatcher}) and, for ingest, as samples taken in.
 *
 * @module
 */

/** Options for {@linkcode IdleReclaimer}. */
export interface IdleReclaimerOptions {
  /**
   * Activity worth reclaiming after, in the units {@linkcode IdleReclaimer.touch}
   * is given (bytes queries held): smaller amounts (rule evaluations, small
   * panels) add up until they reach it. @default 16 MiB
   */
  readonly threshold?: number;
  /** Quiet time after the last activity before reclaiming, ms. @default 1000 */
  readonly delayMs?: number;
  /**
   * Least time between two reclaims, ms, unless the resident set has risen
   * by the threshold since the last one ended and that one gave back at
   * least half the threshold. @default 10000
   */
  readonly minIntervalMs?: number;
  /**
   * Longest that further activity puts off a reclaim once the threshold is
   * reached, ms: a sender pushing every second never leaves a quiet second.
   * Long enough that a burst (a dashboard's load, a buffer's flush) is
   * reclaimed after it ends, not in its middle. @default 60000
   */
  readonly maxDelayMs?: number;
  /** Resident set size, bytes. @default Deno.memoryUsage().rss */
  readonly rss?: () => number;
  /** Clock, ms. @default Date.now */
  readonly now?: () => number;
}

/** Runs `reclaim` once activity ({@linkcode touch}) has been quiet for a while. */
export class IdleReclaimer {
  readonly #delayMs: number;
  readonly #minIntervalMs: number;
  readonly #maxDelayMs: number;
  readonly #now: () => number;
  readonly #threshold: number;
  readonly #rss: () => number;
  #pending = 0;
  /** Resident set size after the last reclaim, and what that reclaim gave back. */
  #floor = Infinity;
  #gain = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the pending timer was first set. */
  #armedAt = 0;
  #last = -Infinity;
  #running: Promise<void> | undefined;

  constructor(readonly reclaim: () => Promise<void>, opts: IdleReclaimerOptions = {}) {
    this.#delayMs = opts.delayMs ?? 1000;
    this.#minIntervalMs = opts.minIntervalMs ?? 10_000;
    this.#maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
    this.#threshold = opts.threshold ?? 16 << 20;
    this.#rss = opts.rss ?? (() => Deno.memoryUsage().rss);
  }

  /**
   * Records `amount` of activity. Once the amount since the last reclaim
   * reaches the threshold, the reclaim runs `delayMs` after the last call
   * (later when within `minIntervalMs` of the last reclaim, unless the
   * resident set has risen by the threshold since and that reclaim paid),
   * but calls more than `maxDelayMs` after the first one that set it no
   * longer put it off. With `postpone` false the call counts but does not
   * put off a reclaim already set (an ingest: the rises of the resident
   * set it causes decide when, as they did before ingest counted).
   */
  touch(amount: number, postpone = true): void {
    this.#pending += amount;
    if (this.#pending < this.#threshold) return;
    if (this.#timer !== undefined) {
      if (!postpone || this.#now() - this.#armedAt >= this.#maxDelayMs) return;
      clearTimeout(this.#timer);
    } else this.#armedAt = this.#now();
    const held = this.#rss() - this.#floor < this.#threshold || this.#gain < this.#threshold / 2;
    const wait = held
      ? Math.max(this.#delayMs, this.#last + this.#minIntervalMs - this.#now())
      : this.#delayMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#last = this.#now();
      this.#pending = 0;
      const before = this.#rss();
      this.#running ??= this.reclaim().catch(() => {}).finally(() => {
        this.#running = undefined;
        this.#floor = this.#rss();
        this.#gain = before - this.#floor;
      });
    }, wait);
    Deno.unrefTimer(this.#timer);
  }

  /** Cancels a pending reclaim and waits for one in progress. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}

/**
 * Turns resident-memory samples into {@linkcode IdleReclaimer} activity: each
 * rise between two samples of at least `minRise` bytes is activity of that
 * size. Bursts that are not queries (an ingest, a flush, a compaction) leave
 * garbage and free malloc pages behind too; once RSS has risen by the
 * reclaimer's threshold and then stopped rising, they are given back.
 */
export class RssRiseWatcher {
  #last = Infinity;

  constructor(readonly reclaimer: IdleReclaimer, readonly minRise = 1 << 20) {}

  /** Records one RSS sample (bytes). */
  sample(rss: number): void {
    const rise = rss - this.#last;
    this.#last = rss;
    if (rise >= this.minRise) this.reclaimer.touch(rise);
  }
}

/** The options V8's `gc()` takes (`--expose-gc`). */
interface GcOptions {
  readonly type: "major" | "minor";
  readonly execution: "sync" | "async";
  readonly flavor: "regular" | "last-resort";
}

/**
 * A full, synchronous collection of V8's "last resort" flavour: it also
 * gives the pages V8 keeps pooled after a collection back to the OS, which
 * a plain `gc()` leaves resident (in a small script, 205 MiB after a plain
 * `gc()` against 44 MiB, for ~100 ms instead of ~45 ms with 60 MiB live).
 */
const LAST_RESORT: GcOptions = { type: "major", execution: "sync", flavor: "last-resort" };

let gcFn: ((opts?: GcOptions) => void) | null | undefined;

/**
 * Runs a full garbage collection that returns V8's free pages to the OS
 * ({@linkcode LAST_RESORT}); false where V8 does not let us. It blocks the
 * thread for as long as it runs (tens of ms, more with a larger heap). Deno
 * has `gc()` when started with `--v8-flags=--expose-gc` (`deno task start`
 * and the compiled binary are). Started without it, the flag is set at run
 * time (node:v8, loaded on the first call only) and `gc` taken from a new
 * context (node:vm): it works on the V8 Perch ships with, but V8 and Node
 * document changing flags after start as unpredictable, so it is the
 * fallback only.
 */
export async function fullGc(): Promise<boolean> {
  if (gcFn === undefined) gcFn = (globalThis as { gc?: () => void }).gc;
  if (gcFn === undefined) {
    try {
      const v8 = await import("node:v8");
      const vm = await import("node:vm");
      v8.setFlagsFromString("--expose-gc");
      const f = vm.runInNewContext("gc");
      gcFn = typeof f === "function" ? f as () => void : null;
    } catch {
      gcFn = null;
    }
  }
  if (!gcFn) return false;
  gcFn(LAST_RESORT);
  return true;
}
