/**
 * A pool of byte buffers (see {@linkcode BufferPool}). Imports only what has
 * no imports: the block worker loads it too.
 *
 * @module
 */

import { keepsIdleMemory } from "./idle_memory.ts";

/**
 * Reusable byte buffers, so each request (a remote write body decoded, a
 * block region read for a query) does not allocate (and leave to the
 * garbage collector) a fresh buffer: memory outside the JavaScript heap is
 * only freed by a full collection, so per-request buffers pile up. Keeps at most `keep` free
 * buffers, none larger than `maxKeptBytes`, and drops them when the process
 * goes quiet (core/idle_memory.ts).
 */
export class BufferPool {
  readonly #free: ArrayBuffer[] = [];
  readonly #out = new Set<ArrayBuffer>();

  constructor(readonly keep = 4, readonly maxKeptBytes = 8 << 20) {
    keepsIdleMemory(this);
  }

  /** Buffers kept for reuse, bytes. */
  get keptBytes(): number {
    let n = 0;
    for (const b of this.#free) n += b.byteLength;
    return n;
  }

  /** Drops the buffers kept for reuse (those taken stay out). */
  releaseIdle(): void {
    this.#free.length = 0;
  }

  /** A buffer of exactly `n` bytes (not zeroed). */
  take(n: number): Uint8Array {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const b = this.#free[i]!;
      if (b.byteLength >= n && (best < 0 || b.byteLength < this.#free[best]!.byteLength)) best = i;
    }
    const buf = best >= 0 ? this.#free.splice(best, 1)[0]! : new ArrayBuffer(Math.max(n, 64 << 10));
    this.#out.add(buf);
    return new Uint8Array(buf, 0, n);
  }

  /** Returns a buffer from {@linkcode take}; others are ignored. Its bytes must not be used after. */
  give(view: Uint8Array): void {
    const buf = view.buffer as ArrayBuffer;
    if (!this.#out.delete(buf)) return;
    if (buf.byteLength > this.maxKeptBytes) return;
    this.#free.push(buf);
    if (this.#free.length > this.keep) {
      // Drop the smallest: large requests are what the pool saves most on.
      let min = 0;
      for (let i = 1; i < this.#free.length; i++) {
        if (this.#free[i]!.byteLength < this.#free[min]!.byteLength) min = i;
      }
      this.#free.splice(min, 1);
    }
  }
}
