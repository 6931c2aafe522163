/**
 * The histogram chunk: native histogram samples of one series, compressed
 * against the previous sample (layout written only when it changes, integer
 * counts as deltas). Self-contained and CRC-checked like the float chunk; its
 * first byte (0x81) can never be a float chunk's version, so a reader of the
 * wrong kind refuses it instead of misreading it. Layout: FORMAT.md,
 * "Histogram chunk". The per-sample coding is shared with the WAL's
 * histogram record ({@linkcode writeHistogramSample}).
 *
 * @module
 */
import {
  type BucketSpan,
  COUNTER_RESET_HINTS,
  CUSTOM_BUCKETS_SCHEMA,
  type NativeHistogram,
} from "../model/mod_light.ts";
import { ChunkCorruptError } from "./chunk.ts";
import { crc32c } from "./crc32c.ts";
import { ByteReader, ByteWriter, ShortReadError } from "./_byte_buf.ts";

/** First byte of a histogram chunk: kind bit 0x80 | version 1. */
export const HISTOGRAM_CHUNK_VERSION = 0x81;
/** Most samples in one histogram chunk. */
export const MAX_HISTOGRAM_CHUNK_SAMPLES = 65_535;

const F_LAYOUT = 1, F_FLOAT = 2;
/** Chunk flag: timestamps are raw f64 (not all safe integers). */
const C_RAW_TIME = 1;

function sameSpans(a: readonly BucketSpan[], b: readonly BucketSpan[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) {
    if (a[k]!.offset !== b[k]!.offset || a[k]!.length !== b[k]!.length) return false;
  }
  return true;
}

/** Same schema, zero threshold, spans and custom bounds: bucket arrays line up index by index. */
export function sameLayout(a: NativeHistogram, b: NativeHistogram): boolean {
  const ca = a.customValues ?? [], cb = b.customValues ?? [];
  return a.schema === b.schema && Object.is(a.zeroThreshold, b.zeroThreshold) &&
    sameSpans(a.positiveSpans, b.positiveSpans) && sameSpans(a.negativeSpans, b.negativeSpans) &&
    ca.length === cb.length && ca.every((v, k) => v === cb[k]);
}

function writeSpans(w: ByteWriter, spans: readonly BucketSpan[]): void {
  w.uvarint(spans.length);
  for (const s of spans) {
    w.varint(s.offset);
    w.uvarint(s.length);
  }
}

function readSpans(r: ByteReader): BucketSpan[] {
  const n = r.uvarint();
  if (n > r.remaining) throw new ShortReadError("span count past the end");
  const out: BucketSpan[] = [];
  for (let k = 0; k < n; k++) out.push({ offset: r.varint(), length: r.uvarint() });
  return out;
}

function writeBuckets(
  w: ByteWriter,
  cur: readonly number[],
  prev: readonly number[] | undefined,
  float: boolean,
): void {
  if (float) {
    for (const c of cur) w.f64(c);
    return;
  }
  let last = 0;
  for (let k = 0; k < cur.length; k++) {
    const base = prev ? prev[k]! : last;
    w.varint(cur[k]! - base);
    last = cur[k]!;
  }
}

function readBuckets(
  r: ByteReader,
  n: number,
  prev: readonly number[] | undefined,
  float: boolean,
): number[] {
  if (n > r.remaining) throw new ShortReadError("bucket count past the end");
  const out = new Array<number>(n);
  let last = 0;
  for (let k = 0; k < n; k++) {
    if (float) out[k] = r.f64();
    else out[k] = last = (prev ? prev[k]! : last) + r.varint();
  }
  return out;
}

function spanTotal(spans: readonly BucketSpan[]): number {
  let n = 0;
  for (const s of spans) n += s.length;
  return n;
}

/**
 * Writes one histogram, coded against `prev` (the previous sample of the
 * same series in the same chunk or WAL segment, or undefined for a full
 * sample). Integer counts must be safe integers (validated at ingestion).
 */
export function writeHistogramSample(
  w: ByteWriter,
  h: NativeHistogram,
  prev: NativeHistogram | undefined,
): void {
  const layout = prev === undefined || !sameLayout(h, prev);
  const float = h.float;
  // Deltas against the previous counts only when both are integer histograms of one layout.
  const deltaPrev = !layout && !float && !prev!.float ? prev : undefined;
  w.u8(
    (layout ? F_LAYOUT : 0) | (float ? F_FLOAT : 0) |
      (COUNTER_RESET_HINTS.indexOf(h.counterResetHint) << 2),
  );
  if (layout) {
    w.varint(h.schema);
    w.f64(h.zeroThreshold);
    writeSpans(w, h.positiveSpans);
    writeSpans(w, h.negativeSpans);
    if (h.schema === CUSTOM_BUCKETS_SCHEMA) {
      const cv = h.customValues ?? [];
      w.uvarint(cv.length);
      for (const v of cv) w.f64(v);
    }
  }
  if (float) {
    w.f64(h.count);
    w.f64(h.zeroCount);
  } else {
    w.varint(h.count - (deltaPrev?.count ?? 0));
    w.varint(h.zeroCount - (deltaPrev?.zeroCount ?? 0));
  }
  w.f64(h.sum);
  writeBuckets(w, h.positiveBuckets, deltaPrev?.positiveBuckets, float);
  writeBuckets(w, h.negativeBuckets, deltaPrev?.negativeBuckets, float);
}

/** Reads what {@linkcode writeHistogramSample} wrote, given the same `prev`. */
export function readHistogramSample(
  r: ByteReader,
  prev: NativeHistogram | undefined,
): NativeHistogram {
  const flags = r.u8();
  const layout = (flags & F_LAYOUT) !== 0, float = (flags & F_FLOAT) !== 0;
  const hint = COUNTER_RESET_HINTS[flags >>> 2];
  if (hint === undefined) throw new ShortReadError(`bad histogram sample flags ${flags}`);
  if (!layout && prev === undefined) {
    throw new ShortReadError("histogram sample refers to a missing previous layout");
  }
  let schema: number, zeroThreshold: number;
  let positiveSpans: readonly BucketSpan[], negativeSpans: readonly BucketSpan[];
  let customValues: readonly number[] | undefined;
  if (layout) {
    schema = r.varint();
    zeroThreshold = r.f64();
    positiveSpans = readSpans(r);
    negativeSpans = readSpans(r);
    if (schema === CUSTOM_BUCKETS_SCHEMA) {
      const n = r.uvarint();
      if (n * 8 > r.remaining) throw new ShortReadError("custom values past the end");
      const cv: number[] = [];
      for (let k = 0; k < n; k++) cv.push(r.f64());
      customValues = cv;
    }
  } else {
    ({ schema, zeroThreshold, positiveSpans, negativeSpans, customValues } = prev!);
  }
  const deltaPrev = !layout && !float && !prev!.float ? prev : undefined;
  let count: number, zeroCount: number;
  if (float) {
    count = r.f64();
    zeroCount = r.f64();
  } else {
    count = (deltaPrev?.count ?? 0) + r.varint();
    zeroCount = (deltaPrev?.zeroCount ?? 0) + r.varint();
  }
  const sum = r.f64();
  const positiveBuckets = readBuckets(
    r,
    spanTotal(positiveSpans),
    deltaPrev?.positiveBuckets,
    float,
  );
  const negativeBuckets = readBuckets(
    r,
    spanTotal(negativeSpans),
    deltaPrev?.negativeBuckets,
    float,
  );
  return {
    schema,
    zeroThreshold,
    zeroCount,
    count,
    sum,
    positiveSpans,
    positiveBuckets,
    negativeSpans,
    negativeBuckets,
    ...(customValues !== undefined ? { customValues } : {}),
    float,
    counterResetHint: hint,
  };
}

/** Histogram samples of one series: ascending timestamps and their values. */
export interface HistogramSamples {
  readonly t: Float64Array;
  readonly h: NativeHistogram[];
}

/** Encodes 1...65,535 histogram samples (strictly ascending `t`) into a chunk. */
export function encodeHistogramChunk(
  t: ArrayLike<number>,
  h: readonly NativeHistogram[],
): Uint8Array {
  const n = t.length;
  if (n === 0 || n > MAX_HISTOGRAM_CHUNK_SAMPLES || h.length !== n) {
    throw new RangeError(`BUG: histogram chunk of ${n} samples (${h.length} values)`);
  }
  let raw = false;
  for (let i = 0; i < n; i++) {
    if (!Number.isSafeInteger(t[i]!)) raw = true;
    if (i > 0 && !(t[i]! > t[i - 1]!)) throw new RangeError("BUG: timestamps not ascending");
  }
  const w = new ByteWriter(32 + 24 * n);
  w.u8(HISTOGRAM_CHUNK_VERSION);
  w.u8(raw ? C_RAW_TIME : 0);
  w.uvarint(n);
  if (raw) {
    for (let i = 0; i < n; i++) w.f64(t[i]!);
  } else {
    // minT, maxT - minT, then delta-of-delta of the middle timestamps.
    w.varint(t[0]!);
    w.uvarint(t[n - 1]! - t[0]!);
    let lastD = 0;
    for (let i = 1; i < n - 1; i++) {
      const d = t[i]! - t[i - 1]!;
      w.varint(d - lastD);
      lastD = d;
    }
  }
  let prev: NativeHistogram | undefined;
  for (const x of h) {
    writeHistogramSample(w, x, prev);
    prev = x;
  }
  const body = w.view();
  const crc = crc32c(body);
  w.u32(crc);
  return w.copy();
}

function header(c: Uint8Array): { r: ByteReader; n: number; raw: boolean } {
  if (c.length < 7) throw new ChunkCorruptError("histogram chunk too short");
  const stored = (c[c.length - 4]! | (c[c.length - 3]! << 8) | (c[c.length - 2]! << 16) |
    (c[c.length - 1]! << 24)) >>> 0;
  if (crc32c(c, 0, 0, c.length - 4) !== stored) {
    throw new ChunkCorruptError("histogram chunk CRC mismatch");
  }
  if (c[0] !== HISTOGRAM_CHUNK_VERSION) {
    throw new ChunkCorruptError(`unknown histogram chunk version 0x${c[0]!.toString(16)}`);
  }
  const r = new ByteReader(c, 1, c.length - 4);
  const flags = r.u8();
  const n = r.uvarint();
  if (n === 0 || n > MAX_HISTOGRAM_CHUNK_SAMPLES) {
    throw new ChunkCorruptError(`histogram chunk count ${n} out of range`);
  }
  return { r, n, raw: (flags & C_RAW_TIME) !== 0 };
}

/** Count and time range of a histogram chunk, without decoding its samples. */
export function histogramChunkMeta(c: Uint8Array): { count: number; minT: number; maxT: number } {
  try {
    const { r, n, raw } = header(c);
    if (raw) {
      const minT = r.f64();
      r.pos += 8 * (n - 2);
      return { count: n, minT, maxT: n === 1 ? minT : r.f64() };
    }
    const minT = r.varint();
    return { count: n, minT, maxT: minT + r.uvarint() };
  } catch (e) {
    if (e instanceof ShortReadError) throw new ChunkCorruptError(e.message);
    throw e;
  }
}

/** Decodes a histogram chunk; throws {@linkcode ChunkCorruptError} on damage. */
export function decodeHistogramChunk(c: Uint8Array): HistogramSamples {
  try {
    const { r, n, raw } = header(c);
    const t = new Float64Array(n);
    if (raw) {
      for (let i = 0; i < n; i++) t[i] = r.f64();
    } else {
      t[0] = r.varint();
      const maxT = t[0] + r.uvarint();
      let lastD = 0;
      for (let i = 1; i < n - 1; i++) {
        lastD += r.varint();
        t[i] = t[i - 1]! + lastD;
      }
      if (n > 1) t[n - 1] = maxT;
    }
    const h: NativeHistogram[] = [];
    let prev: NativeHistogram | undefined;
    for (let i = 0; i < n; i++) h.push(prev = readHistogramSample(r, prev));
    if (r.remaining !== 0) throw new ChunkCorruptError("histogram chunk has trailing bytes");
    return { t, h };
  } catch (e) {
    if (e instanceof ShortReadError) throw new ChunkCorruptError(e.message);
    throw e;
  }
}
