import assert from "node:assert/strict";
import { planCompaction } from "./compact.ts";
import { planRetention } from "./retention.ts";
import type { BlockMeta } from "./block.ts";

const R = 7_200_000;
function meta(seq: number, minT: number, maxT: number, bytes = 100): BlockMeta {
  return { seq, minT, maxT, samples: 1, series: 1, level: 0, bytes };
}

Deno.test("planCompaction merges overlapping blocks of one window first, then 6h windows", () => {
  const blocks = [
    meta(1, 0, R - 1),
    meta(2, R, 2 * R - 1),
    meta(3, 2 * R, 3 * R - 1),
    meta(4, 5, 10),
  ];
  assert.deepEqual(planCompaction(blocks, R, 100 * R)?.inputs, [1, 4]);
  const after = [meta(5, 0, R - 1), meta(2, R, 2 * R - 1), meta(3, 2 * R, 3 * R - 1)];
  assert.deepEqual(planCompaction(after, R, 100 * R), {
    inputs: [2, 3, 5],
    level: 1,
    minT: 0,
    maxT: 3 * R - 1,
  });
});

Deno.test("planCompaction waits until a window is complete", () => {
  const blocks = [meta(1, 0, R - 1), meta(2, R, 2 * R - 1)];
  assert.equal(planCompaction(blocks, R, 2 * R), undefined);
  assert.deepEqual(planCompaction(blocks, R, 3 * R)?.inputs, [1, 2]);
});

Deno.test("planRetention drops blocks by age, then oldest first until under budget", () => {
  const blocks = [meta(3, 200, 299), meta(1, 0, 99), meta(2, 100, 199)];
  assert.deepEqual(
    planRetention(blocks, { now: 250, retentionMs: 100, maxBytes: 0, otherBytes: 0 }),
    [1],
  );
  assert.deepEqual(
    planRetention(blocks, { now: 0, retentionMs: 0, maxBytes: 150, otherBytes: 40 }),
    [1, 2],
  );
  assert.deepEqual(
    planRetention(blocks, { now: 0, retentionMs: 0, maxBytes: 0, otherBytes: 0 }),
    [],
  );
});
