/**
 * Reads a request body with a size limit that also holds after
 * decompression (gzip bombs stop at the limit), for `Content-Encoding`
 * identity, gzip, deflate and snappy (block format, as remote write uses).
 *
 * The body's chunks are consumed: Deno hands each one out in its own 64 KiB
 * buffer, and once a chunk is copied (or decompressed) its buffer is
 * detached ({@linkcode release}), which frees it at once. Left to the
 * collector, these buffers sit outside V8's heap until their total passes
 * V8's external-memory trigger (64 MiB since the last full collection):
 * tens of MiB of resident memory under a steady remote-write load.
 *
 * @module
 */
import type { BufferPool } from "../buffer_pool.ts";
import { snappyDecode, SnappyError, SnappyTooLargeError } from "./snappy.ts";

/** The body is larger than allowed (maps to HTTP 413). */
export class BodyTooLargeError extends RangeError {
  constructor(readonly limit: number) {
    super(`Request body is larger than the limit of ${limit} bytes (after decompression)`);
    this.name = "BodyTooLargeError";
  }
}

/** The body cannot be decoded as its Content-Encoding says (HTTP 400). */
export class BodyEncodingError extends SyntaxError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BodyEncodingError";
  }
}

/** The Content-Encoding is not supported (HTTP 415). */
export class UnsupportedEncodingError extends TypeError {
  constructor(readonly encoding: string) {
    super(`Content-Encoding "${encoding}" is not supported; use gzip, deflate or snappy`);
    this.name = "UnsupportedEncodingError";
  }
}

/** Options for {@linkcode readBody}. */
export interface ReadBodyOptions {
  /** The Content-Encoding header, or null. */
  readonly encoding: string | null;
  /** Encoding assumed when the header is absent (remote write: "snappy"). @default {"identity"} */
  readonly defaultEncoding?: string;
  /** Most bytes, compressed and uncompressed. */
  readonly maxBytes: number;
  /** Where decompressed snappy bodies go; give them back when parsed. */
  readonly pool?: BufferPool;
}

/**
 * Reads and decompresses a body. Throws {@linkcode BodyTooLargeError},
 * {@linkcode BodyEncodingError} or {@linkcode UnsupportedEncodingError}.
 */
export async function readBody(
  body: ReadableStream<Uint8Array> | null,
  options: ReadBodyOptions,
): Promise<Uint8Array> {
  const enc = (options.encoding ?? "").trim().toLowerCase() || options.defaultEncoding ||
    "identity";
  if (body === null) return new Uint8Array(0);
  switch (enc) {
    case "identity":
      return await readAll(body, options.maxBytes);
    case "gzip":
    case "x-gzip":
    case "deflate": {
      // Not DecompressionStream: it inflates each input chunk whole, so a 256 KiB bomb became
      // one 256 MiB chunk (and ~1 s of CPU) before the limit was checked. zlib stops at the limit.
      const raw = await readAll(body, options.maxBytes);
      // Imported on the first compressed body: node:zlib pulls in much of Deno's Node layer,
      // which start-up does not need.
      const { gunzipSync, inflateSync } = await import("node:zlib");
      try {
        const out = enc === "deflate"
          ? inflateSync(raw, { maxOutputLength: options.maxBytes })
          : gunzipSync(raw, { maxOutputLength: options.maxBytes });
        release(raw);
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      } catch (e) {
        if ((e as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
          throw new BodyTooLargeError(options.maxBytes);
        }
        throw new BodyEncodingError(
          `Cannot decompress request body: ${e instanceof Error ? e.message : String(e)}`,
          { cause: e },
        );
      }
    }
    case "snappy": {
      const raw = await readAll(body, options.maxBytes);
      try {
        const pool = options.pool;
        const out = pool === undefined
          ? snappyDecode(raw, options.maxBytes)
          : snappyDecode(raw, options.maxBytes, (n) => pool.take(n));
        release(raw);
        return out;
      } catch (e) {
        if (e instanceof SnappyTooLargeError) throw new BodyTooLargeError(options.maxBytes);
        if (e instanceof SnappyError) throw new BodyEncodingError(e.message);
        throw e;
      }
    }
    default:
      await body.cancel().catch(() => {});
      throw new UnsupportedEncodingError(enc);
  }
}

async function readAll(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel().catch(() => {});
        throw new BodyTooLargeError(max);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
    release(c);
  }
  return out;
}

/**
 * Frees the memory of `bytes` now instead of at the next full collection,
 * by detaching its buffer; nothing may read `bytes` afterwards. Only a
 * buffer that `bytes` spans from its start is detached (a view into a larger
 * buffer may share it with other views).
 */
function release(bytes: Uint8Array): void {
  const buf = bytes.buffer;
  if (buf instanceof ArrayBuffer && bytes.byteOffset === 0 && !buf.detached) buf.transfer(0);
}
