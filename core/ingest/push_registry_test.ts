import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { labelsToObject } from "../model/mod.ts";
import { createEngine } from "../promql/mod.ts";
import { openDB } from "../tsdb/mod.ts";
import { ingestRoutes } from "../../routes/ingest.ts";
import { IngestPipeline } from "./pipeline.ts";
import { PushRegistry } from "./push_registry.ts";

const T0 = Date.UTC(2026, 5, 1, 12);
const HOUR = 3_600_000;

/** A Perch in miniature: real storage, pipeline, registry, routes and engine on a fake clock. */
async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "perch-push-" });
  const clock = new FakeClock(T0);
  const db = await openDB({
    dir,
    useWorker: false,
    backgroundIntervalMs: 0,
    fsync: "interval",
    now: () => clock.now(),
  });
  const kv = await Deno.openKv(`${dir}/state.kv`);
  const pipeline = new IngestPipeline({ appender: db });
  const newRegistry = () =>
    new PushRegistry({
      kv,
      append: (rows) => pipeline.ingest("pushgateway", rows),
      clock,
      intervalMs: () => 15_000,
    });
  let registry = newRegistry();
  await registry.open();
  registry.start();
  const app = () => ingestRoutes({ pipeline, now: () => clock.now(), pushRegistry: registry });
  let routes = app();
  const engine = createEngine({ querier: db });
  const query = async (q: string) => {
    const r = await engine.instantQuery(q, clock.now());
    assert.equal(r.result.type, "vector");
    return r.result.type === "vector"
      ? r.result.samples.map((s): Record<string, string | number> => ({
        ...labelsToObject(s.labels),
        value: s.v,
      }))
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
      : [];
  };
  const send = async (method: string, path: string, body?: string) => {
    const res = await routes.request(path, { method, body });
    const text = await res.text();
    return { status: res.status, text };
  };
  return {
    clock,
    query,
    send,
    registry: () => registry,
    /** A new registry over the same KV, as after a restart. */
    async restart() {
      await registry.stop();
      registry = newRegistry();
      await registry.open();
      registry.start();
      routes = app();
    },
    async close() {
      await registry.stop();
      kv.close();
      await db.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("PushRegistry: a pushed value stays visible to instant queries an hour later, and after a restart", async () => {
  const p = await setup();
  try {
    let r = await p.send(
      "PUT",
      "/metrics/job/backup/host/nas",
      "# TYPE backup_last_success_seconds gauge\nbackup_last_success_seconds 1780000000\n",
    );
    assert.equal(r.status, 200, r.text);
    await p.clock.advance(HOUR);
    assert.deepEqual(await p.query("backup_last_success_seconds"), [{
      __name__: "backup_last_success_seconds",
      host: "nas",
      job: "backup",
      value: 1780000000,
    }]);
    assert.deepEqual(await p.query("push_time_seconds"), [{
      __name__: "push_time_seconds",
      host: "nas",
      job: "backup",
      value: T0 / 1000,
    }]);
    assert.deepEqual(await p.query("push_failure_time_seconds"), [{
      __name__: "push_failure_time_seconds",
      host: "nas",
      job: "backup",
      value: 0,
    }]);

    await p.restart();
    await p.clock.advance(HOUR);
    assert.equal((await p.query("backup_last_success_seconds"))[0]?.value, 1780000000);
    r = await p.send("POST", "/metrics/job/backup/host/nas", "backup_bytes 5\n");
    assert.equal(r.status, 200);
  } finally {
    await p.close();
  }
});

Deno.test("PushRegistry: PUT replaces the group, POST merges by metric family, DELETE removes it at once", async () => {
  const p = await setup();
  try {
    const path = "/metrics/job/etl";
    await p.send("PUT", path, "rows_loaded 10\nrows_failed 1\n");
    await p.clock.advance(60_000);
    // POST replaces only the families it carries.
    await p.send("POST", path, "rows_loaded 20\n");
    await p.clock.advance(60_000);
    assert.deepEqual(await p.query('{job="etl",__name__=~"rows_.*"}'), [
      { __name__: "rows_failed", job: "etl", value: 1 },
      { __name__: "rows_loaded", job: "etl", value: 20 },
    ]);
    // PUT replaces everything: rows_failed ends now, not after the lookback.
    await p.send("PUT", path, "rows_loaded 30\n");
    await p.clock.advance(1000);
    assert.deepEqual(await p.query('{job="etl",__name__=~"rows_.*"}'), [
      { __name__: "rows_loaded", job: "etl", value: 30 },
    ]);
    // Another group is separate.
    await p.send("PUT", "/metrics/job/etl/instance/b", "rows_loaded 1\n");
    const r = await p.send("DELETE", path);
    assert.equal(r.status, 202);
    await p.clock.advance(HOUR);
    assert.deepEqual(await p.query("rows_loaded"), [
      { __name__: "rows_loaded", instance: "b", job: "etl", value: 1 },
    ]);
    assert.deepEqual((await p.query("push_time_seconds")).map((s) => s.instance), ["b"]);
  } finally {
    await p.close();
  }
});

Deno.test("PushRegistry: a histogram family moves as one; a broken push changes nothing and sets push_failure_time_seconds", async () => {
  const p = await setup();
  try {
    const path = "/metrics/job/batch";
    const hist = [
      "# TYPE dur_seconds histogram",
      'dur_seconds_bucket{le="1"} 2',
      'dur_seconds_bucket{le="+Inf"} 3',
      "dur_seconds_sum 4.5",
      "dur_seconds_count 3",
      "",
    ].join("\n");
    await p.send("PUT", path, hist + "other 1\n");
    await p.clock.advance(15_000);
    await p.send(
      "POST",
      path,
      "# TYPE dur_seconds histogram\ndur_seconds_count 0\ndur_seconds_sum 0\n",
    );
    await p.clock.advance(15_000);
    // The whole family was replaced: no buckets left.
    assert.deepEqual(await p.query('{__name__=~"dur_seconds.*"}'), [
      { __name__: "dur_seconds_count", job: "batch", value: 0 },
      { __name__: "dur_seconds_sum", job: "batch", value: 0 },
    ]);
    await p.clock.advance(15_000);
    const failedAt = p.clock.now();
    // A syntax error changes nothing, as in the Pushgateway.
    let r = await p.send("PUT", path, "other 2\nbroken{ 3\n");
    assert.equal(r.status, 400);
    assert.equal((await p.query("push_failure_time_seconds"))[0]?.value, 0);
    // A push the pipeline refuses keeps the group and records the failure.
    r = await p.send("PUT", path, 'other 2\nnew_one 5\nx{__reserved="1"} 3\n');
    assert.equal(r.status, 400, r.text);
    // Undone at once: the group's value is back, the series only that push had ended.
    assert.deepEqual(await p.query("other"), [{ __name__: "other", job: "batch", value: 1 }]);
    assert.deepEqual(await p.query("new_one"), []);
    await p.clock.advance(HOUR);
    assert.deepEqual(await p.query("other"), [{ __name__: "other", job: "batch", value: 1 }]);
    assert.equal((await p.query("push_failure_time_seconds"))[0]?.value, failedAt / 1000);
    // The admin wipe removes every group.
    await p.send("PUT", "/metrics/job/x", "x 1\n");
    assert.equal((await p.send("PUT", "/api/v1/admin/wipe")).status, 202);
    await p.clock.advance(1000);
    assert.deepEqual(await p.query('{__name__=~"other|x|push_time_seconds"}'), []);
    assert.deepEqual(p.registry().groups(), []);
  } finally {
    await p.close();
  }
});
