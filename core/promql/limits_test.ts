import assert from "node:assert/strict";
import { type Matcher, type SelectHints, type SeriesData, toLabels } from "../model/mod.ts";
import { MemStore } from "../tsdb/mod_testing.ts";
import { MemoryPool } from "./budget.ts";
import { createEngine } from "./engine.ts";
import {
  QueryMemoryError,
  QueryOverloadError,
  QueryTimeoutError,
  QueryTooManySamplesError,
  QueryTooManySeriesError,
  QueryTooManyStepsError,
} from "./errors.ts";
import { PromQLParseError } from "./parser.ts";

const MIN = 60_000;

/** `n` gauges `x{i}` with a sample every 10 s for an hour. */
function store(n: number): MemStore {
  const s = new MemStore();
  for (let i = 0; i < n; i++) {
    const l = toLabels("x", { i: String(i) });
    for (let k = 0; k < 360; k++) s.add(l, k * 10_000, k + i);
  }
  return s;
}

Deno.test("max_samples counts the running peak of held results, not one node at a time", async () => {
  const querier = store(10);
  const run = (q: string, maxSamples: number) =>
    createEngine({ querier, maxSamples }).instantQuery(q, 30 * MIN);
  // sum(x): the 10 selected samples and the sum's output are held together.
  assert.equal((await run("sum(x)", 11)).stats.peakSamples, 11);
  await assert.rejects(run("sum(x)", 10), QueryTooManySamplesError);
  // x + x: both sides and the 10 results: 30 at the peak.
  assert.equal((await run("x + x", 30)).stats.peakSamples, 30);
  await assert.rejects(run("x + x", 29), QueryTooManySamplesError);
  // A range function holds one 10-minute window (60 samples) at a time.
  const one = createEngine({ querier, maxSamples: 60 });
  assert.equal((await one.instantQuery('rate(x{i="3"}[10m])', 30 * MIN)).stats.peakSamples, 60);
  await assert.rejects(
    createEngine({ querier, maxSamples: 59 }).instantQuery('rate(x{i="3"}[10m])', 30 * MIN),
    /query processing would load too many samples into memory in query execution/,
  );
});

Deno.test("max_samples bounds range queries over every step", async () => {
  const engine = createEngine({ querier: store(10), maxSamples: 1000 });
  // 10 series × 61 steps fit; 10 × 121 steps do not.
  const ok = await engine.rangeQuery("x", 0, 60 * MIN, MIN);
  assert.equal(ok.stats.peakSamples, 610);
  await assert.rejects(engine.rangeQuery("x", 0, 60 * MIN, 30_000), QueryTooManySamplesError);
});

Deno.test("max_series refuses a query selecting more series", async () => {
  const engine = createEngine({ querier: store(10), maxSeries: 9 });
  await assert.rejects(engine.instantQuery("x", 30 * MIN), QueryTooManySeriesError);
  assert.equal((await engine.instantQuery('x{i="1"}', 30 * MIN)).result.type, "vector");
});

Deno.test("the timeout stops a query stuck in storage and one stuck in evaluation", async () => {
  class Stuck extends MemStore {
    override select(_m: readonly Matcher[], _h: SelectHints): Promise<SeriesData[]> {
      return new Promise(() => {});
    }
  }
  const stuck = new Stuck();
  await assert.rejects(
    createEngine({ querier: stuck, timeoutMs: 50 }).instantQuery("x", 0),
    (e) => e instanceof QueryTimeoutError && /query preparation/.test(e.message),
  );
  // A subquery at a 1 s step over an hour for 300 series: far more than 300 ms
  // of work. Evaluation stops at its next check and gives its memory back.
  const memory = new MemoryPool(0);
  const heavy = createEngine({ querier: store(300), timeoutMs: 300, memory });
  await assert.rejects(
    heavy.instantQuery("sum(count_over_time((x * 2)[1h:1s]))", 60 * MIN),
    (e) =>
      e instanceof QueryTimeoutError &&
      /expression evaluation \(query\.timeout: 300ms\)/.test(e.message),
  );
  assert.equal(memory.used, 0);
});

// Hostile queries: each is refused with a typed error naming its setting,
// before the memory it asks for is allocated, and gives its reservation back.

const DAY = 24 * 60 * MIN;

/** A querier over `s` that counts the series storage reports as read. */
function countingReads(s: MemStore): { querier: MemStore; reads: () => number } {
  let seen = 0;
  const querier = {
    ...s,
    select: (m: readonly Matcher[], h: SelectHints) =>
      s.select(m, {
        ...h,
        onRead: (n) => {
          seen++;
          h.onRead?.(n);
        },
      }),
  } as MemStore;
  return { querier, reads: () => seen };
}

Deno.test("a subquery with billions of steps is refused before evaluation (query.max_steps)", async () => {
  const memory = new MemoryPool(256 * 2 ** 20);
  const engine = createEngine({ querier: store(10), memory });
  let reads = 0;
  const counting = createEngine({
    querier: {
      ...store(10),
      select: (m, h) => {
        reads++;
        return store(10).select(m, h);
      },
    } as MemStore,
  });
  for (const q of ["max_over_time(rate(x[1m])[30d:1ms])", "count_over_time(x[10y:1s])"]) {
    await assert.rejects(
      engine.instantQuery(q, 60 * MIN),
      (e) =>
        e instanceof QueryTooManyStepsError &&
        /exceeded maximum resolution of 100,000 points per timeseries in subquery \[/.test(
          e.message,
        ) && /query\.max_steps/.test(e.message),
    );
    await assert.rejects(counting.instantQuery(q, 60 * MIN), QueryTooManyStepsError);
  }
  assert.equal(reads, 0, "storage was read");
  assert.equal(memory.used, 0);
  // A subquery on the same grid budget that fits still answers.
  const ok = await engine.instantQuery("max_over_time(x[1h:10s])", 60 * MIN);
  assert.equal(ok.result.type, "vector");
  assert.equal(memory.used, 0);
});

Deno.test("range queries over 11,000 points per series are refused by the engine itself", async () => {
  const engine = createEngine({ querier: store(1) });
  await assert.rejects(
    engine.rangeQuery("x", 0, 3650 * DAY, 1000),
    /exceeded maximum resolution of 11,000 points per timeseries/,
  );
});

Deno.test("query.max_memory refuses a query whose loaded data would not fit, while reading", async () => {
  // 300 series × 360 samples: about 2.6 MiB loaded at 24 bytes a sample.
  const memory = new MemoryPool(1 * 2 ** 20);
  const { querier, reads } = countingReads(store(300));
  const engine = createEngine({ querier, memory });
  await assert.rejects(
    engine.instantQuery("count_over_time(x[100y])", 60 * MIN),
    (e) => e instanceof QueryMemoryError && /query\.max_memory \(1\.0 MiB\)/.test(e.message),
  );
  assert.ok(reads() < 300, `read all ${reads()} series before refusing`);
  assert.equal(memory.used, 0);
  const small = await engine.instantQuery('count_over_time(x{i="7"}[100y])', 60 * MIN);
  assert.equal((small.result as { samples: { v: number }[] }).samples[0]!.v, 360);
});

Deno.test("a query over max_series stops reading storage at the limit", async () => {
  const { querier, reads } = countingReads(store(300));
  await assert.rejects(
    createEngine({ querier, maxSeries: 50 }).instantQuery("topk(3, x)", 60 * MIN),
    /query selects more than 50 series \(query\.max_series\)/,
  );
  assert.equal(reads(), 51);
});

Deno.test("queries in flight holding the memory budget make the next one retry later (503), not fail (422)", async () => {
  const memory = new MemoryPool(4 * 2 ** 20);
  assert.equal(memory.tryTake(3.5 * 2 ** 20), true); // Another query holds most of it.
  const engine = createEngine({ querier: store(300), memory });
  await assert.rejects(
    engine.instantQuery("sum(x)", 60 * MIN),
    (e) => e instanceof QueryOverloadError && /retry later/.test(e.message),
  );
  memory.give(3.5 * 2 ** 20);
  const r = await engine.instantQuery("sum(x)", 60 * MIN);
  assert.equal(r.result.type, "vector");
  assert.ok(r.stats.peakBytes > 0);
  assert.equal(memory.used, 0);
});

Deno.test("topk, quantile and label_replace storms over every series stop at max_samples", async () => {
  // 300 series × 60 steps: 18,000 samples selected.
  const engine = createEngine({ querier: store(300), maxSamples: 15_000 });
  const end = 60 * MIN, start = end - 59 * MIN;
  for (
    const q of [
      "topk(5, x)",
      "quantile(0.9, x)",
      'count_values("v", x)',
      'label_replace(label_replace(label_replace(x, "a", "$1", "i", "(.*)"), "b", "$1", "i", "(.*)"), "c", "$1", "i", "(.*)")',
    ]
  ) {
    await assert.rejects(
      engine.rangeQuery(q, start, end, MIN),
      (e) => e instanceof QueryTooManySamplesError && /query\.max_samples: 15000/.test(e.message),
      q,
    );
  }
});

Deno.test("deeply nested expressions are refused by the parser with a clear message", async () => {
  const engine = createEngine({ querier: store(1) });
  for (
    const q of [
      "(".repeat(100_000) + "x" + ")".repeat(100_000),
      "-".repeat(100_000) + "x",
      Array(20_000).fill("x").join(" + "),
      "abs(".repeat(10_000) + "x" + ")".repeat(10_000),
    ]
  ) {
    await assert.rejects(
      engine.instantQuery(q, 0),
      (e) =>
        e instanceof PromQLParseError &&
        /nests too deeply \(more than 500 levels\)/.test(e.message),
    );
  }
  // 400 levels are fine.
  const r = await engine.instantQuery("abs(".repeat(400) + "x" + ")".repeat(400), 30 * MIN);
  assert.equal(r.result.type, "vector");
});
