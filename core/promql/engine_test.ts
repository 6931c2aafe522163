import assert from "node:assert/strict";
import { newMatcher, SampleArenaPool, SampleBatch, STALE_NAN, toLabels } from "../model/mod.ts";
import { MemStore, tempDB } from "../tsdb/mod_testing.ts";
import type { Expr, VectorSelector } from "./ast.ts";
import { createEngine } from "./engine.ts";
import { parseExpr } from "./parser.ts";
import {
  QueryExecutionError,
  QueryTimeoutError,
  QueryTooManySamplesError,
  QueryTooManySeriesError,
} from "./errors.ts";
import type { Value } from "./value.ts";

const MIN = 60_000;

function store(): MemStore {
  const s = new MemStore();
  for (let i = 0; i <= 10; i++) {
    s.add(toLabels("req_total", { job: "a" }), i * MIN, i * 60);
    s.add(toLabels("req_total", { job: "b" }), i * MIN, i * 120);
  }
  return s;
}

function vec(v: Value): Record<string, number> {
  if (v.type !== "vector") throw new Error(`expected vector, got ${v.type}`);
  const o: Record<string, number> = {};
  for (const s of v.samples) o[JSON.stringify(s.labels.map((l) => [l.name, l.value]))] = s.v;
  return o;
}

function sel(name: string, extra: Partial<VectorSelector> = {}): VectorSelector {
  return {
    type: "VectorSelector",
    name,
    matchers: [newMatcher("=", "__name__", name)],
    offset: 0,
    pos: { start: 0, end: name.length },
    ...extra,
  };
}

Deno.test("instantQuery() evaluates a hand-built AST without the parser", async () => {
  const e: Expr = {
    type: "AggregateExpr",
    op: "sum",
    expr: sel("req_total"),
    grouping: [],
    without: false,
    pos: { start: 0, end: 1 },
  };
  const r = await createEngine({ querier: store() }).instantQuery(e, 5 * MIN);
  assert.deepEqual(vec(r.result), { "[]": 900 });
});

Deno.test("instantQuery() applies lookback and ends a series at a staleness marker", async () => {
  const s = new MemStore();
  s.add(toLabels("g", {}), 0, 1);
  s.add(toLabels("g", {}), 10_000, 2);
  s.add(toLabels("g", {}), 20_000, STALE_NAN);
  const eng = createEngine({ querier: s });
  assert.deepEqual(vec((await eng.instantQuery("g", 15_000)).result), { '[["__name__","g"]]': 2 });
  assert.deepEqual(vec((await eng.instantQuery("g", 25_000)).result), {});
  const s2 = new MemStore();
  s2.add(toLabels("g", {}), 0, 1);
  const eng2 = createEngine({ querier: s2 });
  assert.equal(Object.keys(vec((await eng2.instantQuery("g", 299_999)).result)).length, 1);
  assert.equal(Object.keys(vec((await eng2.instantQuery("g", 300_000)).result)).length, 0);
});

Deno.test("rate() extrapolates and drops the metric name", async () => {
  const r = await createEngine({ querier: store() }).instantQuery("rate(req_total[5m])", 10 * MIN);
  assert.deepEqual(vec(r.result), { '[["job","a"]]': 1, '[["job","b"]]': 2 });
});

Deno.test("rangeQuery() returns a matrix sorted by labels with one point per step", async () => {
  const r = await createEngine({ querier: store() }).rangeQuery(
    "req_total * 2",
    0,
    2 * MIN,
    MIN,
  );
  assert.equal(r.result.type, "matrix");
  if (r.result.type !== "matrix") return;
  assert.deepEqual(r.result.series.map((s) => s.labels), [
    toLabels(undefined, { job: "a" }),
    toLabels(undefined, { job: "b" }),
  ]);
  assert.deepEqual([...r.result.series[0]!.t], [0, MIN, 2 * MIN]);
  assert.deepEqual([...r.result.series[1]!.v], [0, 240, 480]);
});

Deno.test("the absolute range metric[t1:t2] covers exactly [t1, t2]", async () => {
  const eng = createEngine({ querier: store() });
  const t1 = new Date(2 * MIN).toISOString(), t2 = new Date(4 * MIN).toISOString();
  const r = await eng.instantQuery(`count_over_time(req_total{job="a"}[${t1}:${t2}])`, 10 * MIN);
  assert.deepEqual(vec(r.result), { '[["job","a"]]': 3 });
});

Deno.test("subquery steps are aligned to absolute multiples of the step", async () => {
  const eng = createEngine({ querier: store() });
  // At 5m30s a [2m:1m] subquery sees steps at 4m and 5m (3m30s excluded).
  const r = await eng.instantQuery(`count_over_time(req_total{job="a"}[2m:1m])`, 5.5 * MIN);
  assert.deepEqual(vec(r.result), { '[["job","a"]]': 2 });
});

Deno.test("@ start() pins a selector to the query start in a range query", async () => {
  const r = await createEngine({ querier: store() }).rangeQuery(
    `req_total{job="a"} @ start()`,
    MIN,
    3 * MIN,
    MIN,
  );
  if (r.result.type !== "matrix") throw new Error("expected matrix");
  assert.deepEqual([...r.result.series[0]!.v], [60, 60, 60]);
});

Deno.test("many-to-many matching fails with a QueryExecutionError", async () => {
  const eng = createEngine({ querier: store() });
  await assert.rejects(
    () => eng.instantQuery("req_total + on() req_total", 5 * MIN),
    (e) => e instanceof QueryExecutionError && /many-to-many matching not allowed/.test(e.message),
  );
});

Deno.test("limits: too many samples, too many series and timeouts are typed errors", async () => {
  const s = store();
  await assert.rejects(
    () => createEngine({ querier: s, maxSamples: 5 }).rangeQuery("req_total", 0, 10 * MIN, MIN),
    QueryTooManySamplesError,
  );
  await assert.rejects(
    () => createEngine({ querier: s, maxSeries: 1 }).instantQuery("req_total", 0),
    QueryTooManySeriesError,
  );
  await assert.rejects(
    () => createEngine({ querier: s, timeoutMs: -1 }).instantQuery("req_total", 0),
    QueryTimeoutError,
  );
});

Deno.test("label_replace() with an invalid regex fails with the regex in the message", async () => {
  const eng = createEngine({ querier: store() });
  await assert.rejects(
    () => eng.instantQuery(`label_replace(req_total, "x", "$1", "job", "(.*")`, 0),
    (e) => e instanceof QueryExecutionError && e.message.includes("label_replace(): (.*"),
  );
});

Deno.test("results stay intact while later and concurrent queries reuse the sample arenas", async () => {
  const { db, dir } = await tempDB();
  const T = 1_700_000_000_000;
  const b = new SampleBatch();
  for (let h = 0; h < 5; h++) {
    const a = b.addSeries(toLabels("temp", { host: `h${h}` }), `t${h}`);
    const c = b.addSeries(toLabels("load", { host: `h${h}` }), `l${h}`);
    for (let i = 0; i < 120; i++) {
      b.add(a, T + i * 15_000, h * 100 + i);
      b.add(c, T + i * 15_000, -h - i / 4);
    }
  }
  await db.append(b);
  await db.flush();
  // Slabs of 64 samples: every query spans several, and reuses the last one's.
  const eng = createEngine({ querier: db, arenas: new SampleArenaPool(1, { slabSamples: 64 }) });
  const end = T + 119 * 15_000;
  const queries = [
    () => eng.rangeQuery("temp", T, end, 60_000),
    () => eng.instantQuery("temp[5m]", end),
    () => eng.rangeQuery("sum by (host) (rate(load[2m]))", T, end, 30_000),
    () => eng.instantQuery("load[10m]", end - 60_000),
  ];
  const copy = (v: Value) =>
    JSON.parse(JSON.stringify(v, (_k, x) => ArrayBuffer.isView(x) ? [...(x as Float64Array)] : x));
  const first = [];
  for (const q of queries) first.push((await q()).result);
  const saved = first.map(copy);
  for (let round = 0; round < 3; round++) {
    // Other data into the same memory, one query at a time and side by side.
    for (let k = 1; k <= 4; k++) await eng.instantQuery("load[5m]", end - k * 60_000);
    const again = await Promise.all(queries.map((q) => q()));
    assert.deepEqual(again.map((r) => copy(r.result)), saved);
  }
  assert.deepEqual(first.map(copy), saved, "earlier results are not overwritten");
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("quantile and limit_ratio warnings print the parameter as Prometheus (Go's %g)", async () => {
  const engine = createEngine({ querier: store() });
  const q = await engine.instantQuery("quantile(2e6, req_total)", 5 * MIN);
  assert.deepEqual(q.warnings, [
    "PromQL warning: quantile value should be between 0 and 1, got 2e+06 (1:10)",
  ]);
  const r = await engine.instantQuery("limit_ratio(-0.00001 - 1e6, req_total)", 5 * MIN);
  assert.deepEqual(r.warnings, [
    "PromQL warning: ratio value should be between -1 and 1, got -1.00000000001e+06, capping to -1 (1:13)",
  ]);
});

Deno.test("an annotation names the line and column of a multi-line query, as Prometheus", async () => {
  const engine = createEngine({ querier: store() });
  const text = "sum(\n  quantile(\n    2, req_total\n  )\n)";
  for (const expr of [text, parseExpr(text)]) {
    const q = await engine.instantQuery(expr, 5 * MIN);
    assert.deepEqual(q.warnings, [
      "PromQL warning: quantile value should be between 0 and 1, got 2 (3:5)",
    ]);
  }
});
