import assert from "node:assert/strict";
import { isStaleNaN, newMatcher, STALE_NAN, toLabels } from "../model/mod.ts";
import { MemStore } from "./mem_querier.ts";

Deno.test("MemStore.select() returns matching series sorted by labels within the range", async () => {
  const s = new MemStore();
  s.add(toLabels("m", { a: "2" }), 1000, 1);
  s.add(toLabels("m", { a: "1" }), 3000, 3);
  s.add(toLabels("m", { a: "1" }), 1000, 1);
  s.add(toLabels("m", { a: "1" }), 2000, STALE_NAN);
  s.add(toLabels("other", {}), 1000, 5);
  const got = await s.select([newMatcher("=", "__name__", "m")], { minT: 1000, maxT: 2000 });
  assert.deepEqual(got.map((x) => x.labels), [
    toLabels("m", { a: "1" }),
    toLabels("m", { a: "2" }),
  ]);
  assert.deepEqual([...got[0]!.t], [1000, 2000]);
  assert.ok(isStaleNaN(got[0]!.v[1]!));
  const none = await s.select([newMatcher("=", "__name__", "m")], { minT: 5000, maxT: 6000 });
  assert.equal(none.length, 0);
});

Deno.test("MemStore.add() at an existing timestamp replaces the value; clear() empties", async () => {
  const s = new MemStore();
  s.add(toLabels("m", {}), 1000, 1);
  s.add(toLabels("m", {}), 1000, 2);
  const got = await s.select([], { minT: 0, maxT: 5000 });
  assert.deepEqual([...got[0]!.v], [2]);
  assert.deepEqual(await s.labelValues("__name__", [], { minT: 0, maxT: 5000 }), ["m"]);
  s.clear();
  assert.equal((await s.select([], { minT: 0, maxT: 5000 })).length, 0);
});
