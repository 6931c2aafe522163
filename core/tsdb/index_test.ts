import assert from "node:assert/strict";
import { newMatcher, toLabels } from "../model/mod.ts";
import { SeriesIndex } from "./index.ts";
import { SNAPSHOT_HEAD_KEY, type SnapshotHead } from "./index_snapshot.ts";

Deno.test("SeriesIndex selects by postings with all matcher kinds and persists to KV", async () => {
  const kv = await Deno.openKv(":memory:");
  const idx = await SeriesIndex.load(kv);
  const a = idx.getOrCreate(toLabels("up", { job: "api", env: "prod" })).ref;
  const b = idx.getOrCreate(toLabels("up", { job: "db" })).ref;
  const c = idx.getOrCreate(toLabels("temp", { job: "api" })).ref;
  assert.equal(idx.getOrCreate(toLabels("up", { env: "prod", job: "api" })).created, false);
  const sel = (...m: ReturnType<typeof newMatcher>[]) => idx.select(m);
  assert.deepEqual(sel(newMatcher("=", "__name__", "up")), [a, b]);
  assert.deepEqual(sel(newMatcher("=~", "job", "api|db"), newMatcher("!=", "__name__", "up")), [c]);
  assert.deepEqual(sel(newMatcher("=", "env", "")), [b, c]);
  assert.deepEqual(sel(newMatcher("!~", "job", "a.*")), [b]);
  assert.deepEqual(sel(newMatcher("=", "nope", "x")), []);
  await idx.save();
  const again = await SeriesIndex.load(kv);
  assert.equal(again.size, 3);
  assert.deepEqual(again.labels(b), toLabels("up", { job: "db" }));
  assert.equal(again.getOrCreate(toLabels("new", {})).ref, 4);
  kv.close();
});

Deno.test("SeriesIndex.save splits large batches within KV atomic limits", async () => {
  const kv = await Deno.openKv(":memory:");
  const idx = await SeriesIndex.load(kv);
  for (let i = 0; i < 2500; i++) {
    idx.getOrCreate(toLabels("m", { i: String(i), pad: "x".repeat(500) }));
  }
  await idx.save();
  assert.equal((await SeriesIndex.load(kv)).size, 2500);
  kv.close();
});

Deno.test("SeriesIndex loads from its snapshot plus the series saved after it", async () => {
  const kv = await Deno.openKv(":memory:");
  const idx = await SeriesIndex.load(kv);
  for (let i = 0; i < 200; i++) idx.getOrCreate(toLabels("m", { i: String(i), job: "a" }));
  await idx.save();
  await idx.checkpoint();
  assert.equal((await kv.get<SnapshotHead>(SNAPSHOT_HEAD_KEY)).value?.series, 200);
  const later = idx.getOrCreate(toLabels("late", { job: "b" })).ref;
  await idx.save();
  const again = await SeriesIndex.load(kv);
  assert.equal(again.size, 201);
  assert.deepEqual(again.labels(7), toLabels("m", { i: "6", job: "a" }));
  assert.deepEqual(again.labels(later), toLabels("late", { job: "b" }));
  assert.deepEqual(again.select([newMatcher("=", "job", "b")]), [later]);
  kv.close();
});

Deno.test("SeriesIndex: a series saved under the snapshot's refs, or a damaged snapshot, falls back to the entries", async () => {
  const kv = await Deno.openKv(":memory:");
  const idx = await SeriesIndex.load(kv);
  for (let i = 1; i <= 100; i++) {
    if (i !== 50) idx.restore(i, toLabels("m", { i: String(i) }));
  }
  await idx.save();
  await idx.checkpoint();
  // Ref 50 comes back (e.g. from the WAL) after the snapshot was written.
  idx.restore(50, toLabels("m", { i: "50" }));
  await idx.save();
  assert.equal((await kv.get(SNAPSHOT_HEAD_KEY)).value, null);
  const again = await SeriesIndex.load(kv);
  assert.equal(again.size, 100);
  assert.deepEqual(again.labels(50), toLabels("m", { i: "50" }));

  await again.checkpoint();
  const part: Deno.KvKey = [...SNAPSHOT_HEAD_KEY.slice(0, 2), 0];
  const bytes = (await kv.get<Uint8Array>(part)).value!;
  bytes[10] ^= 0xff;
  await kv.set(part, bytes);
  const third = await SeriesIndex.load(kv);
  assert.equal(third.size, 100);
  assert.deepEqual(third.labels(3), toLabels("m", { i: "3" }));
  // The unusable head goes with the next save.
  third.getOrCreate(toLabels("m", { i: "new" }));
  await third.save();
  assert.equal((await kv.get(SNAPSHOT_HEAD_KEY)).value, null);
  kv.close();
});
