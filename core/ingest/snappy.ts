/**
 * Snappy block format (not the framing format), as Prometheus remote write
 * uses it: a varint of the uncompressed length, then literal and copy
 * elements. See https://github.com/google/snappy/blob/main/format_description.txt
 *
 * @module
 */

/** The input is not valid snappy data. */
export class SnappyError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "SnappyError";
  }
}

/** The uncompressed size is larger than allowed (maps to HTTP 413). */
export class SnappyTooLargeError extends RangeError {
  constructor(readonly size: number, readonly limit: number) {
    super(`Snappy data would uncompress to ${size} bytes, more than the limit of ${limit}`);
    this.name = "SnappyTooLargeError";
  }
}

/**
 * Reads the uncompressed length from the header, or throws
 * {@linkcode SnappyError}; returns [length, header size].
 */
export function snappyUncompressedLength(src: Uint8Array): [number, number] {
  let result = 0, shift = 0, pos = 0;
  for (;;) {
    if (pos >= src.length) throw new SnappyError("Cannot read snappy header: truncated length");
    if (pos >= 5) throw new SnappyError("Cannot read snappy header: length is too long");
    const b = src[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
    shift += 7;
  }
  if (result > 0xffffffff) throw new SnappyError("Cannot read snappy header: length is too long");
  return [result, pos];
}

/**
 * Uncompresses snappy block data. Throws {@linkcode SnappyTooLargeError}
 * before allocating when the header announces more than `maxLength` bytes,
 * and {@linkcode SnappyError} for corrupt input. `alloc` gives the output
 * buffer (e.g. from a {@linkcode BufferPool}); it need not be zeroed.
 */
export function snappyDecode(
  src: Uint8Array,
  maxLength = Infinity,
  alloc: (length: number) => Uint8Array = (n) => new Uint8Array(n),
): Uint8Array {
  const [length, header] = snappyUncompressedLength(src);
  if (length > maxLength) throw new SnappyTooLargeError(length, maxLength);
  const dst = alloc(length); // Every byte is written below (or it throws).
  if (dst.length !== length) throw new RangeError("BUG: snappyDecode alloc returned a wrong size");
  const n = src.length;
  // Views for copying 4 bytes at a time: copies are at most 64 bytes, and most
  // literals short, less than a call to set or copyWithin is worth.
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  let s = header, d = 0;
  while (s < n) {
    const tag = src[s++]!;
    let len: number, off: number;
    switch (tag & 3) {
      case 0: {
        len = tag >>> 2;
        if (len >= 60) {
          const nb = len - 59;
          if (s + nb > n) throw new SnappyError("Cannot decode snappy: truncated literal length");
          len = 0;
          for (let k = 0; k < nb; k++) len += src[s + k]! * 2 ** (8 * k);
          s += nb;
        }
        len += 1;
        if (s + len > n) throw new SnappyError("Cannot decode snappy: truncated literal");
        if (d + len > length) {
          throw new SnappyError("Cannot decode snappy: output overflows length");
        }
        if (len <= 16 && s + 16 <= n && d + 16 <= length) {
          // 16 bytes whatever len is: no loop (the bytes past len are written again later).
          dv.setInt32(d, sv.getInt32(s, true), true);
          dv.setInt32(d + 4, sv.getInt32(s + 4, true), true);
          dv.setInt32(d + 8, sv.getInt32(s + 8, true), true);
          dv.setInt32(d + 12, sv.getInt32(s + 12, true), true);
        } else if (len > 64) dst.set(src.subarray(s, s + len), d);
        else if (s + len + 3 <= n && d + len + 3 <= length) {
          // Words, the last one whole: the bytes past len are written again later.
          for (let k = 0; k < len; k += 4) dv.setInt32(d + k, sv.getInt32(s + k, true), true);
        } else {
          for (let k = 0; k < len; k++) dst[d + k] = src[s + k]!;
        }
        s += len;
        d += len;
        continue;
      }
      case 1:
        if (s >= n) throw new SnappyError("Cannot decode snappy: truncated copy");
        len = 4 + ((tag >>> 2) & 7);
        off = ((tag & 0xe0) << 3) | src[s++]!;
        break;
      case 2:
        if (s + 2 > n) throw new SnappyError("Cannot decode snappy: truncated copy");
        len = 1 + (tag >>> 2);
        off = src[s]! | (src[s + 1]! << 8);
        s += 2;
        break;
      default:
        if (s + 4 > n) throw new SnappyError("Cannot decode snappy: truncated copy");
        len = 1 + (tag >>> 2);
        off = (src[s]! | (src[s + 1]! << 8) | (src[s + 2]! << 16)) + src[s + 3]! * 0x1000000;
        s += 4;
    }
    if (off === 0 || off > d) throw new SnappyError("Cannot decode snappy: invalid copy offset");
    if (d + len > length) throw new SnappyError("Cannot decode snappy: output overflows length");
    const from = d - off;
    if (off >= 16 && len <= 16 && d + 16 <= length) {
      // 16 bytes, all read before any is written (off >= 16), no loop.
      const a = dv.getInt32(from, true), b = dv.getInt32(from + 4, true);
      const c = dv.getInt32(from + 8, true), e = dv.getInt32(from + 12, true);
      dv.setInt32(d, a, true);
      dv.setInt32(d + 4, b, true);
      dv.setInt32(d + 8, c, true);
      dv.setInt32(d + 12, e, true);
    } else if (off >= 4 && d + len + 3 <= length) {
      // Words, the last one whole (the bytes past len are written again later);
      // each word is read after the words it overlaps were written (off >= 4).
      for (let k = 0; k < len; k += 4) dv.setInt32(d + k, dv.getInt32(from + k, true), true);
    } else {
      for (let k = 0; k < len; k++) dst[d + k] = dst[from + k]!;
    }
    d += len;
  }
  if (d !== length) {
    throw new SnappyError(`Cannot decode snappy: got ${d} bytes, header says ${length}`);
  }
  return dst;
}

const BLOCK = 1 << 16;
const TABLE_BITS = 14;

/** Compresses bytes into the snappy block format. */
export function snappyEncode(src: Uint8Array): Uint8Array {
  const n = src.length;
  const out = new Uint8Array(32 + n + Math.ceil(n / 6));
  let o = 0;
  let v = n;
  while (v >= 0x80) {
    out[o++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[o++] = v;
  const table = new Int32Array(1 << TABLE_BITS);
  for (let start = 0; start < n; start += BLOCK) {
    o = compressBlock(src, start, Math.min(n, start + BLOCK), out, o, table);
  }
  return out.subarray(0, o);
}

function load32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function hash(x: number): number {
  return Math.imul(x, 0x1e35a7bd) >>> (32 - TABLE_BITS);
}

function compressBlock(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  o: number,
  table: Int32Array,
): number {
  table.fill(-1);
  let lit = start;
  let i = start;
  const limit = end - 4;
  while (i <= limit) {
    const x = load32(src, i);
    const h = hash(x);
    const cand = table[h]!;
    table[h] = i;
    if (cand >= start && load32(src, cand) === x) {
      if (i > lit) o = emitLiteral(src, lit, i, out, o);
      let m = 4;
      while (i + m < end && src[cand + m] === src[i + m]) m++;
      o = emitCopy(i - cand, m, out, o);
      i += m;
      lit = i;
    } else {
      i++;
    }
  }
  if (lit < end) o = emitLiteral(src, lit, end, out, o);
  return o;
}

function emitLiteral(src: Uint8Array, s: number, e: number, out: Uint8Array, o: number): number {
  const len = e - s;
  const n = len - 1;
  if (n < 60) {
    out[o++] = n << 2;
  } else if (n < 0x100) {
    out[o++] = 60 << 2;
    out[o++] = n;
  } else if (n < 0x10000) {
    out[o++] = 61 << 2;
    out[o++] = n & 0xff;
    out[o++] = n >>> 8;
  } else if (n < 0x1000000) {
    out[o++] = 62 << 2;
    out[o++] = n & 0xff;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = n >>> 16;
  } else {
    out[o++] = 63 << 2;
    out[o++] = n & 0xff;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = (n >>> 16) & 0xff;
    out[o++] = n >>> 24;
  }
  out.set(src.subarray(s, e), o);
  return o + len;
}

function emitCopy(off: number, len: number, out: Uint8Array, o: number): number {
  while (len >= 68) {
    o = emitCopy2(off, 64, out, o);
    len -= 64;
  }
  if (len > 64) {
    o = emitCopy2(off, 60, out, o);
    len -= 60;
  }
  if (len >= 12 || off >= 2048) return emitCopy2(off, len, out, o);
  out[o++] = ((off >>> 8) << 5) | ((len - 4) << 2) | 1;
  out[o++] = off & 0xff;
  return o;
}

function emitCopy2(off: number, len: number, out: Uint8Array, o: number): number {
  out[o++] = ((len - 1) << 2) | 2;
  out[o++] = off & 0xff;
  out[o++] = off >>> 8;
  return o;
}
