/**
 * Chunk codec: one series' samples [start, end) as a self-contained,
 * checksummed byte string. See FORMAT.md (## Chunk).
 *
 * FIRST VERSION: raw float64 layout; compressed encodings follow behind the
 * same API.
 *
 * @module
 */
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

/** Encodes samples [start, end) of t (ms, strictly ascending) and v into one chunk. */
export function encodeChunk(
  t: Float64Array,
  v: Float64Array,
  start = 0,
  end: number = t.length,
): Uint8Array {
  const n = end - start;
  if (n < 1 || n > MAX_CHUNK_SAMPLES || start < 0 || end > t.length || end > v.length) {
    throw new RangeError(`Cannot encode chunk: bad sample range [${start}, ${end})`);
  }
  for (let i = start + 1; i < end; i++) {
    if (!(t[i] > t[i - 1])) {
      throw new RangeError(`Cannot encode chunk: t[${i}] is not strictly ascending`);
    }
  }
  const out = new Uint8Array(22 + 16 * n + 4);
  const dv = new DataView(out.buffer);
  out[0] = CHUNK_VERSION;
  out[1] = 0;
  dv.setUint32(2, n, true);
  dv.setFloat64(6, t[start], true);
  dv.setFloat64(14, t[end - 1], true);
  let p = 22;
  for (let i = start; i < end; i++, p += 8) dv.setFloat64(p, t[i], true);
  for (let i = start; i < end; i++, p += 8) dv.setFloat64(p, v[i], true);
  dv.setUint32(p, crc32c(out, 0, 0, p), true);
  return out;
}

function check(chunk: Uint8Array): DataView {
  if (chunk.length < 26) throw new ChunkCorruptError("Cannot decode chunk: too short");
  const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const p = chunk.length - 4;
  if (crc32c(chunk, 0, 0, p) !== dv.getUint32(p, true)) {
    throw new ChunkCorruptError("Cannot decode chunk: checksum mismatch");
  }
  if (chunk[0] !== CHUNK_VERSION) {
    throw new ChunkCorruptError(`Cannot decode chunk: unknown version ${chunk[0]}`);
  }
  if (chunk.length !== 26 + 16 * dv.getUint32(2, true)) {
    throw new ChunkCorruptError("Cannot decode chunk: length does not match count");
  }
  return dv;
}

/** Header info without decoding the samples. */
export function chunkMeta(chunk: Uint8Array): { count: number; minT: number; maxT: number } {
  const dv = check(chunk);
  return {
    count: dv.getUint32(2, true),
    minT: dv.getFloat64(6, true),
    maxT: dv.getFloat64(14, true),
  };
}

/** Decodes a chunk; verifies its checksum and version, throws ChunkCorruptError on mismatch. */
export function decodeChunk(chunk: Uint8Array): { t: Float64Array; v: Float64Array } {
  const n = chunkMeta(chunk).count;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  decodeChunkInto(chunk, t, v, 0);
  return { t, v };
}

/**
 * Decodes into caller-provided arrays at `offset` and returns the sample
 * count (for merges without allocation). Throws RangeError when they are too short.
 */
export function decodeChunkInto(
  chunk: Uint8Array,
  t: Float64Array,
  v: Float64Array,
  offset: number,
): number {
  const dv = check(chunk);
  const n = dv.getUint32(2, true);
  if (offset + n > t.length || offset + n > v.length) {
    throw new RangeError(`Cannot decode chunk: ${n} samples do not fit at offset ${offset}`);
  }
  let p = 22;
  for (let i = 0; i < n; i++, p += 8) t[offset + i] = dv.getFloat64(p, true);
  for (let i = 0; i < n; i++, p += 8) v[offset + i] = dv.getFloat64(p, true);
  return n;
}
