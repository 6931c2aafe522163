/**
 * A minimal protobuf wire-format reader and writer: varints, fixed64
 * doubles and length-delimited fields, which is all remote write needs.
 *
 * @module
 */
import { isStaleNaN } from "../model/mod.ts";

/** Malformed protobuf data. */
export class ProtoError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "ProtoError";
  }
}

/** Wire types. */
export const VARINT = 0, FIXED64 = 1, LEN = 2, FIXED32 = 5;

/** Reads protobuf fields from a byte range; throws {@linkcode ProtoError} on bad data. */
export class ProtoReader {
  pos: number;
  readonly view: DataView;
  /** End of the bytes found by the last {@linkcode len} call. */
  lenEnd = 0;

  /** `end` may be moved to read a nested message with the same reader. */
  constructor(readonly buf: Uint8Array, start = 0, public end = buf.length) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Reads a varint up to 2^32 - 1 (tags and lengths). */
  uint32(): number {
    const b = this.buf;
    let p = this.pos;
    let x = 0, shift = 0;
    for (;;) {
      if (p >= this.end) throw new ProtoError("truncated varint");
      const c = b[p++]!;
      if (shift === 28) {
        if (c > 0x0f) throw new ProtoError("varint too large");
        x += c * 0x10000000;
        break;
      }
      x |= (c & 0x7f) << shift;
      if (c < 0x80) break;
      shift += 7;
    }
    this.pos = p;
    return x;
  }

  /** Reads a varint as a signed int64 (two's complement), exact within 2^53. */
  int64(): number {
    const b = this.buf;
    let p = this.pos;
    let lo = 0, hi = 0;
    let i = 0;
    for (;; i++) {
      if (p >= this.end) throw new ProtoError("truncated varint");
      if (i >= 10) throw new ProtoError("varint longer than 10 bytes");
      const c = b[p++]!;
      if (i < 4) lo |= (c & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (c & 0x0f) << 28;
        hi |= (c & 0x7f) >>> 4;
      } else hi |= (c & 0x7f) << (7 * i - 32);
      if (c < 0x80) break;
    }
    this.pos = p;
    lo >>>= 0;
    if (hi & 0x80000000) {
      // Negative: -(~x + 1).
      const nlo = (~lo >>> 0) + 1;
      const nhi = ~hi >>> 0;
      return -(nhi * 0x100000000 + nlo);
    }
    return (hi >>> 0) * 0x100000000 + lo;
  }

  /** Reads a little-endian double. */
  double(): number {
    if (this.pos + 8 > this.end) throw new ProtoError("truncated double");
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix and returns [start, end] of the bytes; advances past them. */
  bytes(): [number, number] {
    const n = this.uint32();
    const s = this.pos;
    if (s + n > this.end) throw new ProtoError("length-delimited field runs past its message");
    this.pos = s + n;
    return [s, s + n];
  }

  /**
   * Reads a length prefix and returns the start of the bytes, their end in
   * {@linkcode lenEnd}; advances past them. Allocates nothing.
   */
  len(): number {
    const n = this.uint32();
    const s = this.pos;
    if (s + n > this.end) throw new ProtoError("length-delimited field runs past its message");
    this.pos = this.lenEnd = s + n;
    return s;
  }

  /** Skips a field of the given wire type. */
  skip(wire: number): void {
    switch (wire) {
      case VARINT:
        this.int64();
        return;
      case FIXED64:
        if (this.pos + 8 > this.end) throw new ProtoError("truncated fixed64");
        this.pos += 8;
        return;
      case LEN:
        this.len();
        return;
      case FIXED32:
        if (this.pos + 4 > this.end) throw new ProtoError("truncated fixed32");
        this.pos += 4;
        return;
      default:
        throw new ProtoError(`unsupported wire type ${wire}`);
    }
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes UTF-8 bytes [s, e) to a string; ASCII takes a fast path. Throws
 * {@linkcode ProtoError} on invalid UTF-8.
 */
export function decodeUtf8(buf: Uint8Array, s: number, e: number): string {
  const n = e - s;
  if (n === 0) return "";
  if (n <= 64) {
    let ascii = true;
    for (let i = s; i < e; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, buf.subarray(s, e) as unknown as number[]);
  }
  try {
    return utf8.decode(buf.subarray(s, e));
  } catch {
    throw new ProtoError("string is not valid UTF-8");
  }
}

/** Returns every byte of [s, e) as one char each (an injective key for the bytes). */
export function bytesKey(buf: Uint8Array, s: number, e: number): string {
  if (e - s <= 4096) {
    return String.fromCharCode.apply(null, buf.subarray(s, e) as unknown as number[]);
  }
  let out = "";
  for (let i = s; i < e; i += 4096) {
    out += String.fromCharCode.apply(
      null,
      buf.subarray(i, Math.min(e, i + 4096)) as unknown as number[],
    );
  }
  return out;
}

/** Zigzag-encodes a safe integer for a `sint32`/`sint64` field: 0, -1, 1, -2 -> 0, 1, 2, 3. */
export function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

/** Inverse of {@linkcode zigzag}: the value of a `sint` varint read as a (non-negative) int64. */
export function unzigzag(u: number): number {
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/** A growable protobuf writer. */
export class ProtoWriter {
  buf: Uint8Array;
  pos = 0;
  #view: DataView;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(capacity);
    this.#view = new DataView(this.buf.buffer);
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.#view = new DataView(b.buffer);
  }

  /** Writes an unsigned varint (< 2^53). */
  uvarint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    b[this.pos++] = v;
  }

  /** Writes a signed int64 varint (negative numbers take 10 bytes). */
  int64(v: number): void {
    if (v >= 0) return this.uvarint(v);
    this.ensure(10);
    // Two's complement of |v| over 64 bits, as hi/lo words.
    const a = -v;
    let lo = a % 0x100000000, hi = Math.floor(a / 0x100000000);
    lo = (~lo >>> 0) + 1;
    hi = ~hi >>> 0;
    if (lo > 0xffffffff) {
      lo = 0;
      hi = (hi + 1) >>> 0;
    }
    const b = this.buf;
    for (let i = 0; i < 9; i++) {
      let seven: number;
      if (i < 4) seven = (lo >>> (7 * i)) & 0x7f;
      else if (i === 4) seven = ((lo >>> 28) | (hi << 4)) & 0x7f;
      else seven = (hi >>> (7 * i - 32)) & 0x7f;
      b[this.pos++] = seven | 0x80;
    }
    b[this.pos++] = (hi >>> 31) & 1;
  }

  /** Writes a field tag. */
  tag(field: number, wire: number): void {
    this.uvarint((field << 3) | wire);
  }

  /**
   * Writes a little-endian double. A staleness marker is written with
   * Prometheus's exact bits (0x7ff0000000000002), whichever NaN form V8 holds.
   */
  double(v: number): void {
    this.ensure(8);
    if (v !== v && isStaleNaN(v)) {
      this.#view.setUint32(this.pos, 2, true);
      this.#view.setUint32(this.pos + 4, 0x7ff00000, true);
    } else {
      this.#view.setFloat64(this.pos, v, true);
    }
    this.pos += 8;
  }

  /** Writes a length-delimited string field. */
  string(field: number, s: string): void {
    this.tag(field, LEN);
    const len = utf8Length(s);
    this.uvarint(len);
    this.ensure(len);
    if (len === s.length) {
      const b = this.buf;
      for (let i = 0; i < len; i++) b[this.pos + i] = s.charCodeAt(i);
    } else {
      encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + len));
    }
    this.pos += len;
  }

  /** Writes a length-delimited field holding `b` (an encoded message). */
  message(field: number, b: Uint8Array): void {
    this.tag(field, LEN);
    this.delimited(b);
  }

  /** Writes `b` after a varint of its length (no tag). */
  delimited(b: Uint8Array): void {
    this.uvarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

const encoder = new TextEncoder();

/** The UTF-8 byte length of a string (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** The size of an unsigned varint. */
export function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** The size of a signed int64 varint. */
export function int64Size(v: number): number {
  return v < 0 ? 10 : uvarintSize(v);
}
