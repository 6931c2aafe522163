import assert from "node:assert/strict";
import { newMatcher, toLabels } from "../model/mod.ts";
import { SeriesIndex } from "./index.ts";

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
