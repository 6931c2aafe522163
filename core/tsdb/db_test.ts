import assert from "node:assert/strict";
import { newMatcher, SampleBatch, StorageFullError, toLabels } from "../model/mod.ts";
import { type DB, openDB, type OpenOptions } from "./db.ts";
import { blockFileName, BLOCKS_DIR, joinPath, QUARANTINE_DIR } from "./filenames.ts";
import { writeAll } from "./wal.ts";

const H = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % (24 * H)); // a day (and block window) start

function batch(rows: [string, number, number][]): SampleBatch {
  const b = new SampleBatch();
  for (const [host, t, v] of rows) {
    const labels = toLabels("temp", { host });
    b.add(b.addSeries(labels, host), t, v);
  }
  return b;
}

async function tmpDB(
  extra: Partial<OpenOptions> = {},
  dir?: string,
): Promise<{ db: DB; dir: string }> {
  dir ??= await Deno.makeTempDir();
  const db = await openDB({
    dir,
    now: () => T0 + 100 * H,
    backgroundIntervalMs: 0,
    useWorker: false,
    downsampling: [],
    ...extra,
  });
  return { db, dir };
}

const ALL = { minT: -Infinity, maxT: Infinity };
const byHost = (h: string) => [newMatcher("=", "host", h)];

async function points(db: DB, host: string, hints = ALL): Promise<[number, number][]> {
  const got = await db.select(byHost(host), hints);
  if (got.length === 0) return [];
  assert.equal(got.length, 1);
  return [...got[0].t].map((t, i) => [t, got[0].v[i]]);
}

Deno.test("DB round-trips appended samples from head, blocks and after reopen", async () => {
  const { db, dir } = await tmpDB();
  const rows: [string, number, number][] = [];
  for (let i = 0; i < 500; i++) {
    rows.push(["a", T0 + i * 10_000, i * 1.5], ["b", T0 + i * 10_000, -i]);
  }
  const res = await db.append(batch(rows));
  assert.equal(res.accepted, 1000);
  const want = rows.filter((r) => r[0] === "a").map((r) => [r[1], r[2]]);
  assert.deepEqual(await points(db, "a"), want);
  await db.flush();
  const st = await db.stats();
  assert.equal(st.headSamples, 0);
  assert.equal(st.blocks, 1);
  assert.deepEqual(await points(db, "a"), want);
  assert.deepEqual(
    await points(db, "a", { minT: T0 + 10_000, maxT: T0 + 30_000 }),
    want.slice(1, 4),
  );
  await db.close();
  const { db: again } = await tmpDB({}, dir);
  assert.deepEqual(await points(again, "a"), want);
  assert.deepEqual(await again.labelValues("host", [], ALL), ["a", "b"]);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB replays the WAL after close without flush", async () => {
  const { db, dir } = await tmpDB();
  await db.append(batch([["a", T0, 1], ["a", T0 + 1000, 2]]));
  await db.append(batch([["c", T0 + 500, 3]]));
  await db.close();
  const { db: again } = await tmpDB({}, dir);
  assert.deepEqual(await points(again, "a"), [[T0, 1], [T0 + 1000, 2]]);
  assert.deepEqual(await points(again, "c"), [[T0 + 500, 3]]);
  assert.equal((await again.stats()).blocks, 0);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB accepts late samples by default and rejects only what is older than retention or in the future", async () => {
  const now = T0 + 100 * H;
  const { db, dir } = await tmpDB({ retentionMs: 48 * H, futureToleranceMs: 60_000 });
  await db.append(batch([["a", now, 1]]));
  const res = await db.append(batch([
    ["b", now - 30 * H, 2], // a day behind series a: accepted
    ["b", now - 49 * H, 3], // older than retention
    ["b", now + 10 * 60_000, 4], // too far ahead
    ["a", now - 47 * H, 5], // late for its own series, newer than retention
  ]));
  assert.equal(res.accepted, 2);
  assert.deepEqual(res.rejected.map((r) => [r.index, r.reason]), [
    [1, "out_of_bounds"],
    [2, "too_far_in_future"],
  ]);
  assert.match(res.rejected[0].message, /older than the retention period/);
  assert.deepEqual(await points(db, "b"), [[now - 30 * H, 2]]);
  assert.deepEqual(await points(db, "a"), [[now - 47 * H, 5], [now, 1]]);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB with an opt-in OOO window limits lateness per series, never by other series", async () => {
  const { db, dir } = await tmpDB({ outOfOrderWindowMs: H, futureToleranceMs: 60_000 });
  const now = T0 + 100 * H;
  await db.append(batch([["a", now, 1], ["b", now - 10 * H, 1]]));
  const res = await db.append(batch([
    ["a", now - 30 * 60_000, 2], // late, inside the window of a
    ["a", now - 2 * H, 3], // older than a's window
    ["b", now - 9 * H, 4], // in order for b although a is 9 h ahead
    ["b", now - 10 * H - 30 * 60_000, 5], // late for b, inside b's window
    ["c", now - 50 * H, 6], // a new series: nothing to be late against
  ]));
  assert.equal(res.accepted, 4);
  assert.deepEqual(res.rejected.map((r) => [r.index, r.reason]), [[1, "out_of_order"]]);
  assert.match(res.rejected[0].message, /out_of_order_window/);
  assert.deepEqual(await points(db, "a"), [[now - 30 * 60_000, 2], [now, 1]]);
  assert.equal((await points(db, "b")).length, 3);
  // The limit survives a restart: the WAL replay restores each series' newest sample.
  await db.close();
  const { db: again } = await tmpDB({ outOfOrderWindowMs: H }, dir);
  const r2 = await again.append(batch([["a", now - 2 * H, 7], ["b", now - 10 * H + 1, 8]]));
  assert.deepEqual(r2.rejected.map((r) => r.reason), ["out_of_order"]);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB with an unlimited OOO window backfills 1970 data across flushed blocks", async () => {
  const { db, dir } = await tmpDB({ outOfOrderWindowMs: Infinity });
  await db.append(batch([["a", T0, 1]]));
  await db.flush();
  const rows: [string, number, number][] = [];
  for (let i = 0; i < 300; i++) rows.push(["a", i * 60_000, i]);
  assert.equal((await db.append(batch(rows))).accepted, 300);
  await db.flush();
  const got = await points(db, "a");
  assert.equal(got.length, 301);
  assert.deepEqual(got[0], [0, 0]);
  assert.deepEqual(got[300], [T0, 1]);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB keeps the last write for a duplicate timestamp, in head and over blocks", async () => {
  const { db, dir } = await tmpDB();
  await db.append(batch([["a", T0, 1], ["a", T0 + 1000, 1]]));
  await db.append(batch([["a", T0, 2]]));
  assert.deepEqual(await points(db, "a"), [[T0, 2], [T0 + 1000, 1]]);
  await db.flush();
  await db.append(batch([["a", T0 + 1000, 5]])); // overwrites a sample already in a block
  assert.deepEqual(await points(db, "a"), [[T0, 2], [T0 + 1000, 5]]);
  await db.flush();
  assert.deepEqual(await points(db, "a"), [[T0, 2], [T0 + 1000, 5]]);
  await db.maintenance(); // compaction merges the overlapping blocks, newest wins
  assert.deepEqual(await points(db, "a"), [[T0, 2], [T0 + 1000, 5]]);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB quarantines a block with a flipped bit and reports degraded health", async () => {
  const { db, dir } = await tmpDB();
  await db.append(batch([["a", T0, 1], ["a", T0 + 1000, 2]]));
  await db.flush();
  await db.append(batch([["a", T0 + 3 * H, 3]]));
  await db.flush();
  await db.close();
  const path = joinPath(dir, BLOCKS_DIR, blockFileName(1));
  const data = await Deno.readFile(path);
  data[data.length - 20] ^= 0x04; // in the footer: the block's structure cannot be trusted
  await Deno.writeFile(path, data);
  const logs: string[] = [];
  const { db: again } = await tmpDB({ logger: (_l, msg) => logs.push(msg) }, dir);
  assert.equal(again.health().status, "degraded");
  assert.match(again.health().message, /quarantined/);
  assert.equal((await again.stats()).corruptBlocks, 1);
  assert.ok(logs.includes("corrupt block quarantined"));
  await Deno.stat(joinPath(dir, QUARANTINE_DIR, blockFileName(1)));
  assert.deepEqual(await points(again, "a"), [[T0 + 3 * H, 3]]); // never served
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB reports a missing block file as degraded and serves the rest", async () => {
  const { db, dir } = await tmpDB();
  await db.append(batch([["a", T0, 1]]));
  await db.flush();
  await db.append(batch([["a", T0 + 3 * H, 3]]));
  await db.flush();
  await db.close();
  await Deno.remove(joinPath(dir, BLOCKS_DIR, blockFileName(1)));
  const { db: again } = await tmpDB({}, dir);
  assert.equal(again.health().status, "degraded");
  assert.match(again.health().message, /missing/);
  assert.equal((await again.stats()).missingBlocks, 1);
  assert.deepEqual(await points(again, "a"), [[T0 + 3 * H, 3]]);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB compaction and retention keep query results identical", async () => {
  const { db, dir } = await tmpDB({ outOfOrderWindowMs: Infinity, useWorker: true });
  // Three 2h windows, then late samples into the first one (an overlapping block).
  for (let w = 0; w < 3; w++) {
    const rows: [string, number, number][] = [];
    for (let i = 0; i < 720; i++) {
      for (const h of ["a", "b", "c"]) rows.push([h, T0 + w * 2 * H + i * 10_000, Math.sin(i) * w]);
    }
    await db.append(batch(rows));
    await db.flush();
  }
  await db.append(batch([["a", T0 + 5_000, 42], ["a", T0, 7]]));
  await db.flush();
  const before = await db.select([newMatcher("=~", "host", "a|b|c")], ALL);
  assert.equal((await db.stats()).blocks, 4);
  // Data far enough ahead so the 6h window counts as complete.
  await db.append(batch([["z", T0 + 20 * H, 0]]));
  await db.maintenance();
  const st = await db.stats();
  assert.ok(st.compactions >= 1, "compacted");
  assert.equal(st.blocks, 1);
  const after = await db.select([newMatcher("=~", "host", "a|b|c")], ALL);
  assert.deepEqual(after, before);
  await db.close();
  // Retention by age: everything older than 30h from "now" goes, newer stays.
  const { db: again } = await tmpDB({ retentionMs: 1, outOfOrderWindowMs: Infinity }, dir);
  await again.maintenance();
  assert.deepEqual(await again.select([newMatcher("=~", "host", "a|b|c")], ALL), []);
  assert.ok((await again.stats()).retentionDeletedBlocks >= 1);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB.stats() answers while compaction replaces block files", async () => {
  // Stats polled back to back during compactions: none may fail on a block
  // file that was renamed aside between listing and reading it.
  for (let round = 0; round < 5; round++) {
    const { db, dir } = await tmpDB({ outOfOrderWindowMs: Infinity });
    for (let w = 0; w < 3; w++) {
      const rows: [string, number, number][] = [];
      for (let i = 0; i < 720; i++) {
        for (const h of ["a", "b", "c"]) rows.push([h, T0 + w * 2 * H + i * 10_000, i]);
      }
      await db.append(batch(rows));
      await db.flush();
    }
    const blockBytes = (await db.stats()).bytes.blocks;
    await db.append(batch([["z", T0 + 20 * H, 0]]));
    let done = false;
    const work = db.maintenance().finally(() => done = true);
    while (!done) await db.stats();
    await work;
    const st = await db.stats();
    assert.ok(st.compactions >= 1, "compacted");
    assert.ok(st.bytes.blocks > 0 && st.bytes.blocks < blockBytes, "one smaller block counted");
    await db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DB rejects appends with StorageFullError when the disk budget is used up", async () => {
  const { db, dir } = await tmpDB({ maxBytes: 60_000, kv: await Deno.openKv(":memory:") });
  let acked = 0, full = false;
  for (let i = 0; i < 200 && !full; i++) {
    const rows: [string, number, number][] = [];
    // Values with all 53 bits in use: the compressed WAL stores them raw (~9 B).
    for (let j = 0; j < 50; j++) rows.push(["a", T0 + (i * 50 + j) * 1000, Math.sin(i * 50 + j)]);
    try {
      await db.append(batch(rows));
      acked += 50;
    } catch (e) {
      assert.ok(e instanceof StorageFullError);
      full = true;
    }
  }
  assert.ok(full, "budget reached");
  assert.equal((await points(db, "a")).length, acked);
  assert.equal((await db.stats()).storageFullRejections, 1);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB turns ENOSPC from the WAL into StorageFullError and keeps acknowledged data", async () => {
  let fail = false;
  const walWrite = async (f: Deno.FsFile, data: Uint8Array) => {
    if (fail) {
      await writeAll(f, data.subarray(0, 5));
      throw new Error("No space left on device (os error 28)");
    }
    await writeAll(f, data);
  };
  const { db, dir } = await tmpDB({ walWrite });
  await db.append(batch([["a", T0, 1]]));
  fail = true;
  await assert.rejects(db.append(batch([["a", T0 + 1000, 2]])), StorageFullError);
  assert.deepEqual(await points(db, "a"), [[T0, 1]]);
  fail = false;
  await db.append(batch([["a", T0 + 2000, 3]]));
  await db.close();
  const { db: again } = await tmpDB({}, dir);
  assert.deepEqual(await points(again, "a"), [[T0, 1], [T0 + 2000, 3]]);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB keeps metadata per metric name across reopen", async () => {
  const { db, dir } = await tmpDB();
  await db.setMetadata("temp", { type: "gauge", help: "Temperature", unit: "celsius" });
  await db.close();
  const { db: again } = await tmpDB({}, dir);
  assert.deepEqual((await again.metadata()).get("temp"), {
    type: "gauge",
    help: "Temperature",
    unit: "celsius",
  });
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB labelValues/labelNames/series over a time range use time bounds, not samples", async () => {
  const { db, dir } = await tmpDB({ outOfOrderWindowMs: Infinity });
  await db.append(batch([["old", T0, 1], ["old", T0 + H, 2], ["both", T0 + 10_000, 3]]));
  await db.flush();
  await db.append(batch([["new", T0 + 50 * H, 4], ["both", T0 + 50 * H + 1, 5]]));
  const early = { minT: T0, maxT: T0 + 2 * H };
  const late = { minT: T0 + 49 * H, maxT: T0 + 51 * H };
  const none = { minT: T0 + 20 * H, maxT: T0 + 21 * H };
  assert.deepEqual(await db.labelValues("host", [], early), ["both", "old"]);
  assert.deepEqual(await db.labelValues("host", [], late), ["both", "new"]);
  assert.deepEqual(await db.labelValues("host", [], none), []);
  assert.deepEqual(await db.labelNames([newMatcher("=", "host", "new")], early), []);
  assert.deepEqual(await db.labelNames([newMatcher("=", "host", "new")], late), [
    "__name__",
    "host",
  ]);
  assert.deepEqual(
    (await db.series([], early)).map((l) => l.find((p) => p.name === "host")!.value),
    [
      "both",
      "old",
    ],
  );
  // Damage the chunk bytes of the (already verified) block: answering from
  // bounds never reads them, so nothing is quarantined.
  const path = joinPath(dir, BLOCKS_DIR, blockFileName(1));
  const bytes = await Deno.readFile(path);
  bytes[20] ^= 0xff;
  await Deno.writeFile(path, bytes);
  assert.deepEqual(await db.labelValues("host", [], early), ["both", "old"]);
  assert.equal(db.health().status, "healthy");
  await db.close();
  await Deno.remove(dir, { recursive: true });
});
