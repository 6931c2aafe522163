/**
 * The Prometheus protobuf exposition format (`io.prometheus.client.MetricFamily`,
 * length-delimited, as client_golang serves and Prometheus scrapes it): the
 * only Prometheus exposition format that carries native histograms. Used by
 * `/federate`. Field numbers are those of client_model's `metrics.proto`.
 *
 * @module
 */
import { CUSTOM_BUCKETS_SCHEMA, type Label, type NativeHistogram } from "../model/mod.ts";
import { FIXED64, ProtoWriter, VARINT, zigzag } from "./_proto.ts";
import { writeBuckets, writeCount, writeSpans } from "./remote_write_histogram.ts";

/** Content type of the length-delimited protobuf exposition. */
export const PROTOBUF_EXPOSITION_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/** The type of a family, as `MetricType` of `metrics.proto` names them. */
export type ExpositionType = "counter" | "gauge" | "untyped" | "histogram" | "gauge_histogram";

const TYPE_NUMBER: Record<ExpositionType, number> = {
  counter: 0,
  gauge: 1,
  untyped: 3,
  histogram: 4,
  gauge_histogram: 5,
};

/** One metric (series sample) of a family: a float value or a native histogram. */
export interface ExpositionMetric {
  /** Labels without `__name__`. */
  readonly labels: readonly Label[];
  readonly timestampMs: number;
  readonly value?: number;
  readonly histogram?: NativeHistogram;
}

/** A metric family to encode. */
export interface ExpositionFamily {
  readonly name: string;
  readonly type: ExpositionType;
  readonly metrics: readonly ExpositionMetric[];
}

/**
 * The cumulative count at each custom bound of a custom-bucket histogram
 * (schema -53), as a classic histogram's `_bucket{le}` series count; the
 * +Inf bucket is the histogram's count.
 */
export function cumulativeCustomBuckets(h: NativeHistogram): number[] {
  const bounds = h.customValues ?? [];
  const counts = new Array<number>(bounds.length).fill(0);
  let idx = -1, k = 0;
  for (const s of h.positiveSpans) {
    idx += s.offset;
    for (let j = 0; j < s.length; j++, k++) {
      if (++idx < bounds.length) counts[idx] = h.positiveBuckets[k]!;
    }
  }
  let cum = 0;
  return counts.map((c) => cum += c);
}

/**
 * The Histogram message of a native histogram: exponential buckets as
 * spans with deltas (integer) or counts (float); custom buckets (schema -53)
 * as classic cumulative buckets (upper bounds, no +Inf bucket), as
 * Prometheus federates them. An exponential histogram without any span or
 * zero bucket gets an empty span, or a scraper would take it for a classic
 * one.
 */
function encodeHistogramMessage(h: NativeHistogram): Uint8Array {
  const w = new ProtoWriter(64 + 12 * (h.positiveBuckets.length + h.negativeBuckets.length));
  writeCount(w, 1, 4, h.count, h.float);
  w.tag(2, FIXED64);
  w.double(h.sum);
  if (h.schema === CUSTOM_BUCKETS_SCHEMA) {
    const cv = h.customValues ?? [];
    const cum = cumulativeCustomBuckets(h);
    for (let i = 0; i < cv.length; i++) {
      const b = new ProtoWriter(24);
      writeCount(b, 1, 4, cum[i]!, h.float);
      b.tag(2, FIXED64);
      b.double(cv[i]!);
      w.message(3, b.finish());
    }
    return w.finish();
  }
  w.tag(5, VARINT);
  w.uvarint(zigzag(h.schema));
  w.tag(6, FIXED64);
  w.double(h.zeroThreshold);
  writeCount(w, 7, 8, h.zeroCount, h.float);
  writeSpans(w, 9, h.negativeSpans);
  writeBuckets(w, 10, 11, h.negativeBuckets, h.float);
  const empty = h.positiveSpans.length === 0 && h.negativeSpans.length === 0 &&
    h.zeroThreshold === 0 && h.zeroCount === 0;
  writeSpans(w, 12, empty ? [{ offset: 0, length: 0 }] : h.positiveSpans);
  writeBuckets(w, 13, 14, h.positiveBuckets, h.float);
  return w.finish();
}

function encodeMetric(m: ExpositionMetric, type: ExpositionType): Uint8Array {
  const w = new ProtoWriter(128);
  for (const l of m.labels) {
    const p = new ProtoWriter(16 + l.name.length + l.value.length);
    p.string(1, l.name);
    p.string(2, l.value);
    w.message(1, p.finish());
  }
  if (m.histogram) w.message(7, encodeHistogramMessage(m.histogram));
  else {
    const v = new ProtoWriter(16);
    v.tag(1, FIXED64);
    v.double(m.value ?? NaN);
    // Gauge 2, Counter 3, Untyped 5.
    w.message(type === "gauge" ? 2 : type === "counter" ? 3 : 5, v.finish());
  }
  w.tag(6, VARINT);
  w.int64(Math.round(m.timestampMs));
  return w.finish();
}

/** Encodes one family, length-delimited (a varint of its size first). */
export function encodeMetricFamily(f: ExpositionFamily): Uint8Array {
  const w = new ProtoWriter(256);
  w.string(1, f.name);
  w.tag(3, VARINT);
  w.uvarint(TYPE_NUMBER[f.type]);
  for (const m of f.metrics) w.message(4, encodeMetric(m, f.type));
  const body = w.finish();
  const out = new ProtoWriter(body.length + 8);
  out.delimited(body);
  return out.finish();
}
