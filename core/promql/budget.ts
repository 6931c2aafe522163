/**
 * Memory budgets for queries. One {@linkcode MemoryPool} is shared by every
 * query of the process (`query.max_memory`); each query holds a
 * {@linkcode QueryBudget} that reserves from it as the query's estimate
 * grows (planned step grids, samples loaded from storage, the peak of
 * intermediate results) and gives everything back when the query ends,
 * however it ends.
 *
 * Estimates are of V8 heap bytes, measured on Deno 2.9: an evaluation step
 * of one node costs about 48 bytes even with no series (its time and its
 * empty per-step list), a sample held in an intermediate result about 80,
 * a sample loaded from storage about 24 (time, value, stale flag and the
 * copy without stale markers).
 *
 * @module
 */
import { QueryMemoryError, QueryOverloadError } from "./errors.ts";

/** Estimated bytes of one evaluation step of one node. */
export const STEP_BYTES = 48;
/** Estimated bytes of one sample held in an intermediate result. */
export const SAMPLE_BYTES = 80;
/** Estimated bytes of one sample loaded from storage. */
export const LOADED_SAMPLE_BYTES = 24;
/** Estimated bytes of one series loaded from storage (labels, arrays). */
export const LOADED_SERIES_BYTES = 256;

/** Reservations are taken in steps of this size, so the pool is touched rarely. */
const GRAIN = 1 << 20;

/** The process-wide memory budget of all queries in flight. */
export class MemoryPool {
  #used = 0;

  /** @param limit Bytes all queries together may reserve (`query.max_memory`); 0 = unlimited. */
  constructor(public limit: number) {}

  /** Bytes reserved by queries in flight. */
  get used(): number {
    return this.#used;
  }

  /** Reserves `bytes` when they fit; false (and nothing reserved) when not. */
  tryTake(bytes: number): boolean {
    if (this.limit > 0 && this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  /** Returns bytes reserved by {@linkcode tryTake}. */
  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/** One query's reservation from a {@linkcode MemoryPool}. */
export class QueryBudget {
  #reserved = 0;
  /** The largest estimate seen, bytes. */
  peak = 0;

  constructor(readonly pool: MemoryPool) {}

  /**
   * Makes sure the query may hold `bytes` in total (its current estimate).
   * Throws {@linkcode QueryMemoryError} when that is more than the whole
   * budget, and {@linkcode QueryOverloadError} when queries in flight hold
   * too much of it to grant the rest now. Never lowers the reservation.
   */
  need(bytes: number): void {
    if (bytes > this.peak) this.peak = bytes;
    if (bytes <= this.#reserved) return;
    const limit = this.pool.limit;
    if (limit > 0 && bytes > limit) throw new QueryMemoryError(bytes, limit);
    const want = limit > 0 ? Math.min(limit, Math.ceil(bytes / GRAIN) * GRAIN) : bytes;
    if (!this.pool.tryTake(want - this.#reserved)) {
      throw new QueryOverloadError(bytes, this.pool.used - this.#reserved, limit);
    }
    this.#reserved = want;
  }

  /** Gives the whole reservation back. Safe to call more than once. */
  release(): void {
    this.pool.give(this.#reserved);
    this.#reserved = 0;
  }
}
