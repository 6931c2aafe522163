import assert from "node:assert/strict";
import { silentLogger } from "../logging/mod.ts";
import { isStaleNaN, STALE_NAN } from "../model/mod.ts";
import { RemoteWriteManager } from "./manager.ts";
import { batchOf, fakeReceiver, peerConfigs, runRemoteWrite, waitFor } from "./_test_util.ts";
import { tempDB } from "../tsdb/mod_testing.ts";

/** This file's queue: batches of 100, up to 3 shards. */
const cfg = (url: string, extra: Record<string, unknown> = {}) =>
  peerConfigs(url, extra, { max_samples_per_send: 100, max_shards: 3 });

function times(from: number, n: number, step: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i * step);
}

Deno.test("remote write catches up oldest first, then follows live, each sample once", async () => {
  const now = Date.now();
  const { peer, m, app, close } = await runRemoteWrite((url) => cfg(url, { backfill: "2h" }), {
    seed: (db) => db.append(batchOf("temp", 5, times(now - 3_600_000, 360, 10_000))),
  });
  await waitFor(() => peer.total() === 5 * 360, 15_000, "catch-up");
  // Oldest first: every series arrived in ascending time order.
  for (const l of peer.samples.values()) {
    for (let i = 1; i < l.length; i++) assert.ok(l[i]!.t > l[i - 1]!.t);
  }
  await app.append(batchOf("temp", 5, [Date.now() - 10]));
  await waitFor(() => m.stats()[0]!.samplesSent === 5 * 361, 5000, "live sample");
  const s = m.stats()[0]!;
  assert.equal(peer.total(), 5 * 361);
  assert.equal(s.samplesSent, 5 * 361);
  assert.equal(s.samplesFailed, 0);
  await close();
});

Deno.test("remote write retries 5xx and 429 with backoff and loses nothing", async () => {
  const { peer, m, app, close } = await runRemoteWrite(cfg);
  peer.status = 503;
  const t0 = Date.now();
  for (let i = 0; i < 10; i++) {
    await app.append(batchOf("load", 4, [t0 + i * 10]));
    await new Promise((r) => setTimeout(r, 15));
  }
  await waitFor(() => m.stats()[0]!.samplesRetried > 0, 5000, "a retry");
  peer.status = 429;
  await new Promise((r) => setTimeout(r, 100));
  peer.status = 200;
  await waitFor(() => peer.total() >= 40, 10_000, "delivery after the outage");
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(peer.total(), 40);
  for (const l of peer.samples.values()) assert.equal(new Set(l.map((x) => x.t)).size, l.length);
  const s = m.stats()[0]!;
  assert.equal(s.samplesSent, 40);
  assert.ok(s.samplesRetried > 0);
  await close();
});

Deno.test("remote write drops a batch refused with 400 and counts it as failed", async () => {
  const { peer, m, app, close } = await runRemoteWrite(cfg);
  peer.status = 400;
  await app.append(batchOf("bad", 2, [Date.now()]));
  await waitFor(() => m.stats()[0]!.samplesFailed === 2, 5000, "a failed batch");
  peer.status = 200;
  await app.append(batchOf("good", 2, [Date.now()]));
  await waitFor(() => peer.total() === 2, 5000, "next batch");
  assert.ok([...peer.samples.keys()].every((k) => k.startsWith("good")));
  assert.equal(m.stats()[0]!.samplesRetried, 0);
  await close();
});

Deno.test("remote write sends samples appended behind its cursor exactly once", async () => {
  const { peer, m, app, close } = await runRemoteWrite(cfg);
  const now = Date.now();
  await app.append(batchOf("s", 1, [now]));
  await waitFor(() => peer.total() === 1, 5000, "first sample");
  await waitFor(() => m.endpoint("peer")!.cursor.t >= now, 5000, "cursor past the sample");
  // With settle_delay 0 the first sample itself may have gone through the late log.
  const lateBefore = m.stats()[0]!.lateSamples;
  // A sensor that buffered while offline: far behind the cursor, with a stale marker.
  const late = batchOf("s", 1, [now - 60_000, now - 30_000]);
  const b2 = batchOf("s", 1, [now - 20_000], () => STALE_NAN);
  await app.append(late);
  await app.append(b2);
  await waitFor(() => peer.total() === 4, 5000, "late samples");
  await new Promise((r) => setTimeout(r, 200));
  const got = peer.samples.get('s{i="0"}')!;
  assert.equal(got.length, 4);
  assert.equal(new Set(got.map((x) => x.t)).size, 4);
  assert.ok(isStaleNaN(got.find((x) => x.t === now - 20_000)!.v));
  assert.equal(m.stats()[0]!.lateSamples - lateBefore, 3);
  await close();
});

Deno.test("remote write resumes from its persisted cursor after a restart", async () => {
  const peer = await fakeReceiver();
  const { db, dir } = await tempDB();
  const open = () =>
    RemoteWriteManager.open({ querier: db, kv: `${dir}/remote.kv`, logger: silentLogger() });
  let m = await open();
  let app = m.appender(db);
  await m.apply(cfg(peer.url));
  const now = Date.now();
  await app.append(batchOf("r", 3, [now]));
  await waitFor(() => peer.total() === 3, 5000, "first batch");
  await m.close();
  // While remote write is down, data keeps coming in (after the cursor).
  const later = Date.now() + 5;
  await db.append(batchOf("r", 3, [later, later + 10]));
  m = await open();
  app = m.appender(db);
  await m.apply(cfg(peer.url));
  await waitFor(() => peer.total() === 9, 5000, "resume");
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(peer.total(), 9);
  await m.close();
  await db.close();
  await peer.close();
});

Deno.test("remote write skips data older than sample_age_limit and counts it", async () => {
  const now = Date.now();
  const configs = (url: string) =>
    cfg(url, { backfill: "2h", queue_config: { sample_age_limit: "10m" } });
  const { peer, m, close } = await runRemoteWrite(configs, {
    seed: async (db) => {
      await db.append(batchOf("old", 2, times(now - 3_600_000, 30, 60_000)));
      await db.append(batchOf("new", 2, [now - 60_000]));
    },
  });
  await waitFor(() => peer.total() === 2, 5000, "recent data");
  const s = m.stats()[0]!;
  assert.equal(s.samplesDropped.lag_budget, 60);
  assert.ok([...peer.samples.keys()].every((k) => k.startsWith("new")));
  await close();
});

Deno.test("write_relabel_configs and external labels shape what is sent", async () => {
  const configs = (url: string) =>
    cfg(url, {
      write_relabel_configs: [{ source_labels: ["__name__"], regex: "debug_.*", action: "drop" }],
    });
  const { peer, m, app, close } = await runRemoteWrite(configs, {
    manager: () => ({ externalLabels: () => ({ site: "edge-1" }) }),
  });
  await app.append(batchOf("debug_x", 2, [Date.now()]));
  await app.append(batchOf("keep", 1, [Date.now()]));
  await waitFor(() => m.stats()[0]!.samplesDropped.relabel === 2 && peer.total() === 1);
  assert.deepEqual([...peer.samples.keys()], ['keep{i="0",site="edge-1"}']);
  await close();
});
