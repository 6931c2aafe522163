import assert from "node:assert/strict";
import { type NativeHistogram, SampleBatch } from "../model/mod.ts";
import { IngestPipeline } from "./pipeline.ts";
import { parseRemoteWrite } from "./remote_write.ts";
import { encodeRemoteWriteBody, encodeWriteRequest } from "./remote_write_codec.ts";
import { snappyDecode } from "./snappy.ts";
import { FIXED64, LEN, ProtoWriter, VARINT } from "./_proto.ts";
import { RecordingAppender } from "./_test_util.ts";

const NAME = [{ name: "__name__", value: "http_request_duration_seconds" }];

/** An integer histogram: 5 observations, buckets 0 (2), 1 (1), 3 (1) and one in the zero bucket. */
const INT_H: NativeHistogram = {
  schema: 0,
  zeroThreshold: 0.001,
  zeroCount: 1,
  count: 5,
  sum: 7.5,
  positiveSpans: [{ offset: 0, length: 2 }, { offset: 1, length: 1 }],
  positiveBuckets: [2, 1, 1],
  negativeSpans: [],
  negativeBuckets: [],
  float: false,
  counterResetHint: "unknown",
};

const FLOAT_H: NativeHistogram = {
  schema: -2,
  zeroThreshold: 0,
  zeroCount: 0.5,
  count: 4.25,
  sum: -3,
  positiveSpans: [{ offset: -2, length: 1 }],
  positiveBuckets: [1.25],
  negativeSpans: [{ offset: 3, length: 2 }],
  negativeBuckets: [1.5, 1],
  float: true,
  counterResetHint: "gauge",
};

const NHCB: NativeHistogram = {
  schema: -53,
  zeroThreshold: 0,
  zeroCount: 0,
  count: 6,
  sum: 12,
  positiveSpans: [{ offset: 0, length: 3 }],
  positiveBuckets: [1, 4, 1],
  negativeSpans: [],
  negativeBuckets: [],
  customValues: [0.5, 1, 5],
  float: false,
  counterResetHint: "not_reset",
};

function decoded(h: readonly NativeHistogram[]) {
  const body = encodeRemoteWriteBody({
    series: [{
      labels: NAME,
      t: [],
      v: [],
      histograms: h.map((h, k) => ({ t: 1000 * (k + 1), h })),
    }],
  });
  return parseRemoteWrite(snappyDecode(body));
}

Deno.test("remote write histograms round-trip: integer, float and custom buckets", () => {
  const rows = decoded([INT_H, FLOAT_H, NHCB]);
  assert.deepEqual(rows.errors, []);
  assert.equal(rows.sampleCount, 3);
  assert.deepEqual([...rows.sampleT.subarray(0, 3)], [1000, 2000, 3000]);
  assert.deepEqual(rows.sampleH?.get(0), INT_H);
  assert.deepEqual(rows.sampleH?.get(1), FLOAT_H);
  assert.deepEqual(rows.sampleH?.get(2), NHCB);
});

Deno.test("remote write histogram decodes a hand-encoded message (unpacked deltas, zigzag)", () => {
  // Histogram{count_int: 3, sum: 1.5, schema: -1 (zigzag 1), zero_count_int: 0,
  // positive_spans: [{offset: -1 (zigzag 1), length: 2}], positive_deltas: 2, -1 (unpacked),
  // timestamp: 42}, built field by field from the .proto.
  const h = new ProtoWriter();
  h.tag(1, VARINT), h.uvarint(3);
  h.tag(3, FIXED64), h.double(1.5);
  h.tag(4, VARINT), h.uvarint(1);
  h.tag(11, LEN), h.uvarint(4), h.tag(1, VARINT), h.uvarint(1), h.tag(2, VARINT), h.uvarint(2);
  h.tag(12, VARINT), h.uvarint(4); // +2
  h.tag(12, VARINT), h.uvarint(1); // -1
  h.tag(15, VARINT), h.uvarint(42);
  const hb = h.finish().slice();
  const ts = new ProtoWriter();
  ts.tag(1, LEN), ts.uvarint(13), ts.string(1, "__name__"), ts.string(2, "h");
  ts.message(4, hb);
  const tsb = ts.finish().slice();
  const req = new ProtoWriter();
  req.message(1, tsb);
  const rows = parseRemoteWrite(req.finish());
  assert.deepEqual(rows.errors, []);
  assert.equal(rows.seriesName[0], "h");
  assert.equal(rows.sampleT[0], 42);
  assert.deepEqual(rows.sampleH?.get(0), {
    schema: -1,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 3,
    sum: 1.5,
    positiveSpans: [{ offset: -1, length: 2 }],
    positiveBuckets: [2, 1],
    negativeSpans: [],
    negativeBuckets: [],
    float: false,
    counterResetHint: "unknown",
  });
});

Deno.test("an invalid histogram is refused alone, naming it and why", () => {
  const cases: [Partial<NativeHistogram>, RegExp][] = [
    [{ schema: 9 }, /schema 9 is out of range/],
    [{ count: 4 }, /count 4 does not match the 5 observations/],
    [{ positiveBuckets: [2, 1] }, /positive spans cover 3 buckets but 2 bucket counts/],
    [{ positiveBuckets: [2, -1, 4] }, /positive bucket 1 has count -1/],
    [{ positiveSpans: [{ offset: 0, length: 2 }, { offset: -1, length: 1 }] }, /negative offset/],
  ];
  for (const [patch, want] of cases) {
    const rows = decoded([INT_H, { ...INT_H, ...patch }]);
    assert.equal(rows.sampleCount, 1, JSON.stringify(patch));
    assert.equal(rows.invalidSamples, 1);
    assert.equal(rows.errors.length, 1);
    assert.equal(rows.errors[0]!.field, "timeseries[0].histograms[1]");
    assert.match(rows.errors[0]!.message, want);
  }
  const nhcb = decoded([{ ...NHCB, customValues: [1, 0.5, 5] }]);
  assert.match(nhcb.errors[0]!.message, /custom_values must be strictly increasing/);
  const past = decoded([{ ...NHCB, positiveSpans: [{ offset: 2, length: 3 }] }]);
  assert.match(past.errors[0]!.message, /bucket 4, past the 4 custom buckets/);
});

Deno.test("histograms and floats of one series go through the pipeline to the appender", async () => {
  const appender = new RecordingAppender();
  // What the appender saw (the pipeline reuses a batch once its append has settled).
  const batches: {
    length: number;
    h: (NativeHistogram | undefined)[];
    t: number[];
    v: number[];
  }[] = [];
  const inner = appender.append.bind(appender);
  appender.append = (b: SampleBatch) => {
    const idx = Array.from({ length: b.length }, (_, i) => i);
    batches.push({
      length: b.length,
      h: idx.map((i) => b.h(i)),
      t: idx.map((i) => b.t(i)),
      v: idx.map((i) => b.v(i)),
    });
    return inner(b);
  };
  const pipeline = new IngestPipeline({ appender });
  const rows = parseRemoteWrite(encodeWriteRequest({
    series: [{ labels: NAME, t: [500], v: [2], histograms: [{ t: 1000, h: NHCB }] }],
  }));
  const res = await pipeline.ingest("remote_write", rows);
  assert.equal(res.accepted, 2);
  const b = batches[0]!;
  assert.equal(b.length, 2);
  assert.equal(b.h[0], undefined);
  assert.equal(b.v[0], 2);
  assert.deepEqual(b.h[1], NHCB);
  assert.equal(b.t[1], 1000);
});
