/**
 * Positioned reads of one open, immutable file (block and histogram files),
 * one read at a time.
 *
 * @module
 */

/** Serialized positioned reads of an open file; see the module doc. */
export class FileRanges {
  #file: Deno.FsFile | undefined;
  #lock: Promise<void> = Promise.resolve();

  /**
   * Takes ownership of `file`. `short` builds the error thrown when the file
   * ends before a requested range (the file is damaged or truncated).
   */
  constructor(readonly path: string, file: Deno.FsFile, readonly short: () => Error) {
    this.#file = file;
  }

  /** Reads `n` bytes at `pos` into `into` (its first n bytes), else into a fresh buffer. */
  read(pos: number, n: number, into?: Uint8Array): Promise<Uint8Array> {
    // Synchronous positioned reads: a query's reads are few and coalesced,
    // usually served from the page cache, and an asynchronous read costs a
    // thread-pool round trip each (most of a select's time on a busy box).
    const op = this.#lock.then(() => {
      const f = this.#file;
      if (!f) throw new Error(`Cannot read ${this.path}: closed`);
      f.seekSync(pos, Deno.SeekMode.Start);
      const buf = into ? into.subarray(0, n) : new Uint8Array(n);
      let got = 0;
      while (got < n) {
        const r = f.readSync(buf.subarray(got));
        if (r === null) throw this.short();
        got += r;
      }
      return buf;
    });
    // The lock settles empty: holding the bytes read would keep the last
    // read's buffer (a pooled one the pool has dropped) alive.
    this.#lock = op.then(() => {}, () => {});
    return op;
  }

  /** Closes the file handle (after pending reads). */
  async close(): Promise<void> {
    await this.#lock;
    this.#file?.close();
    this.#file = undefined;
  }
}
