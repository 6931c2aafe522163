/**
 * Remote write never skips stored data: samples that land behind an
 * endpoint's cursor, across restarts, while the catch-up reader passes their
 * range, in batches bigger than one KV commit. Real storage, real KV, a fake
 * receiver on loopback; the races are driven by gates, not timing.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../logging/mod.ts";
import {
  labelsKey,
  type NativeHistogram,
  newMatcher,
  type Querier,
  SampleBatch,
  type SelectHints,
  toLabels,
} from "../model/mod.ts";
import { RemoteWriteManager } from "./manager.ts";
import { batchOf, fakeReceiver, peerConfigs, runRemoteWrite, waitFor } from "./_test_util.ts";
import type { DB } from "../tsdb/mod.ts";
import { counterHistogram, tempDB } from "../tsdb/mod_testing.ts";

/** This file's queue: batches of 1,000, up to 2 shards. */
const cfg = (url: string, extra: Record<string, unknown> = {}) =>
  peerConfigs(url, extra, { max_samples_per_send: 1000, max_shards: 2 });

/** Storage whose reads wait at a gate while `gated` is set. */
function gatedQuerier(db: DB) {
  const state = {
    gated: false,
    /** Hints of the read waiting at the gate. */
    waiting: undefined as SelectHints | undefined,
    release: () => {},
  };
  const q: Querier = {
    async select(m, hints) {
      if (state.gated) {
        state.gated = false;
        state.waiting = hints;
        await new Promise<void>((r) => state.release = r);
      }
      return db.select(m, hints);
    },
    labelNames: (m, h) => db.labelNames(m, h),
    labelValues: (n, m, h) => db.labelValues(n, m, h),
    series: (m, h) => db.series(m, h),
    metadata: () => db.metadata(),
  };
  return { q, state };
}

/** A fake receiver, a temp DB, and remote write to the receiver appending through its tracker. */
const running = (extra: Record<string, unknown> = {}) => runRemoteWrite((url) => cfg(url, extra));

function timesOf(peer: { samples: Map<string, { t: number }[]> }, key: string): number[] {
  return (peer.samples.get(key) ?? []).map((s) => s.t).sort((a, b) => a - b);
}

Deno.test("late samples written after a restart are sent: late-log sequences continue past the cursor", async () => {
  const peer = await fakeReceiver();
  const { db, dir } = await tempDB();
  const open = () =>
    RemoteWriteManager.open({ querier: db, kv: `${dir}/remote.kv`, logger: silentLogger() });
  const now = Date.now();
  let m = await open();
  let app = m.appender(db);
  await m.apply(cfg(peer.url));
  await waitFor(() => m.endpoint("peer")!.cursor.t >= now, 5000, "cursor at now");
  // Three late batches before the restart: the late log reaches sequence 3.
  for (let i = 1; i <= 3; i++) await app.append(batchOf("before", 1, [now - i * 1000]));
  await waitFor(() => peer.total() === 3, 5000, "late samples before the restart");
  await m.close();

  m = await open();
  app = m.appender(db);
  await m.apply(cfg(peer.url));
  for (let i = 1; i <= 3; i++) await app.append(batchOf("after", 1, [now - i * 1000]));
  await waitFor(() => peer.total() === 6, 5000, "late samples after the restart");
  assert.deepEqual(timesOf(peer, 'after{i="0"}'), [now - 3000, now - 2000, now - 1000]);
  await m.close();
  await db.close();
  await peer.close();
});

Deno.test("a backlog landing while the catch-up reader passes its range is sent once, after a restart too", async () => {
  const peer = await fakeReceiver();
  const { db, dir } = await tempDB();
  const { q, state } = gatedQuerier(db);
  const open = () =>
    RemoteWriteManager.open({ querier: q, kv: `${dir}/remote.kv`, logger: silentLogger() });
  const start = Date.now() - 600_000;
  let m = await open();
  let app = m.appender(db);
  await m.apply(cfg(peer.url, { backfill: "10m" }));
  await waitFor(() => m.endpoint("peer")!.cursor.t >= Date.now() - 5000, 5000, "caught up");
  await app.append(batchOf("warm", 1, [start + 1000])); // late: the log is used once
  await waitFor(() => peer.total() === 1, 5000, "warm-up sample");
  await m.close();

  // Perch was down: the cursor stands at the crash, vmagent's backlog comes
  // in while the reader catches up.
  const crashAt = Date.now();
  await db.append(batchOf("live", 2, [crashAt + 100])); // stored before the reader runs
  state.gated = true;
  m = await open();
  app = m.appender(db);
  await new Promise((r) => setTimeout(r, 100)); // downtime
  const applied = m.apply(cfg(peer.url));
  await waitFor(() => state.waiting !== undefined, 5000, "the catch-up read");
  await applied;
  const lo = state.waiting!.minT, hi = state.waiting!.maxT;
  assert.ok(hi > lo + 50, `read window (${lo}, ${hi}]`);
  // Lands while the read of (lo, hi] runs.
  const during = app.append(batchOf("backlog", 2, [lo + 10]));
  await during;
  state.release();
  await waitFor(() => m.endpoint("peer")!.cursor.t >= hi, 5000, "cursor past the window");
  // Lands after the reader passed (lo, hi]: behind the cursor.
  await app.append(batchOf("backlog", 2, [lo + 20, hi]));
  await waitFor(() => peer.total() === 1 + 2 + 6, 5000, "backlog and live data");
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(peer.total(), 9, "each sample once");
  assert.deepEqual(timesOf(peer, 'backlog{i="1"}'), [lo + 10, lo + 20, hi]);
  await m.close();
  await db.close();
  await peer.close();
});

Deno.test("a late batch bigger than one KV commit is logged and sent whole", async () => {
  const { peer, m, app, close } = await running();
  const now = Date.now();
  await waitFor(() => m.endpoint("peer")!.cursor.t >= now, 5000, "cursor at now");
  // 200 series × 400 samples ≈ 1.8 MB in the late log, over KV's 800 KiB per commit.
  const ts = Array.from({ length: 400 }, (_, i) => now - 3_600_000 + i * 1000);
  await app.append(batchOf("backfill", 200, ts));
  await waitFor(() => peer.total() === 80_000, 20_000, "every late sample");
  const s = m.stats()[0]!;
  assert.equal(s.lateSamples, 80_000);
  assert.equal(s.samplesDropped.late_log, 0);
  await close();
});

Deno.test("a back-fill over max_late_bytes is sent from storage by its time range: nothing dropped", async () => {
  const { peer, m, app, close } = await running({
    backfill: "2h",
    queue_config: { max_late_bytes: 20_000 },
  });
  const now = Date.now();
  // Sent live before the back-fill arrives: inside its range, so sent again.
  await app.append(batchOf("live", 2, [now - 1_800_000]));
  await waitFor(() => m.endpoint("peer")!.cursor.t >= now, 5000, "cursor at now");
  const ts = Array.from({ length: 400 }, (_, i) => now - 3_600_000 + i * 9000);
  await app.append(batchOf("backfill", 100, ts));
  await waitFor(() => peer.total() >= 2 + 40_000, 20_000, "the back-fill");
  for (let k = 0; k < 100; k++) {
    assert.deepEqual(new Set(timesOf(peer, `backfill{i="${k}"}`)).size, 400, `series ${k}`);
  }
  // The live sample lies inside the back-fill's range: read and sent again.
  assert.equal(timesOf(peer, 'live{i="0"}').length, 2);
  const s = m.stats()[0]!;
  assert.equal(s.samplesDropped.late_log, 0);
  assert.ok(m.stats()[0]!.queueBytes < 20_000, "the log stays within its budget");
  await close();
});

Deno.test("rewind() sends storage after t again; pending and health tell a lagging endpoint", async () => {
  const { peer, m, app, close } = await running({ queue_config: { healthy_lag: "1m" } });
  const now = Date.now();
  await app.append(batchOf("r", 2, [now - 1000, now]));
  await waitFor(() => peer.total() === 4, 5000, "first send");
  assert.equal(m.health().status, "healthy");
  await m.rewind(now - 120_000);
  await waitFor(() => peer.total() === 8, 5000, "re-sent after rewind");
  peer.status = 503;
  await m.rewind(now - 120_000);
  await waitFor(() => m.health().status === "degraded", 5000, "degraded while behind");
  assert.match(m.health().message ?? "", /peer is \d+ s behind/);
  assert.equal(m.stats()[0]!.pendingSamples >= 4, true);
  peer.status = 200;
  await waitFor(() => m.health().status === "healthy", 5000, "healthy again");
  await waitFor(() => m.stats()[0]!.pendingSamples === 0, 5000, "nothing pending");
  await close();
});

/** Native histogram samples of series `name{i="<k>"}`, k < nSeries, at the given times. */
function histogramBatch(name: string, nSeries: number, times: readonly number[]): SampleBatch {
  const b = new SampleBatch();
  for (let k = 0; k < nSeries; k++) {
    const labels = toLabels(name, { i: String(k) });
    const ref = b.addSeries(labels, labelsKey(labels));
    for (const t of times) b.addHistogram(ref, t, counterHistogram(k + (t % 97)));
  }
  return b;
}

/** What storage holds of a metric, per series key, as the receiver records it. */
async function stored(db: DB, name: string) {
  const out = new Map<string, { t: number; v: number; h?: NativeHistogram }[]>();
  for (const s of await db.select([newMatcher("=", "__name__", name)], { minT: 0, maxT: 4e12 })) {
    const list: { t: number; v: number; h?: NativeHistogram }[] = [];
    s.t.forEach((t, i) => list.push({ t, v: s.v[i]! }));
    s.histograms?.t.forEach((t, i) => list.push({ t, v: 0, h: s.histograms!.h[i]! }));
    out.set(`${name}{i="${s.labels.find((l) => l.name === "i")!.value}"}`, list);
  }
  return out;
}

/** The receiver's samples of a series, by time. */
function received(peer: { samples: Map<string, { t: number; v: number; h?: NativeHistogram }[]> }) {
  const out = new Map<string, { t: number; v: number; h?: NativeHistogram }[]>();
  for (const [k, l] of peer.samples) out.set(k, [...l].sort((a, b) => a.t - b.t || (a.h ? 1 : -1)));
  return out;
}

Deno.test("native histograms go out like floats: live, late through the late log, mixed series", async () => {
  const { peer, m, app, db, close } = await running();
  const now = Date.now();
  await waitFor(() => m.endpoint("peer")!.cursor.t >= now, 5000, "cursor at now");
  // Ahead of the cursor: read from storage by the slices.
  await app.append(histogramBatch("lat", 3, [now + 1000, now + 2000]));
  await app.append(batchOf("lat", 1, [now + 1500])); // a float in the same series
  await waitFor(() => peer.total() === 7, 5000, "live histograms");
  // Behind the cursor: through the late log.
  await app.append(histogramBatch("lat", 3, [now - 60_000, now - 30_000]));
  await waitFor(() => peer.total() === 13, 5000, "late histograms");
  const want = await stored(db, "lat");
  // Floats sort before histograms at equal times in both lists.
  for (const l of want.values()) l.sort((a, b) => a.t - b.t || (a.h ? 1 : -1));
  assert.deepEqual(received(peer), want);
  // The receiver has them before the endpoint has read its answer.
  await waitFor(() => m.stats()[0]!.samplesSent === 13, 5000, "every send acknowledged");
  assert.equal(m.stats()[0]!.lateSamples, 6);
  await close();
});

Deno.test("a histogram back-fill over max_late_bytes is sent from storage by its time range", async () => {
  const { peer, m, app, db, close } = await running({
    backfill: "2h",
    queue_config: { max_late_bytes: 20_000 },
  });
  const now = Date.now();
  await waitFor(() => m.endpoint("peer")!.cursor.t >= now, 5000, "cursor at now");
  const ts = Array.from({ length: 100 }, (_, i) => now - 3_600_000 + i * 30_000);
  await app.append(histogramBatch("backfill", 40, ts));
  await waitFor(() => peer.total() >= 4000, 20_000, "the back-fill");
  assert.deepEqual(received(peer), await stored(db, "backfill"));
  assert.equal(m.stats()[0]!.samplesDropped.late_log, 0);
  await close();
});
