/**
 * The clock rule groups are scheduled on. Time is an argument: tests pass a
 * fake clock and step it, never sleep. Same shape as core/notify's clock.
 *
 * @module
 */

/** Opaque timer handle. */
export type TimerId = number;

/**
 * A clock with timers. `setTimeout` callbacks may return a promise; a fake
 * clock awaits it before running the next timer, a real one does not.
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
    // Node's types (pulled in by npm packages) widen the return type; Deno returns a number.
    setTimeout(() => {
      void fn();
    }, Math.max(0, ms)) as unknown as number,
  clearTimeout: (id) => clearTimeout(id),
};
