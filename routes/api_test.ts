import assert from "node:assert/strict";
import { resolveConfig } from "../core/config/mod.ts";
import { toLabels } from "../core/model/mod.ts";
import { createEngine, RangeResultCache } from "../core/promql/mod.ts";
import { MemStore } from "../core/tsdb/mod_testing.ts";
import { apiRoutes } from "./api.ts";
import { loadYaml } from "../core/model/mod.ts";

// The sync parsers these tests call read YAML through the lazily loaded library.
await loadYaml();

const T0 = Date.UTC(2024, 0, 15, 10, 0, 0);

function setup(rangeCache?: RangeResultCache) {
  const store = new MemStore();
  // Two hosts, a counter rising 10/min and a gauge, one sample per 15 s for an hour.
  for (const host of ["a", "b"]) {
    for (let i = 0; i <= 240; i++) {
      const t = T0 + i * 15_000;
      store.add(
        toLabels("http_requests_total", { host, job: "web" }),
        t,
        i * 2.5 * (host === "a" ? 1 : 2),
      );
      store.add(toLabels("temp_celsius", { host }), t, 20 + (i % 4) * 0.25);
    }
  }
  const r = resolveConfig({});
  if (!r.ok) throw new Error("config");
  const app = apiRoutes({
    engine: () => createEngine({ querier: store }),
    querier: store,
    config: () => r.config,
    startedAt: new Date(T0),
    flags: { "storage.data_dir": "./data" },
    reloadState: () => ({ ok: true, at: new Date(T0) }),
    now: () => T0 + 3_600_000,
    rangeCache,
  });
  return { app, store };
}

async function get(app: ReturnType<typeof setup>["app"], path: string, init?: RequestInit) {
  const res = await app.request(path, init);
  return { status: res.status, body: await res.json() };
}

Deno.test("GET /api/v1/query returns Prometheus's vector shape", async () => {
  const { app } = setup();
  const t = (T0 + 3_600_000) / 1000;
  const r = await get(
    app,
    `/api/v1/query?query=sum%20by%20(job)%20(rate(http_requests_total[5m]))&time=${t}`,
  );
  assert.equal(r.status, 200);
  assert.equal(r.body.status, "success");
  assert.equal(r.body.data.resultType, "vector");
  assert.deepEqual(r.body.data.result, [{ metric: { job: "web" }, value: [t, "0.5"] }]);
});

Deno.test("GET /api/v1/query accepts RFC 3339 times and form POSTs", async () => {
  const { app } = setup();
  const r = await get(app, "/api/v1/query", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "query=temp_celsius%7Bhost%3D%22a%22%7D&time=2024-01-15T10:00:30Z",
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data.result, [{
    metric: { __name__: "temp_celsius", host: "a" },
    value: [(T0 + 30_000) / 1000, "20.5"],
  }]);
});

Deno.test("GET /api/v1/query answers scalars and strings", async () => {
  const { app } = setup();
  let r = await get(app, "/api/v1/query?query=1%2B1&time=100");
  assert.deepEqual(r.body.data, { resultType: "scalar", result: [100, "2"] });
  r = await get(app, "/api/v1/query?query=%22hi%22&time=100.5");
  assert.deepEqual(r.body.data, { resultType: "string", result: [100.5, "hi"] });
  r = await get(app, "/api/v1/query?query=1%2F0&time=1");
  assert.deepEqual(r.body.data.result, [1, "+Inf"]);
});

Deno.test("GET /api/v1/query maps errors to Prometheus's types and codes", async () => {
  const { app } = setup();
  let r = await get(app, "/api/v1/query?query=sum(");
  assert.equal(r.status, 400);
  assert.equal(r.body.status, "error");
  assert.equal(r.body.errorType, "bad_data");
  assert.match(r.body.error, /^invalid parameter "query": 1:5: parse error/);
  r = await get(app, "/api/v1/query?query=up&time=yesterday");
  assert.equal(r.status, 400);
  assert.match(r.body.error, /invalid parameter "time"/);
  r = await get(app, "/api/v1/query");
  assert.equal(r.status, 400);
  // Many-to-many matching is an execution error: 422.
  r = await get(
    app,
    `/api/v1/query?query=${encodeURIComponent("http_requests_total + on(job) temp_celsius")}&time=${
      (T0 + 60_000) / 1000
    }`,
  );
  assert.equal(r.status, 422);
  assert.equal(r.body.errorType, "execution");
});

Deno.test("GET /api/v1/query_range returns a matrix and validates step", async () => {
  const { app } = setup();
  const start = T0 / 1000, end = start + 120;
  const r = await get(
    app,
    `/api/v1/query_range?query=temp_celsius{host="b"}&start=${start}&end=${end}&step=1m`,
  );
  assert.equal(r.status, 200);
  assert.equal(r.body.data.resultType, "matrix");
  assert.deepEqual(r.body.data.result[0].values, [[start, "20"], [start + 60, "20"], [
    start + 120,
    "20",
  ]]);
  let bad = await get(app, `/api/v1/query_range?query=up&start=${start}&end=${end}&step=0`);
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /zero or negative query resolution step/);
  bad = await get(app, `/api/v1/query_range?query=up&start=${start}&end=${start + 100000}&step=1`);
  assert.match(bad.body.error, /11,000 points/);
  bad = await get(app, `/api/v1/query_range?query=up&start=${end}&end=${start}&step=1`);
  assert.match(bad.body.error, /end timestamp must not be before start time/);
});

Deno.test("series, labels and label values list what is stored", async () => {
  const { app } = setup();
  let r = await get(app, "/api/v1/series?match[]=http_requests_total");
  assert.deepEqual(r.body.data, [
    { __name__: "http_requests_total", host: "a", job: "web" },
    { __name__: "http_requests_total", host: "b", job: "web" },
  ]);
  r = await get(app, "/api/v1/series?match[]=http_requests_total&limit=1");
  assert.equal(r.body.data.length, 1);
  assert.deepEqual(r.body.warnings, ["results truncated due to limit"]);
  r = await get(app, "/api/v1/series");
  assert.equal(r.status, 400);
  assert.equal(r.body.error, "no match[] parameter provided");
  r = await get(app, "/api/v1/labels");
  assert.deepEqual(r.body.data, ["__name__", "host", "job"]);
  r = await get(app, "/api/v1/labels?match[]=temp_celsius");
  assert.deepEqual(r.body.data, ["__name__", "host"]);
  r = await get(app, "/api/v1/label/__name__/values");
  assert.deepEqual(r.body.data, ["http_requests_total", "temp_celsius"]);
  r = await get(app, "/api/v1/label/host/values?limit=1");
  assert.deepEqual(r.body.data, ["a"]);
  assert.deepEqual(r.body.warnings, ["results truncated due to limit"]);
});

Deno.test("the product spec's simple query form returns raw samples or an aggregate", async () => {
  const { app } = setup();
  let r = await get(
    app,
    "/api/v1/query?metric=temp_celsius&start=2024-01-15T10:00:00Z&end=2024-01-15T10:00:30Z",
  );
  assert.equal(r.status, 200);
  assert.equal(r.body.data.resultType, "matrix");
  assert.equal(r.body.data.result.length, 2);
  assert.deepEqual(r.body.data.result[0].values, [[T0 / 1000, "20"], [T0 / 1000 + 15, "20.25"], [
    T0 / 1000 + 30,
    "20.5",
  ]]);
  r = await get(
    app,
    "/api/v1/query?metric=temp_celsius&start=2024-01-15T10:00:00Z&end=2024-01-15T10:01:00Z&func=sum&step=30s",
  );
  assert.deepEqual(r.body.data.result, [{
    metric: {},
    values: [[T0 / 1000, "40"], [T0 / 1000 + 30, "41"], [T0 / 1000 + 60, "40"]],
  }]);
  r = await get(app, "/api/v1/query?metric=temp_celsius&func=median");
  assert.equal(r.status, 400);
  assert.match(r.body.error, /"func"/);
});

Deno.test("format_query, parse_query and status endpoints answer", async () => {
  const { app } = setup();
  let r = await get(
    app,
    `/api/v1/format_query?query=${encodeURIComponent("sum(rate(x[5m]))by(job)")}`,
  );
  assert.equal(r.body.data, "sum by (job) (rate(x[5m]))");
  r = await get(app, "/api/v1/parse_query?query=up");
  assert.equal(r.body.data.type, "VectorSelector");
  r = await get(app, "/api/v1/status/buildinfo");
  assert.match(r.body.data.version, /^\d+\.\d+\.\d+/);
  r = await get(app, "/api/v1/status/runtimeinfo");
  assert.equal(r.body.data.reloadConfigSuccess, true);
  assert.equal(r.body.data.storageRetention, "28d");
  r = await get(app, "/api/v1/status/config");
  assert.match(r.body.data.yaml, /data_dir: \.\/data/);
  r = await get(app, "/api/v1/status/flags");
  assert.equal(r.body.data["storage.data_dir"], "./data");
});

Deno.test("GET /api/v1/query_range answers from the range cache exactly as without it", async () => {
  const cache = new RangeResultCache({ immutableBefore: () => T0 + 40 * 60_000 });
  const cached = setup(cache).app, plain = setup().app;
  const path = `/api/v1/query_range?query=${encodeURIComponent("rate(http_requests_total[5m])")}` +
    `&start=${T0 / 1000 + 300}&end=${T0 / 1000 + 3600}&step=60`;
  const want = await get(plain, path);
  assert.equal(want.status, 200);
  assert.equal(want.body.data.result.length, 2);
  assert.deepEqual(await get(cached, path), want);
  assert.deepEqual(await get(cached, path), want);
  assert.deepEqual({ hits: cache.stats().hits, misses: cache.stats().misses }, {
    hits: 1,
    misses: 1,
  });
});

Deno.test("GET /api/v1/status/config hides the secret in a Slack api_url", async () => {
  const r = resolveConfig({
    fileText: "receivers:\n  - name: chat\n    slack_configs:\n" +
      "      - api_url: https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX\n",
  });
  if (!r.ok) throw new Error(r.errors.join("; "));
  const app = apiRoutes({
    engine: () => createEngine({ querier: new MemStore() }),
    querier: new MemStore(),
    config: () => r.config,
    startedAt: new Date(T0),
    flags: {},
    reloadState: () => ({ ok: true, at: new Date(T0) }),
  });
  const res = await get(app, "/api/v1/status/config");
  assert.equal(res.status, 200);
  assert.doesNotMatch(res.body.data.yaml, /XXXXSECRETXXXX/);
  assert.match(res.body.data.yaml, /api_url: <secret>/);
});

Deno.test("GET /api/v1/query_range over data older than the head, end - start not a multiple of step", async () => {
  // Everything queried lies before the head's oldest sample: the cache holds
  // the whole range. Prometheus's grid stops at the last step <= end.
  for (const maxBytes of [0, 8 << 20]) {
    const cache = new RangeResultCache({ immutableBefore: () => T0 + 86_400_000, maxBytes });
    const cached = setup(cache).app, plain = setup().app;
    const path = `/api/v1/query_range?query=${
      encodeURIComponent("sum(rate(http_requests_total[5m]))")
    }&start=${T0 / 1000 + 300}&end=${T0 / 1000 + 3590}&step=60`;
    const want = await get(plain, path);
    assert.equal(want.status, 200);
    assert.equal(want.body.data.result[0].values.length, 55);
    assert.deepEqual(await get(cached, path), want, `maxBytes ${maxBytes}`);
    assert.deepEqual(await get(cached, path), want, `maxBytes ${maxBytes}, again`);
  }
});

Deno.test("stats=all adds Prometheus's timings and samples to a query result", async () => {
  const { app } = setup();
  const t = (T0 + 3_600_000) / 1000;
  const r = await get(app, `/api/v1/query?query=rate(http_requests_total[5m])&time=${t}&stats=all`);
  assert.equal(r.status, 200);
  const s = r.body.data.stats;
  for (
    const k of [
      "evalTotalTime",
      "resultSortTime",
      "queryPreparationTime",
      "innerEvalTime",
      "execQueueTime",
      "execTotalTime",
    ]
  ) {
    assert.equal(typeof s.timings[k], "number", k);
    assert.ok(s.timings[k] >= 0, k);
  }
  assert.ok(s.timings.execTotalTime >= s.timings.evalTotalTime);
  // Two series, 20 samples each in the 5 m window (15 s apart, left-open as in Prometheus 3).
  assert.equal(s.samples.totalQueryableSamples, 40);
  assert.ok(s.samples.peakSamples > 0);
  const none = await get(app, `/api/v1/query?query=1&time=${t}`);
  assert.equal(none.body.data.stats, undefined);
});

Deno.test("GET /api/v1/query_exemplars answers an empty list, and 400 for a bad query", async () => {
  const { app } = setup();
  let r = await get(app, "/api/v1/query_exemplars?query=http_requests_total&start=0&end=100");
  assert.deepEqual(r, { status: 200, body: { status: "success", data: [] } });
  r = await get(app, "/api/v1/query_exemplars?query=sum(&start=0&end=100");
  assert.equal(r.status, 400);
  assert.equal(r.body.errorType, "bad_data");
  r = await get(app, "/api/v1/query_exemplars?query=up&start=100&end=1");
  assert.equal(r.status, 400);
});

Deno.test("GET /api/v1/alertmanagers lists the Alertmanagers alerts go to", async () => {
  const r = resolveConfig({});
  if (!r.ok) throw new Error("config");
  const store = new MemStore();
  const app = apiRoutes({
    engine: () => createEngine({ querier: store }),
    querier: store,
    config: () => r.config,
    startedAt: new Date(T0),
    flags: {},
    reloadState: () => ({ ok: true, at: new Date(T0) }),
    alertmanagers: () => ["http://am:9093/api/v2/alerts"],
  });
  assert.deepEqual((await get(app, "/api/v1/alertmanagers")).body.data, {
    activeAlertmanagers: [{ url: "http://am:9093/api/v2/alerts" }],
    droppedAlertmanagers: [],
  });
  assert.deepEqual((await get(setup().app, "/api/v1/alertmanagers")).body.data, {
    activeAlertmanagers: [],
    droppedAlertmanagers: [],
  });
});

Deno.test("GET /api/v1/series over query.max_series is refused with 422 unless a limit is under it", async () => {
  const store = new MemStore();
  for (let i = 0; i < 20; i++) store.add(toLabels("many", { i: String(i) }), T0, i);
  const r = resolveConfig({ env: { PERCH_QUERY__MAX_SERIES: "10" } });
  if (!r.ok) throw new Error("config");
  const app = apiRoutes({
    engine: () => createEngine({ querier: store }),
    querier: store,
    config: () => r.config,
    startedAt: new Date(T0),
    flags: {},
    reloadState: () => ({ ok: true, at: new Date(T0) }),
  });
  let res = await get(app, "/api/v1/series?match[]=many");
  assert.equal(res.status, 422);
  assert.equal(res.body.error, "query selects more than 10 series (query.max_series)");
  res = await get(app, "/api/v1/series?match[]=many&limit=5");
  assert.equal(res.status, 200);
  assert.equal(res.body.data.length, 5);
});
