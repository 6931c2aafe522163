/**
 * Response body chunks freed as soon as the HTTP server has taken them.
 * A chunk's memory otherwise stays allocated until the collector finds its
 * ArrayBuffer dead, and a streamed query answer is many chunks (about 40 of
 * 64 KiB for 1,000 series × 360 points): a query round grew glibc's heap by
 * tens of MiB with chunks already sent. A producer marks the chunks it hands
 * over and keeps no reference to ({@linkcode ownedChunk}); the server passes
 * each body on through {@linkcode relayBody}, which detaches a marked chunk
 * (`ArrayBuffer.prototype.transfer(0)`, freeing its memory at once) when
 * the reader asks for the next one. Deno's HTTP server gives each chunk to
 * its native side, which holds its own reference to the memory, before it
 * reads the next; a reader that keeps chunks (`Response.text()` in a test)
 * must read the producer's stream itself, not a relayed one.
 *
 * @module
 */

/** Buffers of chunks whose producer holds no reference to them. */
const owned = new WeakSet<ArrayBufferLike>();

/** Marks `chunk` as the reader's alone: its memory may be freed once it has been passed on. */
export function ownedChunk<T extends Uint8Array>(chunk: T): T {
  owned.add(chunk.buffer);
  return chunk;
}

/** Frees an owned chunk's memory (it reads as empty afterwards); other chunks are left alone. */
function release(chunk: Uint8Array | undefined): void {
  if (chunk === undefined || !owned.has(chunk.buffer)) return;
  owned.delete(chunk.buffer);
  (chunk.buffer as ArrayBuffer).transfer(0);
}

/**
 * `body` passed on as its reader pulls, one chunk at a time; chunks marked
 * with {@linkcode ownedChunk} are freed once the reader asks for the next
 * one or the body ends. `onEnd` is called once, when the body ends, fails
 * or is cancelled.
 */
export function relayBody(
  body: ReadableStream<Uint8Array>,
  onEnd: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let last: Uint8Array | undefined;
  let ended = false;
  const end = () => {
    release(last);
    last = undefined;
    if (ended) return;
    ended = true;
    onEnd();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      release(last);
      last = undefined;
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        end();
        throw e;
      }
      if (r.done) {
        end();
        controller.close();
        return;
      }
      last = r.value;
      controller.enqueue(r.value);
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
