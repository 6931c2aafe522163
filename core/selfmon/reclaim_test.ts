import assert from "node:assert/strict";
import { fullGc, IdleReclaimer, type IdleReclaimerOptions, RssRiseWatcher } from "./reclaim.ts";

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A reclaimer that records when it ran (ms), with `rss` fixed at 100 and a threshold of 1 unless given. */
function recording(opts: IdleReclaimerOptions): { at: number[]; r: IdleReclaimer } {
  const at: number[] = [];
  const r = new IdleReclaimer(() => {
    at.push(Date.now());
    return Promise.resolve();
  }, { threshold: 1, rss: () => 100, ...opts });
  return { at, r };
}

Deno.test("IdleReclaimer runs once after a burst of activity goes quiet, then waits its interval", async () => {
  const { at, r } = recording({ delayMs: 20, minIntervalMs: 300 });
  for (let i = 0; i < 5; i++) r.touch(1);
  await until(() => at.length === 1);
  r.touch(1); // Within the interval: held back until it has passed.
  await until(() => at.length === 2);
  assert.ok(at[1]! - at[0]! >= 290, `the second reclaim waits for the interval: ${at}`);
  await r.stop();
});

Deno.test("IdleReclaimer runs again within its interval once RSS has risen by the threshold, if the last reclaim paid", async () => {
  const at: number[] = [];
  let rss = 130, after = 100;
  const r = new IdleReclaimer(() => {
    at.push(Date.now());
    rss = after;
    return Promise.resolve();
  }, { delayMs: 20, minIntervalMs: 5000, threshold: 10, rss: () => rss });
  r.touch(10);
  await until(() => at.length === 1); // 130 -> 100: gave back 30.
  rss = 109;
  r.touch(10); // Risen by less than the threshold: held back for the interval.
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(at.length, 1);
  rss = 110;
  after = 106;
  r.touch(10); // A second dashboard load: its memory comes back soon too.
  await until(() => at.length === 2);
  assert.ok(at[1]! - at[0]! < 2000, `not held for the interval: ${at}`);
  rss = 120;
  r.touch(10); // That one gave back only 4: growth that is live waits for the interval.
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(at.length, 2);
  await r.stop();
});

Deno.test("IdleReclaimer: activity that never goes quiet puts a reclaim off for maxDelayMs at most", async () => {
  const { at, r } = recording({ delayMs: 50, maxDelayMs: 200 });
  // A sender pushing every 20 ms, for 1.5 s: never 50 ms quiet.
  const t0 = Date.now();
  while (Date.now() - t0 < 1500) {
    r.touch(1);
    await new Promise((res) => setTimeout(res, 20));
  }
  const stopped = Date.now();
  assert.ok(at.length >= 1 && at[0]! < stopped, "reclaimed while the activity went on");
  await r.stop();
});

Deno.test("IdleReclaimer: activity that does not postpone leaves a set reclaim where it is", async () => {
  const { at, r } = recording({ delayMs: 100 });
  const t0 = Date.now();
  r.touch(1, false); // Sets it.
  while (at.length === 0 && Date.now() - t0 < 1500) {
    r.touch(1, false);
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.equal(at.length, 1, "ran while the activity went on");
  await r.stop();
});

Deno.test("IdleReclaimer.stop() cancels a pending reclaim", async () => {
  let runs = 0;
  const r = new IdleReclaimer(() => {
    runs++;
    return Promise.resolve();
  }, { delayMs: 30, threshold: 1 });
  r.touch(1);
  await r.stop();
  await new Promise((res) => setTimeout(res, 80));
  assert.equal(runs, 0);
});

Deno.test("IdleReclaimer waits until the activity adds up to its threshold", async () => {
  let runs = 0;
  const r = new IdleReclaimer(() => {
    runs++;
    return Promise.resolve();
  }, { delayMs: 10, minIntervalMs: 0, threshold: 100 });
  r.touch(60);
  await new Promise((res) => setTimeout(res, 60));
  assert.equal(runs, 0, "60 of 100: nothing yet");
  r.touch(50);
  await until(() => runs === 1);
  r.touch(60); // Counted afresh after a reclaim.
  await new Promise((res) => setTimeout(res, 60));
  assert.equal(runs, 1);
  await r.stop();
});

Deno.test("fullGc() frees memory nothing refers to any more", async () => {
  let big: Uint8Array | undefined = new Uint8Array(64 << 20).fill(1);
  const before = Deno.memoryUsage().external;
  assert.ok(before >= 64 << 20);
  big = undefined;
  assert.equal(await fullGc(), true);
  assert.ok(Deno.memoryUsage().external < before - (32 << 20), "the buffer is collected");
  assert.equal(big, undefined);
});

Deno.test("fullGc() calls the gc() of a process started with --expose-gc", async () => {
  const code = `
    const real = globalThis.gc;
    let calls = 0;
    globalThis.gc = (opts) => { calls++; real(opts); };
    const { fullGc } = await import(${JSON.stringify(import.meta.resolve("./reclaim.ts"))});
    let big = new Uint8Array(64 << 20).fill(1);
    const before = Deno.memoryUsage().external;
    big = undefined;
    await new Promise((r) => setTimeout(r, 0));
    const ran = await fullGc();
    const freed = Deno.memoryUsage().external < before - (32 << 20);
    let keep = [];
    for (let r = 0; r < 5; r++) {
      keep = [];
      for (let i = 0; i < 300000; i++) keep.push({ a: i, b: "x" + i, c: [i, i + 1] });
    }
    keep = undefined;
    const rss = Deno.memoryUsage().rss;
    await fullGc();
    const returned = rss - Deno.memoryUsage().rss > (64 << 20);
    console.log(JSON.stringify({ ran, calls, freed, returned, big }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", code],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    ran: true,
    calls: 2,
    freed: true,
    returned: true,
  });
});

Deno.test("RssRiseWatcher: rises of RSS are activity, so a reclaim follows once RSS stops rising", async () => {
  let runs = 0;
  const r = new IdleReclaimer(() => {
    runs++;
    return Promise.resolve();
  }, { delayMs: 20, minIntervalMs: 0, threshold: 10 << 20 });
  const w = new RssRiseWatcher(r);
  const MiB = 1 << 20;
  for (const rss of [100, 100.5, 101, 100, 100.9]) w.sample(rss * MiB); // Below 1 MiB each: noise.
  await new Promise((res) => setTimeout(res, 60));
  assert.equal(runs, 0, "small wobbles are not activity");
  for (const rss of [104, 108, 106, 112]) w.sample(rss * MiB); // Rises 3, 4 and 6 MiB: 13 MiB.
  await until(() => runs === 1);
  w.sample(112 * MiB); // Level: nothing new.
  await new Promise((res) => setTimeout(res, 60));
  assert.equal(runs, 1);
  await r.stop();
});
