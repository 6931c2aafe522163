/**
 * Bit-level writer and reader for the chunk codec. Bits are packed MSB-first
 * into big-endian 32-bit words, so a byte-aligned prefix reads as plain bytes.
 * Values up to 53 bits (safe integers) are supported.
 *
 * @module
 */

const TWO32 = 4294967296;

/** Number of bits needed to write `x` (a non-negative safe integer); 0 for 0. */
export function bitLength(x: number): number {
  if (x < TWO32) return 32 - Math.clz32(x);
  return 64 - Math.clz32(Math.floor(x / TWO32));
}

/** Zig-zag maps a safe integer to a non-negative one: 0,-1,1,-2 -> 0,1,2,3. Needs |x| <= 2^52. */
export function zigzag(x: number): number {
  return x >= 0 ? 2 * x : -2 * x - 1;
}

/** Inverse of {@linkcode zigzag}. */
export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Bits a LEB128 varint of `x` (non-negative safe integer) takes. */
export function varintBits(x: number): number {
  if (x < 128) return 8;
  if (x < 16384) return 16;
  if (x < 2097152) return 24;
  return 8 * Math.ceil(bitLength(x) / 7);
}

/** Appends bits to a growable buffer. */
export class BitWriter {
  #buf: Uint8Array;
  #len = 0; // bytes of complete words
  #cur = 0; // pending word, filled from the top
  #fill = 0; // bits used in #cur

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(Math.max(16, capacity));
  }

  /** Empties the writer for reuse (the buffer is kept). */
  reset(): void {
    this.#len = this.#cur = this.#fill = 0;
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.#len * 8 + this.#fill;
  }

  #pushWord(w: number): void {
    if (this.#len + 4 > this.#buf.length) {
      const next = new Uint8Array(this.#buf.length * 2);
      next.set(this.#buf);
      this.#buf = next;
    }
    const b = this.#buf;
    const p = this.#len;
    b[p] = w >>> 24;
    b[p + 1] = w >>> 16;
    b[p + 2] = w >>> 8;
    b[p + 3] = w;
    this.#len = p + 4;
  }

  /** Writes the low `n` bits (0..32) of `x`, an unsigned integer below 2^n. */
  write(x: number, n: number): void {
    if (n === 0) return;
    const free = 32 - this.#fill;
    if (n < free) {
      this.#cur |= x << (free - n);
      this.#fill += n;
    } else {
      const rest = n - free;
      this.#pushWord(this.#cur | (x >>> rest));
      this.#cur = rest === 0 ? 0 : x << (32 - rest);
      this.#fill = rest;
    }
  }

  /** Writes `x` (a safe integer below 2^n) in `n` bits, 0..53. */
  writeBig(x: number, n: number): void {
    if (n <= 32) this.write(x, n);
    else {
      this.write(Math.floor(x / TWO32), n - 32);
      this.write(x >>> 0, 32);
    }
  }

  /** Writes a LEB128 varint (7 bits per byte, low group first) of a non-negative safe integer. */
  writeVarint(x: number): void {
    while (x >= 128) {
      this.write((x % 128) | 128, 8);
      x = Math.floor(x / 128);
    }
    this.write(x, 8);
  }

  /** Writes a zig-zag varint of a safe integer with |x| <= 2^52. */
  writeZigzag(x: number): void {
    this.writeVarint(zigzag(x));
  }

  /**
   * Pads to a byte boundary with zero bits, appends `extra` bytes of room
   * (holding whatever was there) and returns the bytes: a view of the
   * writer's own buffer, valid until the writer writes again.
   */
  finish(extra: number): Uint8Array {
    const bytes = (this.#fill + 7) >>> 3;
    const n = this.#len + bytes + extra;
    if (n > this.#buf.length) {
      const next = new Uint8Array(Math.max(n, this.#buf.length * 2));
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    const b = this.#buf;
    for (let i = 0; i < bytes; i++) b[this.#len + i] = this.#cur >>> (24 - 8 * i);
    return b.subarray(0, n);
  }
}

let scratch = new Int32Array(1024);

/**
 * Reads bits written by {@linkcode BitWriter}. Reading past the end yields
 * zero bits; callers check `pos` against `end` to detect truncation.
 */
export class BitReader {
  /** Big-endian words of the input, plus two zero words of padding. */
  readonly words: Int32Array;
  /** Next bit to read. */
  pos: number;
  /** Bits available. */
  readonly end: number;

  /** Reads `bytes[0, length)` starting at byte `startByte`. Not reentrant: shares one buffer. */
  constructor(bytes: Uint8Array, length: number, startByte: number) {
    const nw = ((length + 3) >>> 2) + 2;
    if (scratch.length < nw) scratch = new Int32Array(Math.max(nw, scratch.length * 2));
    const w = scratch;
    const full = length >>> 2;
    for (let i = 0, p = 0; i < full; i++, p += 4) {
      w[i] = (bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3];
    }
    let last = 0;
    for (let p = full * 4, s = 24; p < length; p++, s -= 8) last |= bytes[p] << s;
    w[full] = last;
    w[full + 1] = 0;
    w[full + 2] = 0;
    this.words = w;
    this.pos = startByte * 8;
    this.end = length * 8;
  }

  /** Reads `n` bits (0..32) as an unsigned integer. */
  read(n: number): number {
    if (n === 0) return 0;
    const pos = this.pos;
    const i = pos >>> 5;
    const o = pos & 31;
    this.pos = pos + n;
    const hi = (this.words[i] << o) >>> (32 - n);
    if (o + n <= 32) return hi;
    return (hi | (this.words[i + 1] >>> (64 - o - n))) >>> 0;
  }

  /** Reads `n` bits (0..53) as a safe integer. */
  readBig(n: number): number {
    if (n <= 32) return this.read(n);
    const hi = this.read(n - 32);
    return hi * TWO32 + this.read(32);
  }

  /** Reads a LEB128 varint; returns -1 when it is longer than a safe integer allows. */
  readVarint(): number {
    let x = 0;
    let mul = 1;
    for (let k = 0; k < 8; k++) {
      const b = this.read(8);
      x += (b & 127) * mul;
      if (b < 128) return x <= Number.MAX_SAFE_INTEGER ? x : -1;
      mul *= 128;
    }
    return -1;
  }
}
