import assert from "node:assert/strict";
import { dragTarget, overlaps, placePanel } from "./layout.ts";

const g = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });
const P = (id: number, x: number, y: number, w: number, h: number) => ({
  id,
  title: `p${id}`,
  gridPos: g(x, y, w, h),
});

Deno.test("dragTarget() moves by whole cells and stays inside the 24 columns", () => {
  assert.deepEqual(dragTarget(g(4, 2, 8, 6), "move", 3, -1), g(7, 1, 8, 6));
  assert.deepEqual(dragTarget(g(4, 2, 8, 6), "move", 30, 0), g(16, 2, 8, 6));
  assert.deepEqual(dragTarget(g(4, 2, 8, 6), "move", -10, -10), g(0, 0, 8, 6));
});

Deno.test("dragTarget() resizes from the corner, at least 1×1 and no wider than the grid", () => {
  assert.deepEqual(dragTarget(g(4, 2, 8, 6), "resize", 2, 3), g(4, 2, 10, 9));
  assert.deepEqual(dragTarget(g(4, 2, 8, 6), "resize", -20, -20), g(4, 2, 1, 1));
  assert.deepEqual(dragTarget(g(4, 2, 8, 6), "resize", 40, 0), g(4, 2, 20, 6));
});

Deno.test("placePanel() pushes overlapped panels down, in a chain, and leaves others", () => {
  const panels = [P(1, 0, 0, 12, 4), P(2, 12, 0, 12, 4), P(3, 0, 4, 24, 3), P(4, 0, 7, 6, 2)];
  // Panel 2 grows to the full width under 1's row: 3 and then 4 are pushed below it.
  const out = placePanel(panels, 2, g(0, 4, 24, 5));
  assert.deepEqual(out.map((p) => [p.id, p.gridPos]), [
    [1, g(0, 0, 12, 4)],
    [2, g(0, 4, 24, 5)],
    [3, g(0, 9, 24, 3)],
    [4, g(0, 12, 6, 2)],
  ]);
  for (const a of out) {
    for (const b of out) if (a !== b) assert.ok(!overlaps(a.gridPos, b.gridPos), `${a.id}/${b.id}`);
  }
  assert.equal(out[0], panels[0], "an untouched panel keeps its object");
  assert.equal(out[2]!.title, "p3", "other fields are kept");
});

Deno.test("placePanel() on a free spot changes only the moved panel", () => {
  const panels = [P(1, 0, 0, 12, 4), P(2, 12, 0, 12, 4)];
  const out = placePanel(panels, 1, g(0, 10, 6, 2));
  assert.deepEqual(out.map((p) => p.gridPos), [g(0, 10, 6, 2), g(12, 0, 12, 4)]);
  assert.equal(out[1], panels[1]);
});

Deno.test("placePanel() throws a BUG error for an unknown panel", () => {
  assert.throws(() => placePanel([P(1, 0, 0, 1, 1)], 9, g(0, 0, 1, 1)), /BUG/);
});
