/**
 * The WAL's histogram samples record (type 5): native histogram samples,
 * each written in full (no state shared with other records), so a damaged
 * stretch never spoils a later histogram record. Layout: FORMAT.md, "WAL".
 *
 * @module
 */
import type { NativeHistogram } from "../model/mod_light.ts";
import { readHistogramSample, writeHistogramSample } from "./histogram_chunk.ts";
import { type ByteReader, ByteWriter } from "./_byte_buf.ts";

/** WAL record type of histogram samples. */
export const REC_HISTOGRAMS = 5;

/** Histogram samples to log: ref, timestamp and value of each. */
export interface HistogramRecordInput {
  readonly refs: ArrayLike<number>;
  readonly t: ArrayLike<number>;
  readonly h: readonly NativeHistogram[];
}

/** Encodes a type 5 record (type byte included). */
export function encodeHistogramRecord(s: HistogramRecordInput): Uint8Array {
  const n = s.h.length;
  let raw = false;
  for (let i = 0; i < n; i++) if (!Number.isSafeInteger(s.t[i]!)) raw = true;
  const w = new ByteWriter(16 + 48 * n);
  w.u8(REC_HISTOGRAMS);
  w.u8(raw ? 1 : 0);
  w.uvarint(n);
  for (let i = 0; i < n; i++) {
    w.uvarint(s.refs[i]!);
    if (raw) w.f64(s.t[i]!);
    else w.varint(s.t[i]!);
    writeHistogramSample(w, s.h[i]!, undefined);
  }
  return w.copy();
}

/** Decodes a type 5 record's payload (after the type byte), calling `each` per sample. */
export function decodeHistogramRecord(
  r: ByteReader,
  each: (ref: number, t: number, h: NativeHistogram) => void,
): void {
  const raw = (r.u8() & 1) !== 0;
  const n = r.uvarint();
  for (let i = 0; i < n; i++) {
    const ref = r.uvarint();
    const t = raw ? r.f64() : r.varint();
    each(ref, t, readHistogramSample(r, undefined));
  }
}
