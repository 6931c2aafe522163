import assert from "node:assert/strict";
import { newMatcher, SampleBatch, toLabels } from "../model/mod.ts";
import { BlockWriter } from "./block_writer.ts";
import { encodeChunk } from "./chunk.ts";
import { BlockReader } from "./block.ts";
import { openDB } from "./db.ts";

const T0 = 1_699_920_000_000;

function chunkOf(n: number, t0: number): Uint8Array {
  const t = new Float64Array(n), v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = t0 + i * 10_000;
    v[i] = i * 0.25;
  }
  return encodeChunk(t, v);
}

type Logged = { level: string; msg: string };

Deno.test("BlockWriter falls back to inline jobs once when the worker module is missing", async () => {
  const dir = await Deno.makeTempDir();
  const logs: Logged[] = [];
  const w = new BlockWriter({
    workerUrl: new URL("./no_such_block_worker.ts", import.meta.url),
    log: (level, msg) => logs.push({ level, msg }),
  });
  const m1 = await w.flush(dir, 1, [{ ref: 1, chunks: [chunkOf(100, T0)] }]);
  const m2 = await w.flush(dir, 2, [{ ref: 2, chunks: [chunkOf(50, T0)] }]);
  assert.equal(m1.samples, 100);
  assert.equal(m2.samples, 50);
  assert.equal(w.mode, "inline");
  assert.equal(w.workerRunning, false);
  assert.deepEqual(logs.map((l) => l.level), ["warn"], "warned exactly once");
  const r = await BlockReader.open(dir, 1);
  assert.equal((await r.read([1], -Infinity, Infinity)).get(1)?.t.length, 100);
  await r.close();
  w.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("BlockWriter falls back inline when the worker fails to load or never says ready", async () => {
  const dir = await Deno.makeTempDir();
  const throwing = `${dir}/throwing_worker.js`, silent = `${dir}/silent_worker.js`;
  await Deno.writeTextFile(throwing, 'throw new Error("boom at load");\n');
  await Deno.writeTextFile(silent, "self.onmessage = () => {};\n");
  for (const [file, why] of [[throwing, /boom at load/], [silent, /no ready message/]] as const) {
    const logs: { level: string; fields: Record<string, unknown> }[] = [];
    const w = new BlockWriter({
      workerUrl: new URL(`file://${file}`),
      readyTimeoutMs: 300,
      log: (level, _msg, fields) => logs.push({ level, fields }),
    });
    const m = await w.flush(dir, file === throwing ? 1 : 2, [{
      ref: 1,
      chunks: [chunkOf(20, T0)],
    }]);
    assert.equal(m.samples, 20);
    assert.equal(w.mode, "inline");
    assert.equal(logs.length, 1);
    assert.match(String(logs[0].fields.reason), why);
    w.close();
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("BlockWriter runs jobs in its worker and stops it when idle, restarting on demand", async () => {
  const dir = await Deno.makeTempDir();
  const logs: Logged[] = [];
  const w = new BlockWriter({ idleMs: 50, log: (level, msg) => logs.push({ level, msg }) });
  await w.flush(dir, 1, [{ ref: 1, chunks: [chunkOf(10, T0)] }]);
  assert.equal(w.mode, "worker");
  assert.equal(w.workerRunning, true);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(w.workerRunning, false, "idle worker terminated");
  const m = await w.compact(dir, 2, 1, [1]);
  assert.equal(m.samples, 10);
  assert.equal(w.workerStarts, 2);
  assert.deepEqual(logs, []);
  w.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB flushes and serves blocks when its block worker cannot load", async () => {
  const dir = await Deno.makeTempDir();
  const logs: Logged[] = [];
  const db = await openDB({
    dir,
    now: () => T0 + 10 * 3_600_000,
    backgroundIntervalMs: 0,
    blockWorkerUrl: "file:///nonexistent/perch/block_worker.ts",
    logger: (level, msg) => logs.push({ level, msg }),
  });
  const b = new SampleBatch();
  const s = b.addSeries(toLabels("temp", { host: "a" }), "a");
  for (let i = 0; i < 300; i++) b.add(s, T0 + i * 10_000, i);
  assert.equal((await db.append(b)).accepted, 300);
  await db.flush();
  await db.append((() => {
    const b2 = new SampleBatch();
    b2.add(b2.addSeries(toLabels("temp", { host: "a" }), "a"), T0 + 3 * 3_600_000, 1);
    return b2;
  })());
  await db.flush();
  const st = await db.stats();
  assert.equal(st.blocks, 2);
  assert.equal(st.flushFailures, 0);
  const got = await db.select([newMatcher("=", "host", "a")], { minT: -Infinity, maxT: Infinity });
  assert.equal(got[0].t.length, 301);
  assert.equal(logs.filter((l) => l.level === "warn" && /block worker/.test(l.msg)).length, 1);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});
