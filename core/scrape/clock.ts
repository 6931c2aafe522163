/**
 * The clock scrape loops are scheduled on: time is an argument, so tests can
 * step fake time. (Same shape as core/notify's clock.)
 *
 * @module
 */

/** Opaque timer handle. */
export type TimerId = number;

/**
 * A clock with timers. A `setTimeout` callback may return a promise; a fake
 * clock may await it before running the next timer, the real one does not.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void | Promise<void>, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** The wall clock. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) =>
    setTimeout(() => {
      void fn();
    }, Math.max(0, ms)) as unknown as TimerId,
  clearTimeout: (id) => clearTimeout(id),
};
