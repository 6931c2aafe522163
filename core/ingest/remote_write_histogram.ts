/**
 * The remote write 1.0 `Histogram` message (native histograms), decoded and
 * encoded:
 *
 * ```proto
 * message Histogram {
 *   oneof count { uint64 count_int = 1; double count_float = 2; }
 *   double sum = 3;
 *   sint32 schema = 4;
 *   double zero_threshold = 5;
 *   oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
 *   repeated BucketSpan negative_spans = 8;
 *   repeated sint64 negative_deltas = 9;   // integer histograms: count deltas
 *   repeated double negative_counts = 10;  // float histograms: absolute counts
 *   repeated BucketSpan positive_spans = 11;
 *   repeated sint64 positive_deltas = 12;
 *   repeated double positive_counts = 13;
 *   ResetHint reset_hint = 14;             // UNKNOWN, YES, NO, GAUGE
 *   int64 timestamp = 15;
 *   repeated double custom_values = 16;
 * }
 * message BucketSpan { sint32 offset = 1; uint32 length = 2; }
 * ```
 *
 * @module
 */
import {
  type BucketSpan,
  COUNTER_RESET_HINTS,
  countsFromDeltas,
  deltasFromCounts,
  type NativeHistogram,
} from "../model/mod.ts";
import {
  FIXED64,
  LEN,
  ProtoError,
  type ProtoReader,
  ProtoWriter,
  unzigzag,
  uvarintSize,
  VARINT,
  zigzag,
} from "./_proto.ts";

function readSpan(r: ProtoReader): BucketSpan {
  const s = r.len();
  const e = r.lenEnd;
  const end = r.end;
  r.pos = s;
  r.end = e;
  let offset = 0, length = 0;
  while (r.pos < e) {
    const tag = r.uint32();
    const f = tag >>> 3, w = tag & 7;
    if (f === 1 && w === VARINT) offset = unzigzag(r.int64());
    else if (f === 2 && w === VARINT) length = r.int64();
    else r.skip(w);
  }
  r.end = end;
  return { offset, length };
}

/** Reads a repeated sint64 (packed or not) into `out`. */
function readSint64s(r: ProtoReader, wire: number, out: number[]): void {
  if (wire === VARINT) {
    out.push(unzigzag(r.int64()));
    return;
  }
  if (wire !== LEN) throw new ProtoError("bad wire type for a repeated sint64");
  const s = r.len();
  const e = r.lenEnd, end = r.end;
  r.pos = s;
  r.end = e;
  while (r.pos < e) out.push(unzigzag(r.int64()));
  r.end = end;
}

/** Reads a repeated double (packed or not) into `out`. */
function readDoubles(r: ProtoReader, wire: number, out: number[]): void {
  if (wire === FIXED64) {
    out.push(r.double());
    return;
  }
  if (wire !== LEN) throw new ProtoError("bad wire type for a repeated double");
  const s = r.len();
  const e = r.lenEnd;
  if ((e - s) % 8 !== 0) throw new ProtoError("packed doubles are not a multiple of 8 bytes");
  const end = r.end;
  r.pos = s;
  r.end = e;
  while (r.pos < e) out.push(r.double());
  r.end = end;
}

/** A decoded Histogram message: its timestamp and value. */
export interface WireHistogram {
  readonly t: number;
  readonly h: NativeHistogram;
}

/**
 * Decodes the Histogram message in [r.pos, r.end) (the caller has set `end`
 * to the message's end). Throws {@linkcode ProtoError} on bad wire data; the
 * value is not validated (see `checkHistogram`).
 */
export function decodeHistogram(r: ProtoReader): WireHistogram {
  const e = r.end;
  let countInt = -1, countFloat = NaN, sum = 0, schema = 0, zeroThreshold = 0;
  let zeroInt = -1, zeroFloat = NaN, hint = 0, t = 0;
  let float = false;
  const negSpans: BucketSpan[] = [], posSpans: BucketSpan[] = [];
  const negDeltas: number[] = [], posDeltas: number[] = [];
  const negCounts: number[] = [], posCounts: number[] = [];
  const custom: number[] = [];
  while (r.pos < e) {
    const tag = r.uint32();
    const f = tag >>> 3, w = tag & 7;
    switch (f) {
      case 1:
        if (w !== VARINT) throw new ProtoError("bad wire type for count_int");
        countInt = r.int64();
        break;
      case 2:
        if (w !== FIXED64) throw new ProtoError("bad wire type for count_float");
        countFloat = r.double();
        float = true;
        break;
      case 3:
        if (w !== FIXED64) throw new ProtoError("bad wire type for sum");
        sum = r.double();
        break;
      case 4:
        if (w !== VARINT) throw new ProtoError("bad wire type for schema");
        schema = unzigzag(r.int64());
        break;
      case 5:
        if (w !== FIXED64) throw new ProtoError("bad wire type for zero_threshold");
        zeroThreshold = r.double();
        break;
      case 6:
        if (w !== VARINT) throw new ProtoError("bad wire type for zero_count_int");
        zeroInt = r.int64();
        break;
      case 7:
        if (w !== FIXED64) throw new ProtoError("bad wire type for zero_count_float");
        zeroFloat = r.double();
        break;
      case 8:
      case 11:
        if (w !== LEN) throw new ProtoError("bad wire type for a bucket span");
        (f === 8 ? negSpans : posSpans).push(readSpan(r));
        r.pos = r.lenEnd;
        break;
      case 9:
        readSint64s(r, w, negDeltas);
        break;
      case 12:
        readSint64s(r, w, posDeltas);
        break;
      case 10:
        readDoubles(r, w, negCounts);
        break;
      case 13:
        readDoubles(r, w, posCounts);
        break;
      case 14:
        if (w !== VARINT) throw new ProtoError("bad wire type for reset_hint");
        hint = r.int64();
        break;
      case 15:
        if (w !== VARINT) throw new ProtoError("bad wire type for timestamp");
        t = r.int64();
        break;
      case 16:
        readDoubles(r, w, custom);
        break;
      default:
        r.skip(w);
    }
  }
  if (r.pos !== e) throw new ProtoError("histogram runs past its message");
  const h: NativeHistogram = {
    schema,
    zeroThreshold,
    zeroCount: float ? (Number.isNaN(zeroFloat) ? 0 : zeroFloat) : Math.max(0, zeroInt),
    count: float ? countFloat : Math.max(0, countInt),
    sum,
    positiveSpans: posSpans,
    positiveBuckets: float ? posCounts : countsFromDeltas(posDeltas),
    negativeSpans: negSpans,
    negativeBuckets: float ? negCounts : countsFromDeltas(negDeltas),
    ...(custom.length > 0 ? { customValues: custom } : {}),
    float,
    counterResetHint: COUNTER_RESET_HINTS[hint] ?? "unknown",
  };
  return { t, h };
}

/**
 * Writes a count of a histogram message: a uint64 in field `intField`, or a
 * double in `floatField` for a float histogram (the two sides of a `oneof`).
 */
export function writeCount(
  w: ProtoWriter,
  intField: number,
  floatField: number,
  v: number,
  float: boolean,
): void {
  if (float) {
    w.tag(floatField, FIXED64);
    w.double(v);
  } else {
    w.tag(intField, VARINT);
    w.uvarint(v);
  }
}

/** Writes each span as a BucketSpan message (offset 1 sint32, length 2 uint32) in field `field`. */
export function writeSpans(w: ProtoWriter, field: number, spans: readonly BucketSpan[]): void {
  for (const s of spans) {
    const off = zigzag(s.offset);
    w.tag(field, LEN);
    w.uvarint((off === 0 ? 0 : 1 + uvarintSize(off)) + 1 + uvarintSize(s.length));
    if (off !== 0) {
      w.tag(1, VARINT);
      w.uvarint(off);
    }
    w.tag(2, VARINT);
    w.uvarint(s.length);
  }
}

/** Writes a packed repeated field of doubles, or of sint64 when `double` is false (none when empty). */
function writePacked(
  w: ProtoWriter,
  field: number,
  values: readonly number[],
  double: boolean,
): void {
  if (values.length === 0) return;
  w.tag(field, LEN);
  if (double) {
    w.uvarint(values.length * 8);
    for (const v of values) w.double(v);
    return;
  }
  let size = 0;
  for (const v of values) size += uvarintSize(zigzag(v));
  w.uvarint(size);
  for (const v of values) w.uvarint(zigzag(v));
}

/**
 * Writes the bucket counts of one side: packed sint64 deltas in `deltaField`,
 * or packed doubles in `countField` for a float histogram.
 */
export function writeBuckets(
  w: ProtoWriter,
  deltaField: number,
  countField: number,
  counts: readonly number[],
  float: boolean,
): void {
  if (float) writePacked(w, countField, counts, true);
  else writePacked(w, deltaField, deltasFromCounts(counts), false);
}

/** Encodes a Histogram message body (without its tag and length). */
export function encodeHistogram(t: number, h: NativeHistogram): Uint8Array {
  const w = new ProtoWriter(64 + 16 * (h.positiveBuckets.length + h.negativeBuckets.length));
  writeCount(w, 1, 2, h.count, h.float);
  w.tag(3, FIXED64);
  w.double(h.sum);
  w.tag(4, VARINT);
  w.uvarint(zigzag(h.schema));
  w.tag(5, FIXED64);
  w.double(h.zeroThreshold);
  writeCount(w, 6, 7, h.zeroCount, h.float);
  writeSpans(w, 8, h.negativeSpans);
  writeBuckets(w, 9, 10, h.negativeBuckets, h.float);
  writeSpans(w, 11, h.positiveSpans);
  writeBuckets(w, 12, 13, h.positiveBuckets, h.float);
  const hint = COUNTER_RESET_HINTS.indexOf(h.counterResetHint);
  if (hint > 0) {
    w.tag(14, VARINT);
    w.uvarint(hint);
  }
  w.tag(15, VARINT);
  w.int64(t);
  if (h.customValues && h.customValues.length > 0) writePacked(w, 16, h.customValues, true);
  return w.finish();
}
