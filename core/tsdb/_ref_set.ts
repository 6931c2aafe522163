/**
 * A set of series refs (small non-negative integers handed out in order) as
 * one byte per ref: cheaper to test per sample than a `Set<number>`, and 20
 * bytes smaller per member.
 *
 * @module
 */

/** Refs, one byte each, growing by doubling. */
export class RefSet {
  #has = new Uint8Array(1024);

  /** True when `ref` was added. */
  has(ref: number): boolean {
    return ref < this.#has.length && this.#has[ref] === 1;
  }

  /** Adds `ref`. */
  add(ref: number): void {
    if (ref >= this.#has.length) {
      const next = new Uint8Array(Math.max(ref + 1, this.#has.length * 2));
      next.set(this.#has);
      this.#has = next;
    }
    this.#has[ref] = 1;
  }
}
