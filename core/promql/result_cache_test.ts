import assert from "node:assert/strict";
import { type NativeHistogram, STALE_NAN, toLabels } from "../model/mod.ts";
import { MemStore } from "../tsdb/mod_testing.ts";
import { createEngine, type Engine, type QueryResult } from "./engine.ts";
import { RangeResultCache } from "./result_cache.ts";

const MIN = 60_000;

/** Counters and gauges over 0..60 min at 10 s; `upTo` keeps samples with t < upTo. */
function samples(): { labels: ReturnType<typeof toLabels>; t: number; v: number }[] {
  const out = [];
  for (let h = 0; h < 6; h++) {
    const c = toLabels("requests_total", { host: `h${h}`, region: h % 2 ? "eu" : "us" });
    const g = toLabels("temp", { host: `h${h}` });
    let v = h * 10;
    for (let i = 0; i < 360; i++) {
      const t = i * 10_000 + h * 7 + 3;
      v = i === 100 + h * 20 ? 1 : v + ((i * 7 + h) % 5);
      out.push({ labels: c, t, v });
      if (h === 2 && i >= 150 && i < 200) continue; // A gap.
      out.push({ labels: g, t, v: h === 3 && i === 250 ? STALE_NAN : 20 + ((i * 3 + h) % 11) / 4 });
    }
  }
  return out;
}

/** Native histogram `i` of a counter with a reset at i = 200. */
function hist(i: number): NativeHistogram {
  const j = i < 200 ? i + 1 : i - 199;
  const buckets = [j, 2 * j, j >> 1];
  return {
    schema: 1,
    zeroThreshold: 0.001,
    zeroCount: 0,
    count: buckets[0]! + buckets[1]! + buckets[2]!,
    sum: j * 1.5,
    positiveSpans: [{ offset: 0, length: 3 }],
    positiveBuckets: buckets,
    negativeSpans: [],
    negativeBuckets: [],
    float: false,
    counterResetHint: "unknown",
  };
}

/** Adds the samples with from <= t < to, and a native histogram series. */
function fill(s: MemStore, from: number, to: number): MemStore {
  for (const x of samples()) if (x.t >= from && x.t < to) s.add(x.labels, x.t, x.v);
  const lat = toLabels("lat_seconds", { host: "h0" });
  for (let i = 0; i < 360; i++) {
    const t = i * 10_000 + 5;
    if (t >= from && t < to) s.addHistogram(lat, t, hist(i));
  }
  return s;
}

function store(): MemStore {
  return fill(new MemStore(), 0, Infinity);
}

/** Wraps an engine, counting the steps it is asked to evaluate. */
function counting(engine: Engine): Engine & { steps: number } {
  const c = {
    settings: engine.settings,
    steps: 0,
    instantQuery: engine.instantQuery.bind(engine),
    rangeQuery(e: Parameters<Engine["rangeQuery"]>[0], start: number, end: number, step: number) {
      c.steps += Math.floor((end - start) / step) + 1;
      return engine.rangeQuery(e, start, end, step);
    },
  };
  return c;
}

function plain(r: QueryResult): unknown {
  if (r.result.type !== "matrix") return r.result;
  return {
    series: r.result.series.map((s) => ({
      labels: s.labels,
      t: [...s.t],
      v: [...s.v],
      ...(s.histograms
        ? { ht: [...s.histograms.t], h: s.histograms.h.map((h) => h.toNative()) }
        : {}),
    })),
    warnings: [...r.warnings].sort(),
  };
}

const QUERIES = [
  "requests_total",
  "rate(requests_total[5m])",
  "sum by (region) (rate(requests_total[2m]))",
  "temp",
  "avg_over_time(temp[3m])",
  "max_over_time(rate(requests_total[1m])[5m:30s])",
  "temp offset 7m",
  "temp offset -2m",
  "topk(2, temp)",
  'absent(temp{host="h2"})',
  "vector(1) + time()",
  "temp > 21",
  "histogram_quantile(0.5, temp)",
  "lat_seconds",
  "rate(lat_seconds[2m])",
  "histogram_quantile(0.9, rate(lat_seconds[5m]))",
  "sum(lat_seconds) + lat_seconds",
];

Deno.test("RangeResultCache answers exactly as the engine over overlapping, shifting ranges", async () => {
  // The head grows by a minute between queries; the boundary follows.
  let boundary = 40 * MIN;
  const data = fill(new MemStore(), 0, boundary);
  const engine = createEngine({ querier: data });
  const cache = new RangeResultCache({ immutableBefore: () => boundary });
  const step = 20_000;
  const ranges: [number, number][] = [
    [10 * MIN, 30 * MIN],
    [20 * MIN, 50 * MIN], // Overlaps the first; crosses the boundary.
    [5 * MIN, 58 * MIN], // Covers both, with gaps on either side.
    [12 * MIN + 20_000, 14 * MIN], // Inside a cached extent.
  ];
  for (const q of [...QUERIES, ...QUERIES]) {
    for (const [s, e] of ranges) {
      const want = await engine.rangeQuery(q, s, e, step);
      const got = await cache.rangeQuery(engine, q, s, e, step);
      assert.deepEqual(plain(got), plain(want), `${q} over [${s}, ${e}]`);
    }
    fill(data, boundary, boundary + MIN);
    boundary += MIN;
  }
  const st = cache.stats();
  assert.ok(st.hits > 0 && st.misses > 0 && st.bytes > 0, JSON.stringify(st));
});

Deno.test("RangeResultCache evaluates only the mutable steps of a repeated query", async () => {
  const engine = counting(createEngine({ querier: store() }));
  const cache = new RangeResultCache({ immutableBefore: () => 40 * MIN });
  const q = "sum by (region) (rate(requests_total[5m]))";
  const first = await cache.rangeQuery(engine, q, 0, 59 * MIN, MIN);
  assert.equal(engine.steps, 60);
  assert.deepEqual(cache.stats(), { hits: 0, misses: 1, bytes: cache.stats().bytes, extents: 1 });
  engine.steps = 0;
  const again = await cache.rangeQuery(engine, q, 0, 59 * MIN, MIN);
  // Steps 0..39m read only data before 40m; 40m..59m are evaluated again.
  assert.equal(engine.steps, 20);
  assert.equal(cache.stats().hits, 1);
  assert.deepEqual(plain(again), plain(first));
});

Deno.test("RangeResultCache reports the bytes of cached results a query was answered from", async () => {
  const engine = createEngine({ querier: store() });
  const served: number[] = [];
  const cache = new RangeResultCache({
    immutableBefore: () => 40 * MIN,
    onServed: (n) => served.push(n),
  });
  const q = "rate(requests_total[5m])";
  await cache.rangeQuery(engine, q, 0, 59 * MIN, MIN);
  assert.deepEqual(served, [], "nothing cached yet");
  await cache.rangeQuery(engine, q, 0, 59 * MIN, MIN);
  assert.equal(served.length, 1);
  const whole = cache.stats().bytes;
  assert.ok(served[0]! > whole / 2 && served[0]! <= whole, `${served[0]} of ${whole}`);
  // Half the cached steps: about half the bytes.
  await cache.rangeQuery(engine, q, 0, 19 * MIN, MIN);
  assert.ok(
    Math.abs(served[1]! - served[0]! / 2) < served[0]! / 10,
    `${served[1]} vs ${served[0]}`,
  );
});

Deno.test("RangeResultCache sees new head data and, after invalidate(), old writes", async () => {
  const s = store();
  const engine = createEngine({ querier: s });
  const cache = new RangeResultCache({ immutableBefore: () => 40 * MIN });
  const q = "max_over_time(temp[1m])";
  await cache.rangeQuery(engine, q, 0, 59 * MIN, MIN);
  // A new sample in the mutable part shows at once.
  s.add(toLabels("temp", { host: "h0" }), 50 * MIN - 1, 99);
  let got = await cache.rangeQuery(engine, q, 0, 59 * MIN, MIN);
  assert.deepEqual(plain(got), plain(await engine.rangeQuery(q, 0, 59 * MIN, MIN)));
  // An out-of-order write into the immutable part: storage must report it.
  s.add(toLabels("temp", { host: "h0" }), 10 * MIN - 1, 77);
  got = await cache.rangeQuery(engine, q, 0, 59 * MIN, MIN);
  const fresh = await engine.rangeQuery(q, 0, 59 * MIN, MIN);
  assert.notDeepEqual(plain(got), plain(fresh)); // Stale until storage calls invalidate().
  cache.invalidate(10 * MIN - 1, 10 * MIN - 1);
  got = await cache.rangeQuery(engine, q, 0, 59 * MIN, MIN);
  assert.deepEqual(plain(got), plain(fresh));
});

Deno.test("RangeResultCache stays within its byte budget, evicting the least recently used", async () => {
  const engine = counting(createEngine({ querier: store() }));
  const probe = new RangeResultCache({ immutableBefore: () => 60 * MIN });
  await probe.rangeQuery(engine, "temp", 0, 59 * MIN, MIN); // 6 series × 60 points.
  const one = probe.stats().bytes;
  assert.ok(one > 6 * 60 * 16 && one < 20_000, `${one}`);
  // Room for two such results, not three.
  const max = Math.floor(2.5 * one);
  const cache = new RangeResultCache({ immutableBefore: () => 60 * MIN, maxBytes: max });
  await cache.rangeQuery(engine, "temp", 0, 59 * MIN, MIN);
  await cache.rangeQuery(engine, "temp + 1", 0, 59 * MIN, MIN);
  await cache.rangeQuery(engine, "temp", 0, 59 * MIN, MIN); // Touch: now most recent.
  assert.equal(cache.stats().hits, 1);
  await cache.rangeQuery(engine, "temp * 2", 0, 59 * MIN, MIN); // Evicts "temp + 1".
  assert.ok(cache.stats().bytes <= max, `${cache.stats().bytes}`);
  engine.steps = 0;
  await cache.rangeQuery(engine, "temp", 0, 59 * MIN, MIN);
  assert.equal(engine.steps, 0);
  await cache.rangeQuery(engine, "temp + 1", 0, 59 * MIN, MIN);
  assert.equal(engine.steps, 60);
});

Deno.test("RangeResultCache never caches queries pinned with @", async () => {
  const engine = counting(createEngine({ querier: store() }));
  const cache = new RangeResultCache({ immutableBefore: () => 60 * MIN });
  for (const q of ["temp @ end()", "rate(requests_total[5m] @ 600)", "temp @ start() + temp"]) {
    const want = await engine.rangeQuery(q, 10 * MIN, 20 * MIN, MIN);
    assert.deepEqual(
      plain(await cache.rangeQuery(engine, q, 10 * MIN, 20 * MIN, MIN)),
      plain(want),
    );
    assert.deepEqual(
      plain(await cache.rangeQuery(engine, q, 10 * MIN, 30 * MIN, MIN)),
      plain(
        await engine.rangeQuery(q, 10 * MIN, 30 * MIN, MIN),
      ),
    );
  }
  assert.equal(cache.stats().extents, 0);
  assert.equal(cache.stats().hits + cache.stats().misses, 0);
});

Deno.test("RangeResultCache answers ranges that are not a multiple of the step and lie wholly before the head", async () => {
  // The whole queried range is immutable (an earlier day, or data flushed out
  // of the head): the grid's last step falls before `end`, and nothing is left
  // to evaluate after it.
  const engine = createEngine({ querier: store() });
  const cache = new RangeResultCache({ immutableBefore: () => 24 * 60 * MIN });
  const ranges: [number, number, number][] = [
    [0, 59 * MIN + 30_000, MIN],
    [7_000, 41 * MIN, 20_000],
    [3 * MIN, 3 * MIN + 59_999, MIN], // A single step.
    [0, 59 * MIN + 30_000, MIN], // Again, now from the cache.
  ];
  for (const q of QUERIES) {
    for (const [s, e, step] of ranges) {
      const want = await engine.rangeQuery(q, s, e, step);
      const got = await cache.rangeQuery(engine, q, s, e, step);
      assert.deepEqual(plain(got), plain(want), `${q} over [${s}, ${e}] step ${step}`);
    }
  }
  assert.ok(cache.stats().hits > 0, JSON.stringify(cache.stats()));
});

Deno.test("RangeResultCache with a zero byte budget is off: every query goes to the engine whole", async () => {
  const reference = createEngine({ querier: store() });
  const engine = counting(createEngine({ querier: store() }));
  let calls = 0;
  const rangeQuery = engine.rangeQuery;
  engine.rangeQuery = (...a) => (calls++, rangeQuery(...a));
  const cache = new RangeResultCache({ immutableBefore: () => 40 * MIN, maxBytes: 0 });
  const q = "sum by (region) (rate(requests_total[5m]))";
  for (let i = 0; i < 3; i++) {
    const got = await cache.rangeQuery(engine, q, 30_000, 59 * MIN + 45_000, MIN);
    assert.deepEqual(
      plain(got),
      plain(await reference.rangeQuery(q, 30_000, 59 * MIN + 45_000, MIN)),
    );
  }
  assert.equal(calls, 3); // One whole evaluation per query, never split at the boundary.
  assert.equal(engine.steps, 3 * 60);
  assert.deepEqual(cache.stats(), { hits: 0, misses: 0, bytes: 0, extents: 0 });
});

Deno.test("RangeResultCache keeps the latest grid phases of a query, not every phase an unaligned client asked for", async () => {
  const engine = counting(createEngine({ querier: store() }));
  const cache = new RangeResultCache({ immutableBefore: () => 60 * MIN });
  const q = "avg_over_time(temp[3m])";
  const run = (shift: number) =>
    cache.rangeQuery(engine, q, 10 * MIN + shift, 50 * MIN + shift, MIN);
  await run(0);
  const one = cache.stats().bytes;
  for (let shift = 1; shift <= 5; shift++) await run(shift * 1000); // A page reloaded five times.
  assert.equal(cache.stats().bytes, 2 * one, "two phases kept");
  const steps = engine.steps;
  await run(5000); // The latest phase is still answered from the cache.
  assert.equal(engine.steps, steps);
  await run(0); // An old one is evaluated again.
  assert.ok(engine.steps > steps);
});
