/**
 * Per-source ingest rate limits (`limits.ingest_rate_per_source`): a token
 * bucket of samples per source (a credential, else the client's address).
 * A request is refused (429 with Retry-After) only while its source's bucket
 * is empty, and before anything of it is appended, so nothing acknowledged
 * is ever dropped; an accepted batch may take the bucket below zero, and the
 * source then waits until it has paid that back.
 *
 * @module
 */

/** A source is over its rate; maps to HTTP 429 with `Retry-After`. */
export class RateLimitedError extends Error {
  constructor(readonly source: string, readonly retryAfterSeconds: number, rate: number) {
    super(
      `ingest rate limit of ${rate} samples/s for ${source} exceeded (limits.ingest_rate_per_source); retry after ${retryAfterSeconds}s`,
    );
    this.name = "RateLimitedError";
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Most sources tracked; idle sources with a full bucket are forgotten first. */
const MAX_SOURCES = 10_000;

/** Token buckets of samples per source. */
export class SourceRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  /** Requests refused, by source (bounded like the buckets). */
  readonly refused = new Map<string, number>();

  /**
   * @param rate Samples per second per source (read per call; 0 = no limit).
   * @param burst Bucket size in samples (read per call; 0 = ten seconds of `rate`).
   */
  constructor(readonly rate: () => number, readonly burst: () => number) {}

  /**
   * Charges `samples` to `source` at `now` (ms).
   * @throws {RateLimitedError} when the source's bucket is empty.
   */
  take(source: string, samples: number, now: number): void {
    const rate = this.rate();
    if (!(rate > 0)) return;
    const size = this.burst() > 0 ? this.burst() : rate * 10;
    let b = this.#buckets.get(source);
    if (!b) {
      if (this.#buckets.size >= MAX_SOURCES) this.#sweep(now, rate, size);
      b = { tokens: size, at: now };
      this.#buckets.set(source, b);
    }
    b.tokens = Math.min(size, b.tokens + (Math.max(0, now - b.at) * rate) / 1000);
    b.at = now;
    if (b.tokens <= 0) {
      this.refused.set(source, (this.refused.get(source) ?? 0) + 1);
      if (this.refused.size > MAX_SOURCES) this.refused.delete(this.refused.keys().next().value!);
      throw new RateLimitedError(source, Math.max(1, Math.ceil((1 - b.tokens) / rate)), rate);
    }
    b.tokens -= samples;
  }

  /** Forgets sources whose bucket has refilled (they would start full anyway). */
  #sweep(now: number, rate: number, size: number): void {
    for (const [k, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) * rate) / 1000 >= size) this.#buckets.delete(k);
    }
    // Still full of active sources: drop the oldest.
    while (this.#buckets.size >= MAX_SOURCES) {
      this.#buckets.delete(this.#buckets.keys().next().value!);
    }
  }
}
