import assert from "node:assert/strict";
import { newMatcher, SampleArena, SampleBatch, toLabels } from "../model/mod.ts";
import { MemStore } from "./mem_querier.ts";
import { mulberry32 } from "./edge_workload.ts";
import { openDB } from "./db.ts";

const H = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % (24 * H));

Deno.test("DB.select matches a reference store over random windows across blocks, late writes, compaction and head", async () => {
  const dir = await Deno.makeTempDir();
  const db = await openDB({
    dir,
    now: () => T0 + 100 * H,
    backgroundIntervalMs: 0,
    useWorker: false,
    downsampling: [],
    outOfOrderWindowMs: Infinity,
    blockRangeMs: H,
  });
  const ref = new MemStore();
  const rnd = mulberry32(7);
  const hosts = ["a", "b", "c", "d", "e"];
  const write = async (n: number, lo: number, hi: number) => {
    const b = new SampleBatch();
    for (let i = 0; i < n; i++) {
      const host = hosts[Math.floor(rnd() * hosts.length)];
      const labels = toLabels("temp", { host });
      const t = lo + Math.floor(rnd() * (hi - lo) / 1000) * 1000;
      const v = Math.round(rnd() * 1e4) / 100;
      b.add(b.addSeries(labels, host), t, v);
      ref.add(labels, t, v);
    }
    await db.append(b);
  };
  // In order over 3 h, flushed: one block per hour.
  for (let t = T0; t < T0 + 3 * H; t += 60_000) await write(5, t, t + 60_000);
  await db.flush();
  // Late writes into flushed windows (overlapping blocks, equal timestamps: last wins).
  await write(400, T0, T0 + 3 * H);
  await db.flush();
  // Head data, in order and late.
  for (let t = T0 + 3 * H; t < T0 + 4 * H; t += 60_000) await write(3, t, t + 60_000);
  await write(100, T0 + 2 * H, T0 + 4 * H);
  const m = [newMatcher("=", "__name__", "temp")];
  // Small slabs, so that series straddle slab ends; reused across reads.
  const arena = new SampleArena({ slabSamples: 64, keepSlabs: 2 });
  const check = async (minT: number, maxT: number) => {
    const want = await ref.select(m, { minT, maxT });
    for (const hints of [{ minT, maxT }, { minT, maxT, arena }]) {
      arena.reset();
      const got = await db.select(m, hints);
      assert.equal(got.length, want.length, `series in [${minT}, ${maxT}]`);
      for (let i = 0; i < got.length; i++) {
        assert.deepEqual(got[i].labels, want[i].labels);
        assert.deepEqual([...got[i].t], [...want[i].t], `timestamps in [${minT}, ${maxT}]`);
        assert.deepEqual([...got[i].v], [...want[i].v], `values in [${minT}, ${maxT}]`);
      }
    }
  };
  const checkAll = async () => {
    await check(-Infinity, Infinity);
    for (let i = 0; i < 40; i++) {
      const a = T0 - H / 2 + Math.floor(rnd() * 5 * H);
      await check(a, a + Math.floor(rnd() * H));
    }
    await check(T0 + 10 * H, T0 + 11 * H); // empty
  };
  await checkAll();
  // Compacted blocks of the oldest windows get higher sequences than the
  // blocks of later windows: reads see sources out of time order.
  await write(50, T0 + 4 * H, T0 + 5 * H);
  await db.flush();
  await db.maintenance();
  await checkAll();
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB.minTime() and headMinT() follow appends, flushes and reopen", async () => {
  const dir = await Deno.makeTempDir();
  const opts = {
    dir,
    now: () => T0 + 100 * H,
    backgroundIntervalMs: 0,
    useWorker: false,
    downsampling: [],
    outOfOrderWindowMs: Infinity,
  };
  let db = await openDB(opts);
  assert.equal(db.minTime(), null);
  assert.equal(db.headMinT(), null);
  const add = async (t: number) => {
    const b = new SampleBatch();
    b.add(b.addSeries(toLabels("temp", { host: "a" }), "a"), t, 1);
    await db.append(b);
  };
  await add(T0 + 5 * H);
  await add(T0 + 3 * H);
  assert.equal(db.minTime(), T0 + 3 * H);
  assert.equal(db.headMinT(), T0 + 3 * H);
  await db.flush();
  assert.equal(db.headMinT(), null);
  assert.equal(db.minTime(), T0 + 3 * H);
  await add(T0 + 6 * H);
  await add(T0 + H); // late, behind everything flushed
  assert.equal(db.headMinT(), T0 + H);
  assert.equal(db.minTime(), T0 + H);
  // A window with no data anywhere answers empty; one with data does not.
  const m = [newMatcher("=", "host", "a")];
  assert.deepEqual(await db.select(m, { minT: T0 + 7 * H, maxT: T0 + 8 * H }), []);
  assert.deepEqual(await db.series(m, { minT: T0 + 7 * H, maxT: T0 + 8 * H }), []);
  assert.equal((await db.select(m, { minT: T0 + 6 * H, maxT: T0 + 8 * H }))[0].t.length, 1);
  await db.close();
  db = await openDB(opts);
  assert.equal(db.minTime(), T0 + H);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB calls onOldWrite for late writes behind the head and for blocks retention deletes", async () => {
  const dir = await Deno.makeTempDir();
  const calls: [number, number][] = [];
  let now = T0 + 10 * H;
  const db = await openDB({
    dir,
    now: () => now,
    backgroundIntervalMs: 0,
    useWorker: false,
    downsampling: [],
    outOfOrderWindowMs: Infinity,
    retentionMs: 48 * H,
    deleteGraceMs: 0,
    onOldWrite: (a, b) => calls.push([a, b]),
  });
  const add = async (...ts: number[]) => {
    const b = new SampleBatch();
    const id = b.addSeries(toLabels("temp", { host: "a" }), "a");
    for (const t of ts) b.add(id, t, 1);
    await db.append(b);
  };
  await add(T0 + 4 * H, T0 + 5 * H);
  assert.deepEqual(calls, [[T0 + 4 * H, T0 + 5 * H]]); // the head was empty
  calls.length = 0;
  await add(T0 + 5 * H + 1000, T0 + 4 * H + 1000); // late, but not behind the head's oldest sample
  assert.deepEqual(calls, []);
  await add(T0 + 3 * H, T0 + 5 * H + 2000, T0 + 2 * H); // two behind the head
  assert.deepEqual(calls, [[T0 + 2 * H, T0 + 3 * H]]);
  await db.flush();
  calls.length = 0;
  await add(T0 + 6 * H); // the head is empty: everything is behind it
  assert.deepEqual(calls, [[T0 + 6 * H, T0 + 6 * H]]);
  await db.flush();
  calls.length = 0;
  now = T0 + 54 * H; // blocks ending before T0 + 6 h are past retention
  await db.maintenance();
  assert.ok(calls.length >= 1, "retention reports the blocks it deletes");
  const deleted = calls as [number, number][];
  assert.ok(deleted.some(([a, b]) => a <= T0 + 2 * H && b >= T0 + 3 * H), JSON.stringify(calls));
  assert.deepEqual(
    (await db.select([newMatcher("=", "host", "a")], { minT: -Infinity, maxT: Infinity }))
      .map((s) => [...s.t]),
    [[T0 + 6 * H]],
  );
  await db.close();
  await Deno.remove(dir, { recursive: true });
});
