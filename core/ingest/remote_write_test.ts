import assert from "node:assert/strict";
import { isStaleNaN, STALE_NAN } from "../model/mod.ts";
import { parseRemoteWrite } from "./remote_write.ts";
import {
  encodeRemoteWriteBody,
  encodeWriteRequest,
  type WriteSeries,
} from "./remote_write_codec.ts";
import { BufferPool } from "../buffer_pool.ts";
import { releaseIdleMemory } from "../idle_memory.ts";
import { snappyDecode } from "./snappy.ts";
import { FIXED64, LEN, ProtoReader, ProtoWriter, VARINT } from "./_proto.ts";
import { renderRows, seededRandom } from "./_test_util.ts";

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** `up{} 1 @1000` encoded by hand from the .proto definitions. */
const UP_VECTOR = [
  0x0a,
  0x1e, // timeseries, 30 bytes
  0x0a,
  0x0e, // label, 14 bytes
  0x0a,
  0x08,
  ...ascii("__name__"),
  0x12,
  0x02,
  ...ascii("up"),
  0x12,
  0x0c, // sample, 12 bytes
  0x09,
  0,
  0,
  0,
  0,
  0,
  0,
  0xf0,
  0x3f, // value 1.0
  0x10,
  0xe8,
  0x07, // timestamp 1000
];

function series(labels: Record<string, string>, t: number[], v: number[]): WriteSeries {
  return { labels: Object.entries(labels).map(([name, value]) => ({ name, value })), t, v };
}

Deno.test("encodeWriteRequest() matches a hand-encoded WriteRequest", () => {
  const got = encodeWriteRequest({ series: [series({ __name__: "up" }, [1000], [1])] });
  assert.deepEqual([...got], UP_VECTOR);
  assert.deepEqual(renderRows(parseRemoteWrite(new Uint8Array(UP_VECTOR))), ["up 1 @1000"]);
});

Deno.test("parseRemoteWrite() round-trips series, samples and metadata through snappy", () => {
  const input = [
    series({ __name__: "http_requests_total", code: "200", method: "GET" }, [1, 2, 3], [
      10,
      11,
      12,
    ]),
    series({ __name__: "temp", room: "küche ☃ 😀" }, [-1500, 0], [-0.5, 1e300]),
    series({ __name__: "big_ts" }, [2 ** 52, -(2 ** 52)], [Infinity, -Infinity]),
  ];
  const body = encodeRemoteWriteBody({
    series: input,
    metadata: [
      { family: "http_requests", type: "counter", help: "Requests.", unit: "" },
      { family: "temp", type: "gauge", help: "", unit: "celsius" },
      { family: "x", type: "untyped", help: "", unit: "" },
    ],
  });
  const rows = parseRemoteWrite(snappyDecode(body));
  assert.deepEqual(rows.errors, []);
  assert.deepEqual(renderRows(rows), [
    'http_requests_total{code="200",method="GET"} 10 @1',
    'http_requests_total{code="200",method="GET"} 11 @2',
    'http_requests_total{code="200",method="GET"} 12 @3',
    'temp{room="küche ☃ 😀"} -0.5 @-1500',
    'temp{room="küche ☃ 😀"} 1e+300 @0',
    `big_ts +Inf @${2 ** 52}`,
    `big_ts -Inf @${-(2 ** 52)}`,
  ]);
  assert.equal(rows.where(1), "timeseries[1]");
  assert.deepEqual(rows.metadata.get("http_requests"), {
    type: "counter",
    help: "Requests.",
    unit: "",
  });
  assert.deepEqual(rows.metadata.get("temp"), { type: "gauge", help: "", unit: "celsius" });
  assert.equal(rows.metadata.get("x")?.type, "untyped");
  // Raw keys: equal labels, equal keys.
  assert.notEqual(rows.seriesRawKey[0], "");
  assert.notEqual(rows.seriesRawKey[0], rows.seriesRawKey[1]);
});

Deno.test("parseRemoteWrite() keeps NaN payloads so stale markers survive", () => {
  // A Float64Array, since JS arrays of doubles may canonicalize NaN payloads.
  const v = new Float64Array([STALE_NAN, NaN]);
  const body = encodeWriteRequest({
    series: [{ labels: [{ name: "__name__", value: "a" }], t: [1, 2], v }],
  });
  assert.ok(isStaleNaN(v[0]!));
  // On the wire: Prometheus's exact bit pattern.
  const at = body.indexOf(0x09) + 1;
  assert.deepEqual([...body.subarray(at, at + 8)], [2, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
  const rows = parseRemoteWrite(body);
  assert.ok(isStaleNaN(rows.sampleV[0]!));
  assert.ok(Number.isNaN(rows.sampleV[1]!) && !isStaleNaN(rows.sampleV[1]!));
});

Deno.test("parseRemoteWrite() counts exemplars as a warning and keeps native histograms", () => {
  const w = new ProtoWriter();
  const inner = new ProtoWriter();
  inner.tag(1, LEN);
  inner.uvarint(10);
  inner.string(1, "__name__");
  inner.tag(3, LEN); // exemplar
  inner.uvarint(2);
  inner.tag(2, FIXED64 === 1 ? VARINT : VARINT);
  inner.uvarint(1);
  inner.tag(4, LEN); // histogram
  inner.uvarint(0);
  inner.tag(4, LEN);
  inner.uvarint(0);
  w.message(1, inner.finish());
  const rows = parseRemoteWrite(w.finish());
  assert.deepEqual(rows.warnings, ["1 exemplars ignored"]);
  // Two empty Histogram messages: valid empty histograms at t=0.
  assert.equal(rows.sampleCount, 2);
  assert.equal(rows.sampleH?.size, 2);
});

Deno.test("parseRemoteWrite() reports bad series with their index and keeps the others", () => {
  const body = encodeWriteRequest({
    series: [
      series({ job: "x" }, [1], [1]),
      series({ __name__: "ok" }, [1], [2]),
      {
        labels: [{ name: "__name__", value: "d" }, { name: "a", value: "1" }, {
          name: "a",
          value: "2",
        }],
        t: [1],
        v: [3],
      },
    ],
  });
  const rows = parseRemoteWrite(body);
  assert.deepEqual(renderRows(rows), [
    "ok 2 @1",
    "ERR timeseries[0].labels: missing __name__ label",
    'ERR timeseries[2].labels: duplicate label "a"',
  ]);
  assert.equal(rows.invalidSamples, 2);
});

Deno.test("parseRemoteWrite() refuses a malformed request as a whole", () => {
  const good = encodeWriteRequest({
    series: [series({ __name__: "a" }, [1], [1]), series({ __name__: "b" }, [1], [1])],
  });
  // Truncated in the second series.
  const rows = parseRemoteWrite(good.subarray(0, good.length - 3));
  assert.equal(rows.sampleCount, 0);
  assert.equal(rows.errors.length, 1);
  assert.equal(rows.errors[0]!.field, "timeseries[1]");
  assert.match(rows.errors[0]!.message, /^Cannot decode remote write request: /);
  // Invalid UTF-8 in a label.
  const bad = new Uint8Array(UP_VECTOR);
  bad[UP_VECTOR.indexOf(0x75)] = 0xff; // "u" of "up"
  assert.match(parseRemoteWrite(bad).errors[0]!.message, /UTF-8/);
  // Unknown wire type at top level.
  assert.equal(parseRemoteWrite(new Uint8Array([0x0f])).errors[0]!.field, "body");
});

Deno.test("ProtoReader.int64() reads what ProtoWriter.int64() writes", () => {
  const values = [
    0,
    1,
    -1,
    127,
    128,
    -128,
    2 ** 31,
    -(2 ** 31),
    2 ** 32,
    -(2 ** 32) - 1,
    2 ** 53 - 1,
    -(2 ** 53) + 1,
    1_700_000_000_123,
  ];
  const w = new ProtoWriter(4);
  for (const v of values) w.int64(v);
  const r = new ProtoReader(w.finish());
  for (const v of values) assert.equal(r.int64(), v);
  // -1 is ten bytes of two's complement.
  const m = new ProtoWriter();
  m.int64(-1);
  assert.deepEqual([...m.finish()], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
});

Deno.test("parseRemoteWrite() never throws on random or mutated input", () => {
  const rnd = seededRandom(5);
  const good = encodeWriteRequest({
    series: [
      series({ __name__: "a", x: "y" }, [1, 2], [1, 2]),
      series({ __name__: "b" }, [3], [4]),
    ],
    metadata: [{ family: "a", type: "gauge", help: "h", unit: "u" }],
  });
  for (let k = 0; k < 3000; k++) {
    let b: Uint8Array;
    if (k % 2 === 0) {
      b = new Uint8Array(rnd.int(60));
      for (let i = 0; i < b.length; i++) b[i] = rnd.int(256);
    } else {
      b = good.slice(0, rnd.int(good.length + 1));
      for (let m = rnd.int(4); m > 0 && b.length > 0; m--) b[rnd.int(b.length)] = rnd.int(256);
    }
    const rows = parseRemoteWrite(b);
    for (let i = 0; i < rows.sampleCount; i++) {
      const s = rows.sampleSeries[i]!;
      assert.ok(s >= 0 && s < rows.seriesCount);
    }
  }
});

Deno.test("parseRemoteWrite() lists a repeated series once and decodes known series the same", () => {
  const body = encodeWriteRequest({
    series: [
      series({ __name__: "a", x: "1" }, [1, 2], [1, 2]),
      series({ __name__: "b" }, [1], [5]),
      series({ __name__: "a", x: "1" }, [3], [3]),
      series({ x: "no name" }, [4], [4]),
    ],
  });
  const first = parseRemoteWrite(body);
  assert.equal(first.seriesCount, 2);
  assert.deepEqual(renderRows(first), [
    'a{x="1"} 1 @1',
    'a{x="1"} 2 @2',
    "b 5 @1",
    'a{x="1"} 3 @3',
    "ERR timeseries[3].labels: missing __name__ label",
  ]);
  // Second time the series come from the cache: same rows, same problems.
  const again = parseRemoteWrite(body);
  assert.deepEqual(renderRows(again), renderRows(first));
  assert.equal(again.invalidSamples, 1);
  assert.deepEqual([again.where(0), again.where(1)], ["timeseries[0]", "timeseries[1]"]);
  // Random series sets parse alike from a cold and a warm cache.
  const rnd = seededRandom(9);
  for (let k = 0; k < 200; k++) {
    const list: WriteSeries[] = [];
    for (let i = 0; i < 1 + rnd.int(5); i++) {
      const labels: Record<string, string> = { __name__: `m${k}_${rnd.int(3)}` };
      for (let l = 0; l < rnd.int(3); l++) labels[`l${rnd.int(3)}`] = `v${rnd.int(3)}`;
      list.push(series(labels, [i], [rnd.int(100)]));
    }
    const b = encodeWriteRequest({ series: list });
    const cold = renderRows(parseRemoteWrite(b));
    assert.equal(cold.length, list.length);
    assert.deepEqual(renderRows(parseRemoteWrite(b)), cold);
  }
});

Deno.test("remote write bodies decoded into a reused buffer: rows parsed earlier keep their labels and values", () => {
  const pool = new BufferPool();
  const a = encodeRemoteWriteBody({
    series: [series({ __name__: "aaaa_first", zone: "alpha-one" }, [1000, 2000], [1.5, 2.5])],
  });
  const b = encodeRemoteWriteBody({
    series: [series({ __name__: "bbbb_other", zone: "beta-two!" }, [3000], [9])],
  });
  const bufA = snappyDecode(a, Infinity, (n) => pool.take(n));
  const rowsA = parseRemoteWrite(bufA);
  const before = renderRows(rowsA);
  pool.give(bufA);
  const bufB = snappyDecode(b, Infinity, (n) => pool.take(n));
  assert.equal(bufB.buffer, bufA.buffer, "the pool hands the same buffer out again");
  const rowsB = parseRemoteWrite(bufB);
  assert.deepEqual(renderRows(rowsA), before);
  assert.match(before.join("\n"), /aaaa_first\{zone="alpha-one"\}/);
  assert.match(renderRows(rowsB).join("\n"), /bbbb_other\{zone="beta-two!"\}/);
  // A buffer the pool did not hand out is ignored; one still out is not handed out again.
  pool.give(new Uint8Array(10));
  assert.notEqual(pool.take(10).buffer, bufB.buffer);
});

Deno.test("parseRemoteWrite() reads a sample alike whatever its encoding", () => {
  const times = [
    0,
    1,
    127,
    128,
    2 ** 28 - 1,
    2 ** 28,
    2 ** 35 + 3,
    1_700_000_000_123,
    2 ** 49 + 1,
    2 ** 53 - 1,
    -1,
    -1_700_000_000_000,
  ];
  const values = [0, -0, 1.5, -2.25e300, STALE_NAN];
  // Proto3 senders leave out zero fields, and fields may come in any order.
  const handEncoded = (t: number, v: number, reversed: boolean) => {
    const sample = new ProtoWriter();
    const value = () => {
      if (v !== 0 || Object.is(v, -0)) {
        sample.tag(1, FIXED64);
        sample.double(v);
      }
    };
    const time = () => {
      if (t !== 0) {
        sample.tag(2, VARINT);
        sample.int64(t);
      }
    };
    if (reversed) time(), value();
    else value(), time();
    const label = new ProtoWriter();
    label.string(1, "__name__");
    label.string(2, "x");
    const ts = new ProtoWriter();
    ts.message(1, label.finish());
    ts.message(2, sample.finish());
    const req = new ProtoWriter();
    req.message(1, ts.finish());
    return req.finish();
  };
  for (const t of times) {
    for (const v of values) {
      const bodies = [
        encodeWriteRequest({ series: [series({ __name__: "x" }, [t], [v])] }),
        handEncoded(t, v, false),
        handEncoded(t, v, true),
      ];
      for (const body of bodies) {
        const rows = parseRemoteWrite(body);
        assert.deepEqual(rows.errors, []);
        assert.equal(rows.sampleCount, 1);
        assert.equal(rows.sampleT[0], t, `timestamp ${t}`);
        if (v === STALE_NAN) assert.ok(isStaleNaN(rows.sampleV[0]!));
        else assert.ok(Object.is(rows.sampleV[0], v), `value ${v} at ${t}`);
      }
    }
  }
});

Deno.test("parseRemoteWrite() tells known series apart in any order, also when only their last label byte differs", () => {
  const names = ["m", "mx", "mxy", "mxyz", "mxyza"];
  const all: WriteSeries[] = [];
  for (const n of names) {
    for (const last of ["a", "b"]) {
      all.push(series({ __name__: `${n}${last}`, host: `h${last}` }, [1], [1]));
      all.push(series({ __name__: n, host: `h${last}` }, [1], [2]));
    }
  }
  const expected = (list: WriteSeries[]) =>
    list.map((s) => `${s.labels[0]!.value}{host="${s.labels[1]!.value}"} ${s.v[0]} @1`);
  const rnd = seededRandom(3);
  for (let round = 0; round < 30; round++) {
    // Sometimes the same order as before, sometimes shuffled or shortened.
    const list = round % 3 === 0 ? all : all.filter(() => rnd.int(4) > 0);
    if (round % 3 === 2) list.sort(() => rnd.int(3) - 1);
    assert.deepEqual(
      renderRows(parseRemoteWrite(encodeWriteRequest({ series: list }))),
      expected(list),
    );
  }
});

Deno.test("parseRemoteWrite() keeps its series across a reclaim while requests come, and decodes them alike once dropped", () => {
  const body = encodeWriteRequest({
    series: [
      series({ __name__: "a", x: "1" }, [1], [1]),
      series({ __name__: "b" }, [1], [5]),
      series({ x: "no name" }, [4], [4]),
    ],
  });
  const first = parseRemoteWrite(body);
  releaseIdleMemory();
  const kept = parseRemoteWrite(body);
  assert.equal(kept.seriesMemo[0], first.seriesMemo[0], "a request came since: kept");
  releaseIdleMemory();
  releaseIdleMemory();
  const again = parseRemoteWrite(body);
  assert.notEqual(
    again.seriesMemo[0],
    first.seriesMemo[0],
    "no request between two reclaims: dropped",
  );
  assert.deepEqual(renderRows(again), renderRows(first));
  assert.equal(again.invalidSamples, 1);
  assert.deepEqual(renderRows(parseRemoteWrite(body)), renderRows(first));
});

Deno.test("parseRemoteWrite() into reused rows gives what new rows give, and leaves earlier results alone", () => {
  const big = encodeWriteRequest({
    series: [
      ...Array.from({ length: 6 }, (_, i) => series({ __name__: `m${i}`, x: "1" }, [1, 2], [i, i])),
      series({ x: "no name" }, [3], [3]),
    ],
  });
  const small = encodeWriteRequest({ series: [series({ __name__: "s" }, [5], [7])] });
  const reused = parseRemoteWrite(big);
  const errors = reused.errors;
  assert.equal(errors.length, 1);
  assert.equal(parseRemoteWrite(small, reused), reused);
  assert.deepEqual(renderRows(reused), renderRows(parseRemoteWrite(small)));
  assert.equal(reused.seriesCount, 1);
  assert.equal(reused.invalidSamples, 0);
  assert.equal(reused.where(1), "", "a series left over from before is not this request's");
  assert.equal(errors.length, 1, "problems kept from the earlier request stay as they were");
  assert.deepEqual(renderRows(parseRemoteWrite(big, reused)), renderRows(parseRemoteWrite(big)));
});

Deno.test("parseRemoteWrite() takes a series for the one that followed last time only when its labels end where that one's do", () => {
  const a = series({ __name__: "a" }, [1], [1]);
  const b = series({ __name__: "b", x: "1" }, [1], [2]);
  // Teaches the parser that b follows a.
  parseRemoteWrite(encodeWriteRequest({ series: [a, b] }));
  // b's label bytes, then one more label.
  const longer = encodeWriteRequest({
    series: [a, series({ __name__: "b", x: "1", y: "2" }, [2], [3])],
  });
  assert.deepEqual(renderRows(parseRemoteWrite(longer)), ["a 1 @1", 'b{x="1",y="2"} 3 @2']);
  // b's label bytes, a sample, then a label after it.
  const field = (w: ProtoWriter, f: number, build: (x: ProtoWriter) => void) => {
    const x = new ProtoWriter();
    build(x);
    w.message(f, x.finish());
  };
  const label = (name: string, value: string) => (x: ProtoWriter) => {
    x.string(1, name);
    x.string(2, value);
  };
  const req = new ProtoWriter();
  field(req, 1, (ts) => field(ts, 1, label("__name__", "a")));
  field(req, 1, (ts) => {
    field(ts, 1, label("__name__", "b"));
    field(ts, 1, label("x", "1"));
    field(ts, 2, (smp) => {
      smp.tag(1, FIXED64);
      smp.double(4);
      smp.tag(2, VARINT);
      smp.int64(3);
    });
    field(ts, 1, label("z", "3"));
  });
  assert.deepEqual(renderRows(parseRemoteWrite(req.finish())), ['b{x="1",z="3"} 4 @3']);
  // And b itself is still known as b.
  assert.deepEqual(renderRows(parseRemoteWrite(encodeWriteRequest({ series: [a, b] }))), [
    "a 1 @1",
    'b{x="1"} 2 @1',
  ]);
});
