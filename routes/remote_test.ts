import assert from "node:assert/strict";
import { IngestPipeline } from "../core/ingest/mod.ts";
import { newMatcher } from "../core/model/mod.ts";
import { remoteRoutes } from "./remote.ts";
import { tempDB } from "../core/tsdb/mod_testing.ts";
import { loadSamples as load, NOW, sameSeries } from "./_test_storage.ts";

async function setup(dir?: string) {
  const { db, dir: d } = await tempDB(dir);
  const pipeline = new IngestPipeline({ appender: db });
  const app = remoteRoutes({
    querier: db,
    pipeline,
    externalLabels: () => ({ site: "edge" }),
    now: () => NOW,
  });
  return { db, app, dir: d };
}

Deno.test("GET /federate writes the latest sample per series with Prometheus semantics", async () => {
  const { db, app } = await setup();
  await load(db);
  const res = await app.request("/federate?match[]={__name__=~%22.%2B%22}");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /version=0\.0\.4/);
  const text = await res.text();
  assert.equal(
    text,
    [
      "# TYPE reqs_total counter",
      `reqs_total{site="own"} -Inf ${NOW - 10_000}`,
      "# TYPE temp gauge",
      `temp{room="a",site="edge"} 21 ${NOW - 60_000}`,
      `temp{room="b\\"q",site="edge"} +Inf ${NOW - 30_000}`,
      "",
    ].join("\n"),
  );
  // `gone` ended with a staleness marker, `old` is past the lookback.
  // Without match[] Prometheus answers 200 with nothing, and so does Perch.
  const none = await app.request("/federate");
  assert.equal(none.status, 200);
  assert.equal(await none.text(), "");
  const bad = await app.request("/federate?match[]=%7B");
  assert.equal(bad.status, 400);
  await db.close();
});

async function exportAll(app: Awaited<ReturnType<typeof setup>>["app"], format = "") {
  const res = await app.request(
    `/api/v1/export?match[]={__name__=~%22.%2B%22}&start=0&end=${NOW / 1000}${format}`,
  );
  assert.equal(res.status, 200);
  return await res.text();
}

Deno.test("export → import into a fresh Perch is lossless (NaN, ±Inf, staleness)", async () => {
  const src = await setup();
  await load(src.db);
  const lines = await exportAll(src.app);
  assert.ok(lines.includes('"StaleNaN"') && lines.includes('"Inf"') && lines.includes('"-Inf"'));
  const first = JSON.parse(lines.split("\n")[0]!);
  assert.deepEqual(Object.keys(first), ["metric", "values", "timestamps"]);
  const dst = await setup();
  const imp = await dst.app.request("/api/v1/import", { method: "POST", body: lines });
  assert.equal(imp.status, 204, await imp.text());
  const all = [newMatcher("=~", "__name__", ".+")];
  const hints = { minT: 0, maxT: NOW };
  sameSeries(await src.db.select(all, hints), await dst.db.select(all, hints));
  assert.equal(await exportAll(dst.app), lines);
  await src.db.close();
  await dst.db.close();
});

Deno.test("POST /api/v1/import names the line of a bad row and keeps the good ones", async () => {
  const { db, app } = await setup();
  const body = [
    JSON.stringify({ metric: { __name__: "ok" }, values: [1], timestamps: [NOW] }),
    "{not json",
    JSON.stringify({ metric: { __name__: "x" }, values: [1, 2], timestamps: [NOW] }),
  ].join("\n");
  const res = await app.request("/api/v1/import", { method: "POST", body });
  assert.equal(res.status, 400);
  const j = await res.json();
  assert.equal(j.accepted, 1);
  assert.deepEqual(j.errors.map((e: { field: string }) => e.field), [
    "line 2",
    "line 3 timestamps",
  ]);
  await db.close();
});

Deno.test("export format=csv writes one quoted row per sample", async () => {
  const { db, app } = await setup();
  await load(db);
  const csv = await exportAll(app, "&format=csv");
  const rows = csv.trimEnd().split("\n");
  assert.equal(rows[0], "series,timestamp_ms,value");
  assert.ok(rows.includes(`"temp{room=""b\\""q""}",${NOW - 30_000},Inf`), csv);
  assert.ok(rows.includes(`gone{},${NOW - 30_000},StaleNaN`));
  assert.equal(rows.length, 1 + 8);
  await db.close();
});
