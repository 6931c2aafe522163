/**
 * Finds the boundaries of HTTP/1.1 requests in the byte stream a client
 * sends (request line and headers, then a body framed by Content-Length or
 * chunked encoding), so the front door (front_door.ts) knows when a
 * request's head or body is incomplete and can time it out. Bytes are passed
 * through unchanged except for the head, where a client's own
 * `x-perch-peer` / `x-perch-conn` headers are dropped and the front door's
 * are added. After a request asking for an Upgrade (WebSocket) everything is
 * passed through as is. No IO: `push(bytes)` returns what to forward.
 *
 * @module
 */

/** Where the framer is in the stream. */
export type FramePhase =
  /** Between requests, nothing buffered. */
  | "idle"
  /** Part of a request line or headers received. */
  | "head"
  /** Inside a request body. */
  | "body"
  /** After an Upgrade request: opaque bytes. */
  | "raw";

/** A request the client framed wrongly; answered with `status` and the connection closed. */
export class FrameError extends Error {
  constructor(readonly status: 400 | 431 | 505, message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/** Limits of one request head. */
export interface FramerOptions {
  /** Most bytes of request line plus headers. @default 65536 */
  readonly maxHeadBytes?: number;
  /** Header lines added to every request head (each `name: value`, no CRLF). */
  readonly addHeaders: readonly string[];
}

const CRLF2 = [13, 10, 13, 10];
const DROP_HEADER_REGEXP = /^x-perch-(peer|conn)\s*:/i;
const MAX_CHUNK_LINE = 4096;
const enc = new TextEncoder();
const dec = new TextDecoder("latin1");

/** Splits a client's bytes into requests; see the module doc. */
export class RequestFramer {
  #phase: FramePhase = "idle";
  #head: Uint8Array[] = [];
  #headLen = 0;
  /** Bytes of the current body still expected (Content-Length bodies). */
  #remaining = 0;
  /** Chunked body state. */
  #chunked: "size" | "data" | "data-crlf" | "trailer" | undefined;
  #chunkLeft = 0;
  #line = "";
  readonly #maxHead: number;
  readonly #add: readonly string[];

  constructor(opts: FramerOptions) {
    this.#maxHead = opts.maxHeadBytes ?? 65_536;
    this.#add = opts.addHeaders;
  }

  /** The current phase. */
  get phase(): FramePhase {
    return this.#phase;
  }

  /**
   * Takes bytes from the client and returns those to forward (in order).
   * `heads` counts request heads completed in this call.
   * @throws {FrameError} on a malformed or oversized head.
   */
  push(bytes: Uint8Array): { out: Uint8Array[]; heads: number } {
    const out: Uint8Array[] = [];
    let heads = 0;
    let i = 0;
    while (i < bytes.length) {
      switch (this.#phase) {
        case "raw":
          out.push(bytes.subarray(i));
          return { out, heads };
        case "idle":
          this.#phase = "head";
          continue;
        case "head": {
          const end = this.#findHeadEnd(bytes, i);
          const piece = bytes.subarray(i, end < 0 ? bytes.length : end);
          this.#head.push(piece);
          this.#headLen += piece.length;
          if (this.#headLen > this.#maxHead) {
            throw new FrameError(431, `request head is larger than ${this.#maxHead} bytes`);
          }
          if (end < 0) return { out, heads };
          i = end;
          out.push(this.#finishHead());
          heads++;
          continue;
        }
        case "body": {
          if (this.#chunked !== undefined) {
            const n = this.#scanChunked(bytes, i);
            out.push(bytes.subarray(i, i + n));
            i += n;
          } else {
            const n = Math.min(this.#remaining, bytes.length - i);
            out.push(bytes.subarray(i, i + n));
            i += n;
            this.#remaining -= n;
            if (this.#remaining === 0) this.#phase = "idle";
          }
          continue;
        }
      }
    }
    return { out, heads };
  }

  /** Index just past the head's CRLFCRLF in `bytes` (from `from`), or -1. */
  #findHeadEnd(bytes: Uint8Array, from: number): number {
    // The terminator may straddle earlier pieces: check the last 3 bytes held.
    const tail: number[] = [];
    for (let k = this.#head.length - 1; k >= 0 && tail.length < 3; k--) {
      const p = this.#head[k]!;
      for (let j = p.length - 1; j >= 0 && tail.length < 3; j--) tail.unshift(p[j]!);
    }
    let matched = 0;
    for (let j = 0; j < tail.length; j++) {
      matched = tail[j] === CRLF2[matched] ? matched + 1 : tail[j] === 13 ? 1 : 0;
    }
    for (let j = from; j < bytes.length; j++) {
      const b = bytes[j]!;
      matched = b === CRLF2[matched] ? matched + 1 : b === 13 ? 1 : 0;
      if (matched === 4) return j + 1;
      // A bare LF LF also ends a head (tolerated by servers).
      if (b === 10 && j > from && bytes[j - 1] === 10) return j + 1;
    }
    return -1;
  }

  #finishHead(): Uint8Array {
    const all = new Uint8Array(this.#headLen);
    let o = 0;
    for (const p of this.#head) {
      all.set(p, o);
      o += p.length;
    }
    this.#head = [];
    this.#headLen = 0;
    const text = dec.decode(all);
    const lines = text.split(/\r?\n/);
    // Leading empty lines before a request are allowed (RFC 9112 2.2).
    while (lines.length > 0 && lines[0] === "") lines.shift();
    const requestLine = lines.shift() ?? "";
    const m = /^([A-Z]+) (\S+) HTTP\/(\d)\.(\d)$/.exec(requestLine);
    if (!m) throw new FrameError(400, "malformed request line");
    if (m[3] !== "1") throw new FrameError(505, "only HTTP/1.x is served here");
    const kept: string[] = [];
    let length: number | undefined;
    let chunked = false, upgrade = false, te = false;
    for (const line of lines) {
      if (line === "") continue;
      const colon = line.indexOf(":");
      if (colon <= 0 || /\s/.test(line[colon - 1]!)) throw new FrameError(400, "malformed header");
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (DROP_HEADER_REGEXP.test(line)) continue;
      if (name === "content-length") {
        if (!/^\d+$/.test(value) || (length !== undefined && Number(value) !== length)) {
          throw new FrameError(400, "bad Content-Length");
        }
        length = Number(value);
      } else if (name === "transfer-encoding") {
        te = true;
        chunked = /(^|,)\s*chunked\s*$/i.test(value);
      } else if (name === "upgrade") upgrade = true;
      kept.push(line);
    }
    if (te && length !== undefined) {
      throw new FrameError(400, "both Transfer-Encoding and Content-Length");
    }
    if (te && !chunked) throw new FrameError(400, "unsupported Transfer-Encoding");
    if (upgrade) this.#phase = "raw";
    else if (chunked) {
      this.#phase = "body";
      this.#chunked = "size";
      this.#line = "";
    } else if (length !== undefined && length > 0) {
      this.#phase = "body";
      this.#chunked = undefined;
      this.#remaining = length;
    } else this.#phase = "idle";
    return enc.encode([requestLine, ...kept, ...this.#add].join("\r\n") + "\r\n\r\n");
  }

  /** Consumes chunked-body bytes from `i`; returns how many belong to this body. */
  #scanChunked(bytes: Uint8Array, i: number): number {
    const start = i;
    while (i < bytes.length) {
      switch (this.#chunked) {
        case "data": {
          const n = Math.min(this.#chunkLeft, bytes.length - i);
          i += n;
          this.#chunkLeft -= n;
          if (this.#chunkLeft === 0) {
            this.#chunked = "data-crlf";
            this.#line = "";
          }
          break;
        }
        case "size":
        case "data-crlf":
        case "trailer": {
          const b = bytes[i++]!;
          if (b !== 10) {
            if (b !== 13) this.#line += String.fromCharCode(b);
            if (this.#line.length > MAX_CHUNK_LINE) {
              throw new FrameError(400, "chunk line too long");
            }
            break;
          }
          const line = this.#line;
          this.#line = "";
          if (this.#chunked === "data-crlf") {
            if (line !== "") throw new FrameError(400, "malformed chunk");
            this.#chunked = "size";
          } else if (this.#chunked === "size") {
            const size = parseInt(line.split(";")[0]!.trim(), 16);
            if (!Number.isFinite(size) || size < 0) throw new FrameError(400, "bad chunk size");
            if (size === 0) this.#chunked = "trailer";
            else {
              this.#chunkLeft = size;
              this.#chunked = "data";
            }
          } else if (line === "") {
            // End of trailers: the body is complete.
            this.#chunked = undefined;
            this.#phase = "idle";
            return i - start;
          }
          break;
        }
      }
    }
    return i - start;
  }
}
