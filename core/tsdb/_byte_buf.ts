/**
 * Growable byte writer and bounds-checked reader with LEB128 varints, for the
 * WAL, block and KV layouts (FORMAT.md). Numbers up to 2^53 are exact.
 *
 * @module
 */

const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** Thrown by {@linkcode ByteReader} when the input ends early or is malformed. */
export class ShortReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShortReadError";
  }
}

/** An append-only byte buffer that grows by doubling. */
export class ByteWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  u8(x: number): void {
    this.ensure(1);
    this.buf[this.pos++] = x;
  }

  u32(x: number): void {
    this.ensure(4);
    const b = this.buf, p = this.pos;
    b[p] = x & 0xff;
    b[p + 1] = (x >>> 8) & 0xff;
    b[p + 2] = (x >>> 16) & 0xff;
    b[p + 3] = (x >>> 24) & 0xff;
    this.pos = p + 4;
  }

  /** A float64, little endian, bit pattern kept (NaN payloads included). */
  f64(x: number): void {
    this.ensure(8);
    f64[0] = x;
    this.buf.set(f64b, this.pos);
    this.pos += 8;
  }

  /** Unsigned LEB128 of a non-negative integer <= 2^53. */
  uvarint(x: number): void {
    this.ensure(8);
    if (x < 0x80000000) {
      while (x >= 0x80) {
        this.buf[this.pos++] = (x & 0x7f) | 0x80;
        x >>>= 7;
      }
      this.buf[this.pos++] = x;
      return;
    }
    this.ensure(10);
    while (x >= 0x80) {
      this.buf[this.pos++] = (x % 128) | 0x80;
      x = Math.floor(x / 128);
    }
    this.buf[this.pos++] = x;
  }

  /** Zig-zag signed varint of an integer with |x| < 2^52. */
  varint(x: number): void {
    this.uvarint(x >= 0 ? x * 2 : -x * 2 - 1);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A length-prefixed UTF-8 string. */
  str(s: string): void {
    const n = s.length;
    if (n < 0x80) {
      // Short ASCII (label names and most values): the bytes are the chars, no encoder call.
      this.ensure(n + 1);
      const b = this.buf, p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p + i] = c;
      }
      if (i === n) {
        b[p - 1] = n;
        this.pos = p + n;
        return;
      }
    }
    const b = enc.encode(s);
    this.uvarint(b.length);
    this.bytes(b);
  }

  /** A label set: count, then each name and value as {@linkcode str}. */
  labels(labels: readonly { readonly name: string; readonly value: string }[]): void {
    this.uvarint(labels.length);
    for (const l of labels) {
      this.str(l.name);
      this.str(l.value);
    }
  }

  /** The written bytes (a view, not a copy). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** The written bytes as a fresh copy. */
  copy(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }
}

/** Reads what {@linkcode ByteWriter} wrote; throws {@linkcode ShortReadError} on bad input. */
export class ByteReader {
  pos: number;
  constructor(readonly buf: Uint8Array, start = 0, readonly end: number = buf.length) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  #need(n: number): void {
    if (this.pos + n > this.end) throw new ShortReadError("Cannot read past the end of input");
  }

  u8(): number {
    this.#need(1);
    return this.buf[this.pos++];
  }

  u32(): number {
    this.#need(4);
    const b = this.buf, p = this.pos;
    this.pos = p + 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  f64(): number {
    this.#need(8);
    f64b.set(this.buf.subarray(this.pos, this.pos + 8));
    this.pos += 8;
    return f64[0];
  }

  uvarint(): number {
    let x = 0, mul = 1;
    for (let i = 0; i < 8; i++) {
      this.#need(1);
      const b = this.buf[this.pos++];
      x += (b & 0x7f) * mul;
      if (b < 0x80) return x;
      mul *= 128;
    }
    throw new ShortReadError("Cannot read varint: longer than 8 bytes");
  }

  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  bytes(n: number): Uint8Array {
    this.#need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  str(): string {
    const n = this.uvarint();
    // Short ASCII strings (label names and most values) are built here: a
    // TextDecoder call costs about a microsecond, which adds up over the
    // series tables read at start-up.
    if (n <= 64) {
      this.#need(n);
      const b = this.buf, p = this.pos;
      let s = "";
      let i = 0;
      for (; i < n; i++) {
        const c = b[p + i];
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === n) {
        this.pos = p + n;
        return s;
      }
    }
    try {
      return dec.decode(this.bytes(n));
    } catch (e) {
      if (e instanceof ShortReadError) throw e;
      throw new ShortReadError("Cannot read string: invalid UTF-8");
    }
  }
  /** A label set written by {@linkcode ByteWriter.labels}. */
  labels(): { name: string; value: string }[] {
    const k = this.uvarint();
    if (k > this.remaining) throw new ShortReadError("Cannot read labels: count past the end");
    const out: { name: string; value: string }[] = [];
    for (let j = 0; j < k; j++) out.push({ name: this.str(), value: this.str() });
    return out;
  }
}
