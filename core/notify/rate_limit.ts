/**
 * A token bucket: up to `burst` notifications at once, refilled smoothly at
 * `burst` tokens per `period`. A limited notification waits for a token; it
 * is never dropped.
 *
 * @module
 */
import type { RateLimit } from "./config_fields.ts";

/** One channel's bucket. Time is passed in (ms). */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(readonly limit: RateLimit, now: number) {
    this.#tokens = limit.burst;
    this.#last = now;
  }

  #refill(now: number): void {
    const rate = this.limit.burst / this.limit.periodMs;
    this.#tokens = Math.min(this.limit.burst, this.#tokens + (now - this.#last) * rate);
    this.#last = Math.max(this.#last, now);
  }

  /** When a token is (or was) available: `now` or later. */
  readyAt(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) return now;
    const rate = this.limit.burst / this.limit.periodMs;
    return now + Math.ceil((1 - this.#tokens) / rate);
  }

  /** Takes a token; returns false when none is available. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1 - 1e-9) return false;
    this.#tokens = Math.max(0, this.#tokens - 1);
    return true;
  }
}
