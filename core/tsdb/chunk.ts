/**
 * Chunk codec: samples [start, end) of one series as a self-contained,
 * checksummed byte string (FORMAT.md, "## Chunk").
 *
 * Timestamps: constant interval costs nothing per sample; otherwise deltas
 * or delta-of-deltas, bit-packed. Values: when every value (bar a few
 * exceptions such as stale markers) is an exact decimal with a common scale
 * k <= 15, they are stored as integers v·10^k and packed as values, deltas or
 * delta-of-deltas, whichever is smallest (as VictoriaMetrics does); other
 * chunks use Gorilla XOR. Every value round-trips bit-exactly, NaN payloads
 * and -0 included.
 *
 * @example
 * ```ts
 * const t = new Float64Array([1000, 2000, 3000]);
 * const v = new Float64Array([0.25, 0.5, 0.75]);
 * const chunk = encodeChunk(t, v);
 * chunkMeta(chunk); // { count: 3, minT: 1000, maxT: 3000 }
 * decodeChunk(chunk).v; // Float64Array [0.25, 0.5, 0.75]
 * ```
 *
 * @module
 */
import { BitReader, BitWriter, unzigzag, zigzag } from "./_bitstream.ts";
import { decodeIntSeq, encodeIntSeq, INTSEQ_MAX_ABS } from "./_intseq.ts";
import { decodeXor, encodeXor } from "./_xor.ts";
import { crc32c } from "./crc32c.ts";

/** Format version written in byte 0 of every chunk. */
export const CHUNK_VERSION = 1;
/** Most samples one chunk may hold. */
export const MAX_CHUNK_SAMPLES = 65535;

/** Thrown when a chunk fails its checksum, has an unknown version or is malformed. */
export class ChunkCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChunkCorruptError";
  }
}

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error("BUG: the chunk codec assumes a little-endian host");
}

// Byte 1 of a chunk: time encoding in the high nibble, value encoding in the low one.
const T_REGULAR = 0;
const T_PACKED = 1;
const T_RAW = 2;
const V_DECIMAL = 0;
const V_XOR = 1;

/** Largest |t| and span coded as integers; other timestamps are stored raw. */
const T_MAX_ABS = 2 ** 52;
const MAX_SCALE = 15;
const P10 = Array.from({ length: MAX_SCALE + 1 }, (_, k) => 10 ** k);
/** Rough cost in bits of one exception vs one more decimal digit on every value. */
const EXCEPTION_BITS = 80;
const DIGIT_BITS = 3.32;

const f64 = new Float64Array(1);
const f64u32 = new Uint32Array(f64.buffer);
const mScratch = new Float64Array(MAX_CHUNK_SAMPLES + 1);
const needScratch = new Uint8Array(MAX_CHUNK_SAMPLES + 1);
/** m of value i at scale needScratch[i] (checked exact there). */
const needM = new Float64Array(MAX_CHUNK_SAMPLES + 1);
const excPos = new Int32Array(MAX_CHUNK_SAMPLES + 1);
const excHi = new Uint32Array(MAX_CHUNK_SAMPLES + 1);
const excLo = new Uint32Array(MAX_CHUNK_SAMPLES + 1);
const scaleHist = new Int32Array(MAX_SCALE + 2);
/** Every chunk is written here (encodeChunk copies the bytes out, encodeChunkView does not). */
const writer = new BitWriter(1024);

function u32View(a: Float64Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
}

function isNegZero(x: number): boolean {
  return x === 0 && 1 / x < 0;
}

/** Encodes samples [start, end) of t (ms, strictly ascending) and v into one chunk. */
export function encodeChunk(
  t: Float64Array,
  v: Float64Array,
  start = 0,
  end: number = t.length,
): Uint8Array {
  return encodeChunkView(t, v, start, end).slice();
}

/**
 * As {@linkcode encodeChunk}, but the chunk is a view of the encoder's
 * buffer, which the next call overwrites: for callers that copy the bytes
 * at once (a chunk of its own was a backing store allocated per chunk).
 */
export function encodeChunkView(
  t: Float64Array,
  v: Float64Array,
  start = 0,
  end: number = t.length,
): Uint8Array {
  const n = end - start;
  if (
    !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > t.length ||
    end > v.length || n < 1 || n > MAX_CHUNK_SAMPLES
  ) {
    throw new RangeError(
      `Cannot encode chunk: sample range [${start}, ${end}) must hold 1..${MAX_CHUNK_SAMPLES} ` +
        `samples within t (${t.length}) and v (${v.length})`,
    );
  }
  // Timestamps: validate and classify in one pass.
  const t0 = t[start];
  if (t0 !== t0) throw new RangeError(`Cannot encode chunk: t[${start}] is NaN`);
  let intTimes = Number.isInteger(t0) && Math.abs(t0) <= T_MAX_ABS && !isNegZero(t0);
  const d0 = n > 1 ? t[start + 1] - t0 : 0;
  let regular = true;
  for (let i = start + 1; i < end; i++) {
    const a = t[i];
    if (!(a > t[i - 1])) {
      throw new RangeError(`Cannot encode chunk: t[${i}] is not above t[${i - 1}]`);
    }
    if (intTimes && (!Number.isInteger(a) || isNegZero(a))) intTimes = false;
    if (a - t[i - 1] !== d0) regular = false;
  }
  const span = t[end - 1] - t0;
  if (intTimes && (Math.abs(t[end - 1]) > T_MAX_ABS || span > INTSEQ_MAX_ABS)) intTimes = false;
  const tEnc = !intTimes ? T_RAW : regular ? T_REGULAR : T_PACKED;

  const scale = chooseScale(v, start, n);
  if (scale < 0) return writeChunk(t, v, start, n, tEnc, V_XOR, 0);
  const view = writeChunk(t, v, start, n, tEnc, V_DECIMAL, scale);
  if (view.length === 0) return writeChunk(t, v, start, n, tEnc, V_XOR, 0);
  if (excCount === 0) return view;
  // The XOR chunk is written over the decimal one's bytes.
  const dec = view.slice();
  const xor = writeChunk(t, v, start, n, tEnc, V_XOR, 0);
  return xor.length < dec.length ? xor : dec;
}

/** Exceptions found by the last decimal write. */
let excCount = 0;

/**
 * Picks the decimal scale k for v[start, start+n): needScratch[i] gets the
 * smallest k at which value i is exact (16: none), needM[i] its m there. Returns -1 when XOR is
 * clearly better.
 */
function chooseScale(v: Float64Array, start: number, n: number): number {
  const hist = scaleHist.fill(0);
  for (let i = 0; i < n; i++) {
    const a = v[start + i];
    let need = MAX_SCALE + 1;
    if (Number.isInteger(a) && Math.abs(a) <= INTSEQ_MAX_ABS && !isNegZero(a)) {
      need = 0;
      needM[i] = a;
    } else if (a - a === 0 && !isNegZero(a)) {
      // From k = 1: a is not an integer, or above the bound at every scale.
      for (let k = 1; k <= MAX_SCALE; k++) {
        const p = P10[k];
        const m = Math.round(a * p);
        if (Math.abs(m) > INTSEQ_MAX_ABS) break;
        if (m / p === a) {
          need = k;
          needM[i] = m;
          break;
        }
      }
    }
    needScratch[i] = need;
    hist[need]++;
  }
  let best = -1;
  let bestCost = Infinity;
  let ok = 0;
  for (let k = 0; k <= MAX_SCALE; k++) {
    ok += hist[k];
    const cost = (n - ok) * EXCEPTION_BITS + n * k * DIGIT_BITS;
    if (ok > 0 && cost < bestCost) {
      best = k;
      bestCost = cost;
    }
  }
  if (best < 0) return -1;
  let ok2 = 0;
  for (let k = 0; k <= best; k++) ok2 += hist[k];
  return ok2 * 2 >= n ? best : -1;
}

/**
 * Writes a chunk with the given encodings into {@linkcode writer} and
 * returns a view of it. Returns an empty array when the decimal encoding
 * turns out impossible (every value an exception).
 */
function writeChunk(
  t: Float64Array,
  v: Float64Array,
  start: number,
  n: number,
  tEnc: number,
  vEnc: number,
  scale: number,
): Uint8Array {
  const w = writer;
  w.reset();
  w.write(CHUNK_VERSION, 8);
  w.write((tEnc << 4) | vEnc, 8);
  w.writeVarint(n);
  const t0 = t[start];
  if (tEnc === T_RAW) {
    const tu = u32View(t);
    w.write(tu[2 * start + 1], 32);
    w.write(tu[2 * start], 32);
    const e = start + n - 1;
    w.write(tu[2 * e + 1], 32);
    w.write(tu[2 * e], 32);
    if (n > 2) encodeXor(w, tu, start + 1, n - 2);
  } else {
    w.writeVarint(zigzag(t0));
    if (tEnc === T_REGULAR) {
      if (n > 1) w.writeVarint(t[start + 1] - t0);
    } else {
      w.writeVarint(t[start + n - 1] - t0);
      encodeIntSeq(w, t, start, n, 1);
    }
  }
  if (vEnc === V_XOR) {
    encodeXor(w, u32View(v), start, n);
  } else {
    const p = P10[scale];
    const m = mScratch;
    let exc = 0;
    let first = -1;
    for (let i = 0; i < n; i++) {
      const a = v[start + i];
      let mi = NaN;
      if (needScratch[i] === scale) mi = needM[i];
      else if (needScratch[i] < scale) {
        mi = Math.round(a * p);
        if (Math.abs(mi) > INTSEQ_MAX_ABS || mi / p !== a) mi = NaN; // BUG guard, not expected
      }
      if (mi !== mi) {
        excPos[exc++] = i;
        m[i] = i > 0 ? m[i - 1] : 0;
      } else {
        if (first < 0) {
          first = i;
          for (let j = 0; j < i; j++) m[j] = mi;
        }
        m[i] = mi;
      }
    }
    excCount = exc;
    if (first < 0) return new Uint8Array(0);
    w.write(scale, 4);
    w.write(exc > 0 ? 1 : 0, 1);
    if (exc > 0) {
      w.writeVarint(exc);
      const vu = u32View(v);
      let last = -1;
      for (let e = 0; e < exc; e++) {
        const i = excPos[e];
        w.writeVarint(i - last - 1);
        w.write(vu[2 * (start + i) + 1], 32);
        w.write(vu[2 * (start + i)], 32);
        last = i;
      }
    }
    w.writeVarint(zigzag(m[0]));
    encodeIntSeq(w, m, 0, n, 0);
  }
  const out = w.finish(4);
  const body = out.length - 4;
  const crc = crc32c(out, 0, 0, body);
  out[body] = crc;
  out[body + 1] = crc >>> 8;
  out[body + 2] = crc >>> 16;
  out[body + 3] = crc >>> 24;
  return out;
}

interface Header {
  count: number;
  minT: number;
  maxT: number;
  tEnc: number;
  vEnc: number;
}

function corrupt(what: string): never {
  throw new ChunkCorruptError(`Cannot decode chunk: ${what}`);
}

/**
 * Checks the checksum (unless `verify` is false) and version and reads the
 * header; leaves `rd` after it.
 */
function readHeader(chunk: Uint8Array, verify = true): { h: Header; rd: BitReader } {
  const len = chunk.length - 4;
  if (len < 4) corrupt(`${chunk.length} bytes is too short`);
  if (verify) {
    const stored = (chunk[len] | (chunk[len + 1] << 8) | (chunk[len + 2] << 16) |
      (chunk[len + 3] << 24)) >>> 0;
    if (crc32c(chunk, 0, 0, len) !== stored) corrupt("checksum mismatch");
  }
  if (chunk[0] !== CHUNK_VERSION) corrupt(`unknown version ${chunk[0]}`);
  const tEnc = chunk[1] >>> 4;
  const vEnc = chunk[1] & 15;
  if (tEnc > T_RAW || vEnc > V_XOR) corrupt(`unknown encoding 0x${chunk[1].toString(16)}`);
  const rd = new BitReader(chunk, len, 2);
  const count = rd.readVarint();
  if (count < 1 || count > MAX_CHUNK_SAMPLES) corrupt(`bad sample count ${count}`);
  let minT: number;
  let maxT: number;
  if (tEnc === T_RAW) {
    f64u32[1] = rd.read(32);
    f64u32[0] = rd.read(32);
    minT = f64[0];
    f64u32[1] = rd.read(32);
    f64u32[0] = rd.read(32);
    maxT = f64[0];
  } else {
    const z = rd.readVarint();
    if (z < 0) corrupt("bad minimum time");
    minT = unzigzag(z);
    const d = count > 1 || tEnc === T_PACKED ? rd.readVarint() : 0;
    if (d < 0) corrupt("bad time span");
    maxT = tEnc === T_REGULAR ? minT + (count - 1) * d : minT + d;
  }
  if (rd.pos > rd.end) corrupt("truncated header");
  return { h: { count, minT, maxT, tEnc, vEnc }, rd };
}

/**
 * The sample count from a chunk's header alone: no checksum, version or
 * structure check, so only for chunks whose bytes are checked elsewhere
 * (this process encoded them, or a decode that verifies follows).
 */
export function chunkSampleCount(chunk: Uint8Array): number {
  // Bytes 0-1 are version and encodings; the count follows as a varint of
  // at most 3 bytes (MAX_CHUNK_SAMPLES), byte-aligned.
  const a = chunk[2], b = chunk[3], c = chunk[4];
  if (a < 0x80) return a;
  if (b < 0x80) return (a & 0x7f) | (b << 7);
  return (a & 0x7f) | ((b & 0x7f) << 7) | (c << 14);
}

/** Header info without decoding the samples (the checksum is still verified). */
export function chunkMeta(chunk: Uint8Array): { count: number; minT: number; maxT: number } {
  const { h } = readHeader(chunk);
  return { count: h.count, minT: h.minT, maxT: h.maxT };
}

/** Decodes a chunk; verifies its checksum and version, throws ChunkCorruptError on mismatch. */
export function decodeChunk(chunk: Uint8Array): { t: Float64Array; v: Float64Array } {
  const { h } = readHeader(chunk);
  const t = new Float64Array(h.count);
  const v = new Float64Array(h.count);
  decodeChunkInto(chunk, t, v, 0);
  return { t, v };
}

/**
 * Decodes into caller-provided arrays at `offset` and returns the sample
 * count, for merges without allocation. Throws RangeError when the arrays
 * are too short, ChunkCorruptError when the chunk is damaged. `verify: false`
 * skips the CRC (for bytes already verified, e.g. a block chunk checked at
 * its first read or a head chunk this process encoded); the structure is
 * still checked.
 */
export function decodeChunkInto(
  chunk: Uint8Array,
  t: Float64Array,
  v: Float64Array,
  offset: number,
  verify = true,
): number {
  const { h, rd } = readHeader(chunk, verify);
  const n = h.count;
  if (!(offset >= 0) || offset + n > t.length || offset + n > v.length) {
    throw new RangeError(`Cannot decode chunk: ${n} samples do not fit at offset ${offset}`);
  }
  if (h.tEnc === T_REGULAR) {
    const d = n > 1 ? (h.maxT - h.minT) / (n - 1) : 0;
    for (let i = 0; i < n; i++) t[offset + i] = h.minT + i * d;
  } else if (h.tEnc === T_PACKED) {
    if (!decodeIntSeq(rd, t, offset, n, h.minT)) corrupt("bad timestamps");
  } else {
    t[offset] = h.minT;
    t[offset + n - 1] = h.maxT;
    if (n > 2 && !decodeXor(rd, u32View(t), offset + 1, n - 2)) corrupt("bad timestamps");
  }
  if (h.vEnc === V_XOR) {
    if (!decodeXor(rd, u32View(v), offset, n)) corrupt("bad values");
  } else {
    const scale = rd.read(4);
    const exc = rd.read(1) === 0 ? 0 : rd.readVarint();
    if (scale > MAX_SCALE || exc < 0 || exc > n) corrupt("bad decimal header");
    let i = -1;
    for (let e = 0; e < exc; e++) {
      const gap = rd.readVarint();
      i += gap + 1;
      if (gap < 0 || i >= n) corrupt("bad exception position");
      excPos[e] = i;
      excHi[e] = rd.read(32);
      excLo[e] = rd.read(32);
    }
    const z = rd.readVarint();
    if (z < 0) corrupt("bad first value");
    if (!decodeIntSeq(rd, v, offset, n, unzigzag(z))) corrupt("bad values");
    if (scale > 0) {
      const p = P10[scale];
      for (let j = offset, e = offset + n; j < e; j++) v[j] = v[j] / p;
    }
    if (exc > 0) {
      const vu = u32View(v);
      for (let e = 0; e < exc; e++) {
        const j = 2 * (offset + excPos[e]);
        vu[j + 1] = excHi[e];
        vu[j] = excLo[e];
      }
    }
  }
  if (rd.pos > rd.end) corrupt("truncated samples");
  return n;
}
