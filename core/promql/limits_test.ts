import assert from "node:assert/strict";
import type { Matcher } from "../model/matchers.ts";
import { toLabels } from "../model/labels.ts";
import type { SelectHints, SeriesData } from "../model/storage.ts";
import { MemStore } from "../tsdb/mem_querier.ts";
import { createEngine } from "./engine.ts";
import { QueryTimeoutError, QueryTooManySamplesError, QueryTooManySeriesError } from "./errors.ts";

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
  // A subquery at a 1 s step over an hour for 300 series: far more than 300 ms of work.
  const heavy = createEngine({ querier: store(300), timeoutMs: 300 });
  const started = Date.now();
  await assert.rejects(
    heavy.instantQuery("sum(count_over_time((x * 2)[1h:1s]))", 60 * MIN),
    (e) => e instanceof QueryTimeoutError && /expression evaluation/.test(e.message),
  );
  assert.ok(Date.now() - started < 3_000, `stopped after ${Date.now() - started} ms`);
});
