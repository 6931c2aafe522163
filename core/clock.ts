/**
 * The clock schedulers run on (rule groups, scrape loops, notification
 * delivery): time is an argument, so tests step a FakeClock and never sleep.
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
    Number(setTimeout(() => {
      void fn();
    }, Math.max(0, ms))),
  clearTimeout: (id) => clearTimeout(id),
};

interface FakeTimer {
  readonly id: TimerId;
  readonly at: number;
  readonly fn: () => void | Promise<void>;
}

/**
 * A manual clock for tests. `advance(ms)` runs every timer due by then, in
 * order of due time, awaiting each callback (and the work it starts through
 * further zero-delay timers) before moving on.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: FakeTimer[] = [];
  #settlers: (() => Promise<unknown>)[] = [];

  constructor(start = Date.UTC(2024, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void | Promise<void>, ms: number): TimerId {
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }

  /**
   * Has `advance` also await `fn` whenever it lets pending work run: work the
   * code under test starts without a timer (a KV write, then a retry timer)
   * is then finished before time moves on, however slow the machine is.
   */
  settleWith(fn: () => Promise<unknown>): void {
    this.#settlers.push(fn);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, running due timers. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      // Let promise chains started by earlier callbacks schedule their timers.
      await this.#settle();
      let next: FakeTimer | undefined;
      for (const t of this.#timers) if (t.at <= target && (!next || t.at < next.at)) next = t;
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      if (next.at > this.#now) this.#now = next.at;
      await next.fn();
    }
    this.#now = target;
    await this.#settle();
  }

  async #settle(): Promise<void> {
    await settle();
    for (const fn of this.#settlers) await fn();
    if (this.#settlers.length > 0) await settle();
  }
}

/** Lets pending promise callbacks (including KV operations) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}
