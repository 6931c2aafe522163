/**
 * Late data is data (issue 13): late samples land wherever their window now
 * lives — head, flushed block, compacted block, downsampled tier — and every
 * stage answers as a database that got the same samples in time order.
 */
import assert from "node:assert/strict";
import { newMatcher, SampleBatch, toLabels } from "../model/mod.ts";
import { type DB, openDB, type OpenOptions } from "./db.ts";
import { AGG, downsampleSeries, mergeIntoTier } from "./downsample.ts";
import { FakeClock } from "../clock.ts";

const H = 3_600_000, D = 24 * H;
const T0 = 1_700_006_400_000 - (1_700_006_400_000 % D); // a day (and block window) start
const ALL = { minT: -Infinity, maxT: Infinity };

type Row = [name: string, t: number, v: number];

function batch(rows: readonly Row[]): SampleBatch {
  const b = new SampleBatch();
  const ids = new Map<string, number>();
  for (const [name, t, v] of rows) {
    let id = ids.get(name);
    if (id === undefined) ids.set(name, id = b.addSeries(toLabels(name, { job: "late" }), name));
    b.add(id, t, v);
  }
  return b;
}

async function open(dir: string, extra: Partial<OpenOptions> = {}): Promise<DB> {
  return await openDB({
    dir,
    now: () => T0 + 31 * H,
    backgroundIntervalMs: 0,
    useWorker: false,
    deleteGraceMs: 0,
    downsampling: [],
    ...extra,
  });
}

async function dump(db: DB, hints = ALL): Promise<Record<string, [number, number][]>> {
  const out: Record<string, [number, number][]> = {};
  for (const s of await db.select([newMatcher("=", "job", "late")], hints)) {
    const name = s.labels.find((l) => l.name === "__name__")!.value;
    out[name] = [...s.t].map((t, i) => [t, s.v[i]]);
  }
  return out;
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test("late samples into head, flushed and compacted windows answer as in-order data, also after a crash", async () => {
  const dir = await Deno.makeTempDir(), refDir = await Deno.makeTempDir();
  const crashDir = await Deno.makeTempDir();
  const db = await open(dir), ref = await open(refDir);
  // Live: sensor a every 10 s for 30 h, stored and then flushed and compacted.
  const live: Row[] = [];
  for (let t = T0; t < T0 + 30 * H; t += 10_000) live.push(["a", t, t % 997]);
  await db.append(batch(live));
  await db.maintenance();
  const compacted = (await db.stats()).compactions;
  assert.ok(compacted > 0, "the first day is compacted before the late data arrives");
  const blocksBefore = (await db.stats()).blocks;
  // Late: sensor b's buffer over the whole 30 h (compacted, flushed and head
  // windows), a's own late samples between its stored ones, and a rewrite of
  // a stored sample of a (last write wins).
  const late: Row[] = [];
  for (let t = T0; t < T0 + 30 * H; t += 60_000) {
    late.push(["b", t, t % 13]);
    late.push(["a", t + 5_000, -1]);
  }
  late.push(["a", T0 + 25 * H, 12345]);
  const res = await db.append(batch(late));
  assert.equal(res.accepted, late.length);
  assert.deepEqual(res.rejected, []);
  // The reference gets the same final data in time order.
  const all = [...live.filter(([, t]) => t !== T0 + 25 * H), ...late];
  for (const name of ["a", "b"]) {
    await ref.append(batch(all.filter((r) => r[0] === name).sort((x, y) => x[1] - y[1])));
  }
  await ref.flush();
  const want = await dump(ref);
  assert.equal(want.a.length, live.length + 1800);
  assert.equal(want.b.length, 1800);

  // In the head (late windows not flushed yet).
  assert.deepEqual(await dump(db), want);
  const win = { minT: T0 + 23 * H, maxT: T0 + 26 * H };
  assert.deepEqual(await dump(db, win), await dump(ref, win));
  // A crash now: a copy of the directory replays the late samples from the WAL.
  await copyDir(dir, crashDir);
  const crashed = await open(crashDir);
  assert.deepEqual(await dump(crashed), want);
  await crashed.close();
  // Flushed: one new block per touched window, overlapping the old ones.
  await db.flush();
  assert.deepEqual(await dump(db), want);
  // Compacted: the overlapping blocks are merged away.
  await db.maintenance();
  assert.deepEqual(await dump(db), want);
  assert.ok((await db.stats()).blocks <= blocksBefore + 1, "late blocks were compacted away");
  await db.close();
  const again = await open(dir);
  assert.deepEqual(await dump(again), want);
  await again.close();
  await ref.close();
  for (const d of [dir, refDir, crashDir]) await Deno.remove(d, { recursive: true });
});

Deno.test("late writes into a flushed window are buffered and written as one block once the window is idle", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new FakeClock(T0 + 31 * H);
  const db = await open(dir, { now: () => clock.now(), backgroundIntervalMs: 5 });
  const live: Row[] = [];
  for (let t = T0; t < T0 + 30 * H; t += 60_000) live.push(["a", t, 1]);
  await db.append(batch(live));
  await db.maintenance();
  const before = (await db.stats()).flushes;
  // Three requests of a back-fill into the first window, a minute apart.
  for (let i = 0; i < 3; i++) {
    await db.append(batch([["b", T0 + i * 60_000, i]]));
    await clock.advance(60_000);
  }
  // Background rounds run (every 5 ms) but the window is still being written to.
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal((await db.stats()).flushes, before);
  assert.equal((await dump(db)).b.length, 3);
  // Idle for 5 minutes: the next round writes the window as one block.
  await clock.advance(5 * 60_000);
  // Bounded wait (60 s) for the background round on a busy machine.
  for (let i = 0; i < 3000 && (await db.stats()).flushes === before; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await db.stats()).flushes, before + 1, "one block for the three requests");
  assert.ok(db.headMinT()! >= T0 + 28 * H, "the late window left the head");
  assert.equal((await dump(db)).b.length, 3);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("late samples into a downsampled window are merged into its aggregates, counted once", async () => {
  const tiers = [{ afterMs: D, resolutionMs: 60_000 }];
  const dir = await Deno.makeTempDir(), refDir = await Deno.makeTempDir();
  const changed: [number, number][] = [];
  const db = await open(dir, {
    now: () => T0 + 3 * D,
    downsampling: tiers,
    onOldWrite: (lo, hi) => changed.push([lo, hi]),
    deleteGraceMs: H, // replaced blocks stay as *.del until close
  });
  const ref = await open(refDir, { now: () => T0 + 3 * D });
  const rows: Row[] = [];
  for (let t = T0; t < T0 + 2 * H; t += 10_000) rows.push(["g", t, (t / 10_000) % 7]);
  rows.push(["g", T0 + 3 * D - H, 1]); // live data, keeps the head's newest time current
  await db.append(batch(rows));
  await db.flush();
  await db.maintenance();
  const tierOnly = (await db.stats()).blocks;
  // Late: a new sample in every minute, and a rewrite of the last sample of minute 0.
  const late: Row[] = [];
  for (let t = T0 + 5_000; t < T0 + 2 * H; t += 60_000) late.push(["g", t, 100]);
  late.push(["g", T0 + 50_000, 1000]);
  assert.equal((await db.append(batch(late))).accepted, late.length);
  await db.flush();
  await db.maintenance();
  assert.equal((await db.stats()).blocks, tierOnly, "the late block was merged into the tier");
  // Caches learn about whole tier windows (the late block starts 5 s into the first one).
  assert.ok(changed.some(([lo, hi]) => lo <= T0 && hi >= T0 + 59_999), JSON.stringify(changed));
  const final = new Map<number, number>();
  for (const [, t, v] of [...rows, ...late]) final.set(t, v);
  await ref.append(batch([...final].sort((a, b) => a[0] - b[0]).map(([t, v]) => ["g", t, v])));
  const win = { minT: T0, maxT: T0 + 2 * H - 1 };
  const raw = (await ref.select([newMatcher("=", "__name__", "g")], win))[0];
  const sum = (v: Float64Array) => v.reduce((a, x) => a + x, 0);
  const check = async (db: DB) => {
    const view = async (func: string) => {
      const s = await db.select([newMatcher("=", "__name__", "g")], { ...win, func });
      assert.equal(s.length, 1);
      return s[0];
    };
    // One point per minute: the late samples did not add windows.
    const counts = await view("count_over_time");
    assert.equal(counts.t.length, 120);
    assert.equal(sum(counts.v), raw.t.length);
    assert.equal(sum((await view("sum_over_time")).v), sum(raw.v));
    assert.equal(Math.max(...(await view("max_over_time")).v), Math.max(...raw.v));
    // last of minute 0 is the rewritten sample.
    const last = await view("last_over_time");
    assert.deepEqual([last.t[0], last.v[0]], [T0 + 50_000, 1000]);
  };
  await check(db);
  // A crash after the merge was recorded but before its inputs were renamed
  // away: the inputs are on disk under their names and must not count again.
  const crashDir = await Deno.makeTempDir();
  await copyDir(dir, crashDir);
  for await (const e of Deno.readDir(`${crashDir}/blocks`)) {
    if (e.name.endsWith(".del")) {
      await Deno.rename(
        `${crashDir}/blocks/${e.name}`,
        `${crashDir}/blocks/${e.name.slice(0, -4)}`,
      );
    }
  }
  const crashed = await open(crashDir, { now: () => T0 + 3 * D, downsampling: tiers });
  await check(crashed);
  assert.equal((await crashed.stats()).blocks, tierOnly);
  await crashed.close();
  await Deno.remove(crashDir, { recursive: true });
  await db.close();
  await ref.close();
  for (const d of [dir, refDir]) await Deno.remove(d, { recursive: true });
});

Deno.test("mergeIntoTier() adds new samples once and replaces a window's last sample", () => {
  const t = new Float64Array([0, 10, 20, 60, 70]), v = new Float64Array([1, 2, 3, 4, 5]);
  const tier = downsampleSeries({ kind: "raw", s: { t, v } }, 60, false).parts;
  const late = { t: new Float64Array([5, 20, 75]), v: new Float64Array([10, 30, 50]) };
  const got = mergeIntoTier(tier, { kind: "raw", s: late }, 60, false).parts;
  // Expected: the raw union with the sample at 20 replaced.
  const want = downsampleSeries(
    {
      kind: "raw",
      s: {
        t: new Float64Array([0, 5, 10, 20, 60, 70, 75]),
        v: new Float64Array([1, 10, 2, 30, 4, 5, 50]),
      },
    },
    60,
    false,
  ).parts;
  for (const a of [AGG.count, AGG.sum, AGG.last]) assert.deepEqual(got.get(a), want.get(a), `${a}`);
  assert.deepEqual(got.get(AGG.max), want.get(AGG.max));
  // A second merge of tier aggregates (a finer tier's late block) adds up too.
  const twice = mergeIntoTier(got, { kind: "agg", parts: tier }, 120, false).parts;
  assert.deepEqual([...twice.get(AGG.count)!.v], [7 + 5]);
});
