/**
 * Remote write 1.0 encoder: builds a WriteRequest protobuf and compresses it
 * with snappy, for remote write out and for tests and benchmarks. The
 * decoder is {@linkcode parseRemoteWrite} (in remote_write.ts).
 *
 * @module
 */
import type { Label, MetricType, NativeHistogram } from "../model/mod.ts";
import { encodeHistogram } from "./remote_write_histogram.ts";
import { FIXED64, int64Size, LEN, ProtoWriter, utf8Length, uvarintSize, VARINT } from "./_proto.ts";
import { snappyEncode } from "./snappy.ts";

/** One series of a write request; `t` (ms) and `v` have the same length. */
export interface WriteSeries {
  /** Labels including `__name__`; Prometheus sends them sorted by name. */
  readonly labels: readonly Label[];
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
  /** Native histogram samples, sent after the float samples. */
  readonly histograms?: readonly { readonly t: number; readonly h: NativeHistogram }[];
}

/** Metadata of one metric family. */
export interface WriteMetadata {
  readonly family: string;
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string;
}

/** A remote write request. */
export interface WriteRequestInput {
  readonly series: readonly WriteSeries[];
  readonly metadata?: readonly WriteMetadata[];
}

const TYPE_NUMBERS: Record<MetricType, number> = {
  untyped: 0,
  counter: 1,
  gauge: 2,
  histogram: 3,
  summary: 5,
};

function stringFieldSize(s: string): number {
  const n = utf8Length(s);
  return 1 + uvarintSize(n) + n;
}

/** Encodes a WriteRequest as protobuf bytes (uncompressed). */
export function encodeWriteRequest(req: WriteRequestInput): Uint8Array {
  const w = new ProtoWriter(4096);
  for (const s of req.series) {
    if (s.t.length !== s.v.length) throw new Error("BUG: series t and v differ in length");
    let size = 0;
    const hists = (s.histograms ?? []).map((x) => encodeHistogram(x.t, x.h));
    for (const b of hists) size += 1 + uvarintSize(b.length) + b.length;
    for (const l of s.labels) {
      const ls = stringFieldSize(l.name) + stringFieldSize(l.value);
      size += 1 + uvarintSize(ls) + ls;
    }
    for (let i = 0; i < s.t.length; i++) {
      const ss = 9 + 1 + int64Size(s.t[i]!);
      size += 1 + uvarintSize(ss) + ss;
    }
    w.tag(1, LEN);
    w.uvarint(size);
    for (const l of s.labels) {
      w.tag(1, LEN);
      w.uvarint(stringFieldSize(l.name) + stringFieldSize(l.value));
      w.string(1, l.name);
      w.string(2, l.value);
    }
    for (let i = 0; i < s.t.length; i++) {
      const t = s.t[i]!;
      w.tag(2, LEN);
      w.uvarint(9 + 1 + int64Size(t));
      w.tag(1, FIXED64);
      w.double(s.v[i]!);
      w.tag(2, VARINT);
      w.int64(t);
    }
    for (const b of hists) w.message(4, b);
  }
  for (const m of req.metadata ?? []) {
    const type = TYPE_NUMBERS[m.type];
    const size = (type === 0 ? 0 : 1 + uvarintSize(type)) + stringFieldSize(m.family) +
      (m.help === "" ? 0 : stringFieldSize(m.help)) + (m.unit === "" ? 0 : stringFieldSize(m.unit));
    w.tag(3, LEN);
    w.uvarint(size);
    if (type !== 0) {
      w.tag(1, VARINT);
      w.uvarint(type);
    }
    w.string(2, m.family);
    if (m.help !== "") w.string(4, m.help);
    if (m.unit !== "") w.string(5, m.unit);
  }
  return w.finish();
}

/** Encodes and snappy-compresses a WriteRequest: a ready remote write body. */
export function encodeRemoteWriteBody(req: WriteRequestInput): Uint8Array {
  return snappyEncode(encodeWriteRequest(req));
}
