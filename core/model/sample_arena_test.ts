import assert from "node:assert/strict";
import { SampleArena, SampleArenaPool } from "./sample_arena.ts";

Deno.test("SampleArena hands out disjoint views and reuses its slabs after reset", () => {
  const a = new SampleArena({ slabSamples: 16, keepSlabs: 1 });
  const x = a.samples(5), y = a.samples(8), z = a.samples(6); // z starts a second slab
  x.t.fill(1);
  y.t.fill(2);
  z.t.fill(3);
  assert.deepEqual([...x.t], [1, 1, 1, 1, 1]);
  assert.deepEqual([...y.t], [2, 2, 2, 2, 2, 2, 2, 2]);
  assert.equal(x.t.buffer, y.t.buffer);
  assert.notEqual(y.t.buffer, z.t.buffer);
  assert.notEqual(x.t.buffer, x.v.buffer);
  assert.equal(a.bytesHeld, 2 * 2 * 16 * 8);
  a.reset();
  assert.equal(a.bytesHeld, 2 * 16 * 8, "slabs over keepSlabs are dropped");
  const again = a.samples(5);
  assert.equal(again.t.buffer, x.t.buffer, "the kept slab is reused");
});

Deno.test("SampleArena flag columns come zeroed, also when their memory is reused", () => {
  const a = new SampleArena({ slabSamples: 16 });
  const f = a.floats(4), b = a.bytes(4);
  f.fill(7);
  b.fill(1);
  a.reset();
  assert.equal(a.floats(4).length, 4);
  assert.deepEqual([...a.bytes(4)], [0, 0, 0, 0]);
});

Deno.test("SampleArena gives runs longer than half a slab arrays of their own", () => {
  const a = new SampleArena({ slabSamples: 16 });
  const big = a.samples(9);
  assert.equal(big.t.length, 9);
  assert.equal(big.t.buffer.byteLength, 9 * 8);
  assert.equal(a.bytesHeld, 0);
});

Deno.test("SampleArena.reset() frees dropped slabs and long runs at once, not at the next collection", () => {
  const a = new SampleArena({ slabSamples: 16, keepSlabs: 1 });
  const kept = a.samples(8), dropped = a.samples(12), long = a.floats(9);
  a.reset();
  assert.equal(dropped.t.buffer.byteLength, 0, "the second slab's memory is gone");
  assert.equal(long.buffer.byteLength, 0, "a long run's array too");
  assert.equal(kept.t.buffer.byteLength, 16 * 8, "the kept slab stays for reuse");
});

Deno.test("SampleArenaPool keeps at most maxIdle arenas", () => {
  const used: number[] = [];
  const pool = new SampleArenaPool(1, { slabSamples: 16 }, (n) => used.push(n));
  const a = pool.acquire(), b = pool.acquire();
  assert.notEqual(a, b);
  a.samples(1);
  b.samples(1);
  pool.release(a);
  pool.release(b);
  assert.equal(pool.idleBytes, 2 * 16 * 8);
  assert.deepEqual(used, [16, 16], "each release reports the bytes its arena handed out");
  assert.equal(pool.acquire(), a);
  assert.notEqual(pool.acquire(), b);
});
