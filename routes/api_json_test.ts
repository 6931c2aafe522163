import assert from "node:assert/strict";
import { jsonFloat, type Labels, toLabels } from "../core/model/mod.ts";
import { FloatHistogram, type Value } from "../core/promql/mod.ts";
import { histogramJson, queryJsonStream } from "./api_json.ts";

async function text(v: Value, env = {}): Promise<{ text: string; chunks: number }> {
  let chunks = 0;
  let out = "";
  const dec = new TextDecoder();
  for await (const c of queryJsonStream(v, env)) {
    chunks++;
    out += dec.decode(c, { stream: true });
  }
  return { text: out + dec.decode(), chunks };
}

/** What JSON.stringify makes of Prometheus's envelope built as objects. */
function expected(v: Value, env: { stats?: unknown; warnings?: string[]; infos?: string[] }) {
  const metric = (l: Labels) => Object.fromEntries(l.map((x) => [x.name, x.value]));
  const result = v.type === "scalar"
    ? [v.t / 1000, jsonFloat(v.v)]
    : v.type === "string"
    ? [v.t / 1000, v.v]
    : v.type === "vector"
    ? v.samples.map((s) => ({ metric: metric(s.labels), value: [s.t / 1000, jsonFloat(s.v)] }))
    : v.series.map((s) => ({
      metric: metric(s.labels),
      values: [...s.t].map((t, i) => [t / 1000, jsonFloat(s.v[i]!)]),
    }));
  const data: Record<string, unknown> = { resultType: v.type, result };
  if (env.stats !== undefined) data.stats = env.stats;
  const body: Record<string, unknown> = { status: "success", data };
  if (env.warnings?.length) body.warnings = env.warnings;
  if (env.infos?.length) body.infos = env.infos;
  return JSON.stringify(body);
}

const odd = toLabels("m\u00e9tric", { a: 'quo"te\\back\nline', "b.c": "\u2028\u{1F600}", z: "" });
const T = 1_700_000_000_123;

Deno.test("streamed query JSON equals Prometheus's envelope byte for byte", async () => {
  const values: Value[] = [
    { type: "scalar", t: T, v: -0 },
    { type: "scalar", t: T, v: 1e21 },
    { type: "string", t: T, v: 'a "string"\n\u0000' },
    { type: "vector", samples: [] },
    {
      type: "vector",
      samples: [
        { labels: odd, t: T, v: NaN },
        { labels: toLabels("up", { job: "x" }), t: T + 1, v: Infinity },
        { labels: [], t: T + 2, v: 1.5e-7 },
      ],
    },
    { type: "matrix", series: [] },
    {
      type: "matrix",
      series: [
        {
          labels: odd,
          t: Float64Array.from([T, T + 15_000, T + 30_001]),
          v: Float64Array.from([-Infinity, 0.1 + 0.2, 123456789012345680000]),
        },
        { labels: toLabels("b", {}), t: Float64Array.from([T]), v: Float64Array.from([-1e-300]) },
        {
          // Whole milliseconds, whole values and values of up to 6 decimals are
          // written digit by digit: edges of that.
          labels: toLabels("c", {}),
          t: Float64Array.from([
            0,
            1,
            10,
            100,
            1010,
            1200,
            T + 0.5,
            -1500,
            1e15 - 1,
            1e15 + 1,
            T,
            T,
            T,
            T,
            T,
            T,
          ]),
          v: Float64Array.from([
            -0,
            0,
            7,
            -7,
            10,
            1e15,
            1e15 - 1,
            1 - 1e15,
            2 ** 53,
            0.5,
            42.17,
            -0.05,
            0.000001,
            999_999_999.999999,
            123.4567891,
            1e9 + 0.5,
          ]),
        },
      ],
    },
  ];
  const envs = [
    {},
    { warnings: ["PromQL warning: x (1:2)"], infos: ['PromQL info: "y"'] },
    { stats: { samples: { peakSamples: 3 }, series: 2 }, warnings: [] },
  ];
  for (const v of values) {
    for (const env of envs) {
      const got = (await text(v, env)).text;
      assert.equal(got, expected(v, env), `${v.type} ${JSON.stringify(env)}`);
      JSON.parse(got);
    }
  }
});

Deno.test("a large matrix is streamed in bounded chunks and parses whole", async () => {
  const n = 11_000;
  const t = new Float64Array(n), v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = T + i * 15_000;
    v[i] = Math.sin(i) * 1e6;
  }
  const series = Array.from({ length: 30 }, (_, k) => ({
    labels: toLabels("cpu", { host: `h${k}` }),
    t,
    v,
  }));
  const value: Value = { type: "matrix", series };
  const { text: got, chunks } = await text(value);
  assert.equal(got, expected(value, {}));
  // About 30 × 11,000 × 30 bytes: many chunks of about 64 KiB, none unbounded.
  assert.ok(chunks > got.length / (256 * 1024), `${chunks} chunks for ${got.length} bytes`);
  let biggest = 0;
  for await (const c of queryJsonStream(value)) biggest = Math.max(biggest, c.length);
  assert.ok(biggest < 512 * 1024, `${biggest}`);
});

Deno.test("chunks stay intact while held: two streams read in turns and decoded at the end", async () => {
  const series = (name: string) =>
    Array.from({ length: 40 }, (_, k) => ({
      labels: toLabels(name, { host: `h${k}` }),
      t: Float64Array.from({ length: 2000 }, (_, i) => T + i * 15_000),
      v: Float64Array.from({ length: 2000 }, (_, i) => i * k + 0.5),
    }));
  const values: Value[] = [
    { type: "matrix", series: series("a") },
    { type: "matrix", series: series("b") },
  ];
  const readers = values.map((v) => queryJsonStream(v).getReader());
  const held: Uint8Array[][] = [[], []];
  for (let open = 2; open > 0;) {
    open = 0;
    for (const [i, r] of readers.entries()) {
      const c = await r.read();
      if (c.done) continue;
      held[i]!.push(c.value);
      open++;
    }
  }
  for (const [i, v] of values.entries()) {
    assert.ok(held[i]!.length > 2, "several chunks each");
    const whole = new Uint8Array(held[i]!.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of held[i]!) {
      whole.set(c, o);
      o += c.length;
    }
    assert.equal(new TextDecoder().decode(whole), expected(v, {}));
  }
});

Deno.test("queryJsonStream() writes native histograms as Prometheus's API: histogram, histograms, buckets", async () => {
  // The example of Prometheus's API documentation: schema 0, zero bucket ±0.25.
  const h = new FloatHistogram({
    schema: 0,
    zeroThreshold: 0.25,
    zeroCount: 3,
    count: 42,
    sum: 34593.34,
    pIdx: [-1, 0, 1, 2],
    pCnt: [12, 21, 0, 6],
  });
  const doc =
    `{"count":"42","sum":"34593.34","buckets":[[3,"-0.25","0.25","3"],[0,"0.25","0.5","12"],[0,"0.5","1","21"],[0,"2","4","6"]]}`;
  const m = toLabels("lat", { job: "api" });
  const vec = await text({ type: "vector", samples: [{ labels: m, t: 1000, v: 0, h }] });
  assert.equal(
    vec.text,
    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"lat","job":"api"},"histogram":[1,${doc}]}]}}`,
  );
  // A range series with histograms only has no "values"; one with both has both.
  const series = [
    {
      labels: m,
      t: new Float64Array(0),
      v: new Float64Array(0),
      histograms: { t: Float64Array.of(1000, 2000), h: [h, h] },
    },
    {
      labels: toLabels("mixed", {}),
      t: Float64Array.of(1000),
      v: Float64Array.of(1.5),
      histograms: { t: Float64Array.of(2000), h: [h] },
    },
  ];
  const mat = JSON.parse((await text({ type: "matrix", series })).text);
  assert.deepEqual(Object.keys(mat.data.result[0]), ["metric", "histograms"]);
  assert.deepEqual(mat.data.result[0].histograms[1], [2, JSON.parse(doc)]);
  assert.deepEqual(Object.keys(mat.data.result[1]), ["metric", "values", "histograms"]);
  // Negative buckets are [lower, upper) (kind 1); custom buckets are (lower, upper], the first [-Inf, b].
  const neg = new FloatHistogram({ schema: 0, count: 1, sum: -3, nIdx: [2], nCnt: [1] });
  const custom = new FloatHistogram({
    schema: -53,
    count: 3,
    sum: 1e-7,
    customValues: [5],
    pIdx: [0, 1],
    pCnt: [1, 2],
  });
  assert.equal(histogramJson(neg), `{"count":"1","sum":"-3","buckets":[[1,"-4","-2","1"]]}`);
  assert.equal(
    histogramJson(custom),
    `{"count":"3","sum":"1e-07","buckets":[[3,"-Inf","5","1"],[0,"5","+Inf","2"]]}`,
  );
  assert.equal(histogramJson(new FloatHistogram({ count: 0, sum: 0 })), `{"count":"0","sum":"0"}`);
});
