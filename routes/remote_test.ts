import assert from "node:assert/strict";
import { IngestPipeline } from "../core/ingest/mod.ts";
import {
  isStaleNaN,
  labelsKey,
  newMatcher,
  SampleBatch,
  type SeriesData,
  STALE_NAN,
  toLabels,
} from "../core/model/mod.ts";
import { openDB } from "../core/tsdb/mod.ts";
import { remoteRoutes } from "./remote.ts";

async function setup(dir?: string) {
  dir ??= await Deno.makeTempDir({ prefix: "perch-remote-routes-" });
  const db = await openDB({
    dir,
    useWorker: false,
    backgroundIntervalMs: 0,
    outOfOrderWindowMs: Infinity,
  });
  const pipeline = new IngestPipeline({ appender: db });
  const app = remoteRoutes({
    querier: db,
    pipeline,
    storage: db,
    dataDir: dir,
    externalLabels: () => ({ site: "edge" }),
    now: () => NOW,
  });
  return { db, app, dir };
}

const NOW = Date.UTC(2025, 0, 1, 12);

async function load(db: Awaited<ReturnType<typeof setup>>["db"]) {
  const b = new SampleBatch();
  const add = (name: string, labels: Record<string, string>, pts: [number, number][]) => {
    const l = toLabels(name, labels);
    const ref = b.addSeries(l, labelsKey(l));
    for (const [t, v] of pts) b.add(ref, t, v);
  };
  add("temp", { room: "a" }, [[NOW - 120_000, 20.5], [NOW - 60_000, 21]]);
  add("temp", { room: 'b"q' }, [[NOW - 60_000, NaN], [NOW - 30_000, Infinity]]);
  add("gone", {}, [[NOW - 90_000, 1], [NOW - 30_000, STALE_NAN]]);
  add("old", {}, [[NOW - 3_600_000, 5]]);
  add("reqs_total", { site: "own" }, [[NOW - 10_000, -Infinity]]);
  await db.append(b);
  await db.setMetadata("reqs_total", { type: "counter", help: "", unit: "" });
  await db.setMetadata("temp", { type: "gauge", help: "", unit: "" });
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

function sameSeries(a: SeriesData[], b: SeriesData[]) {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(a[i]!.labels, b[i]!.labels);
    assert.deepEqual(Array.from(a[i]!.t), Array.from(b[i]!.t));
    for (let k = 0; k < a[i]!.v.length; k++) {
      const x = a[i]!.v[k]!, y = b[i]!.v[k]!;
      assert.equal(isStaleNaN(x), isStaleNaN(y), `stale marker at ${k}`);
      assert.ok(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)), `${x} vs ${y}`);
    }
  }
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

Deno.test("POST /api/v1/admin/tsdb/snapshot makes a copy that opens with the same data", async () => {
  const { db, app, dir } = await setup();
  await load(db);
  const res = await app.request("/api/v1/admin/tsdb/snapshot", { method: "POST" });
  assert.equal(res.status, 200);
  const { data } = await res.json();
  assert.match(data.name, /^\d{8}T\d{6}Z-[0-9a-f]{16}$/);
  assert.ok(data.blocks >= 1);
  assert.equal(data.linked, data.blocks, "blocks are hard links on one filesystem");
  // Writes after the snapshot do not show in it.
  await load(db);
  const b = new SampleBatch();
  const l = toLabels("after", {});
  b.add(b.addSeries(l, labelsKey(l)), NOW, 1);
  await db.append(b);
  const all = [newMatcher("=~", "__name__", ".+")];
  const hints = { minT: 0, maxT: NOW };
  const live = (await db.select(all, hints)).filter((s) => s.labels[0]!.value !== "after");
  await db.close();
  const restored = await setup(`${dir}/snapshots/${data.name}`);
  sameSeries(await restored.db.select(all, hints), live);
  await restored.db.close();
});
