import * as assert from "node:assert/strict";
import { BufferPool } from "./buffer_pool.ts";
import { type IdleMemoryHolder, keepsIdleMemory, releaseIdleMemory } from "./idle_memory.ts";
import { SampleArenaPool } from "./model/mod.ts";
import { testBasics } from "./_component_test_util.ts";
import { memoryGuardComponent } from "./selfmon/mod.ts";

Deno.test("releaseIdleMemory asks every registered holder to drop what it keeps", () => {
  const calls: string[] = [];
  const a: IdleMemoryHolder = { releaseIdle: () => calls.push("a") };
  const b: IdleMemoryHolder = { releaseIdle: () => calls.push("b") };
  keepsIdleMemory(a);
  keepsIdleMemory(b);
  assert.ok(releaseIdleMemory() >= 2);
  assert.deepEqual(calls.sort(), ["a", "b"]);
});

Deno.test("a buffer pool keeps given buffers for reuse until memory is released", () => {
  const pool = new BufferPool(4, 1 << 20);
  const first = pool.take(100_000);
  pool.give(first);
  assert.equal(pool.keptBytes, 100_000);
  const again = pool.take(90_000);
  assert.equal(again.buffer, first.buffer, "reused while kept");
  pool.give(again);
  const out = pool.take(10);
  releaseIdleMemory();
  assert.equal(pool.keptBytes, 0);
  assert.notEqual(pool.take(90_000).buffer, first.buffer, "a fresh buffer after the release");
  pool.give(out);
  assert.equal(
    pool.keptBytes,
    out.buffer.byteLength,
    "a buffer taken before the release comes back",
  );
});

Deno.test("a query arena pool drops its idle arenas when memory is released", () => {
  const pool = new SampleArenaPool(1, { slabSamples: 1024 });
  const a = pool.acquire();
  a.samples(100);
  pool.release(a);
  assert.ok(pool.idleBytes > 0);
  releaseIdleMemory();
  assert.equal(pool.idleBytes, 0);
  assert.notEqual(pool.acquire(), a);
});

Deno.test("the memory guard's reclaim after a burst of queries releases pooled memory", async () => {
  const b = testBasics();
  const memory = memoryGuardComponent(b);
  let released = 0;
  const holder: IdleMemoryHolder = { releaseIdle: () => released++ };
  keepsIdleMemory(holder);
  await memory.start(0);
  try {
    memory.queryEnded(64 << 20);
    for (let i = 0; i < 40 && released === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(released >= 1, "released within the reclaim's quiet second");
    assert.equal(typeof holder.releaseIdle, "function"); // held (weakly registered) until here
  } finally {
    await memory.stop();
  }
});
