import assert from "node:assert/strict";
import { EDGE_METRICS, generateEdgeWorkload } from "./edge_workload.ts";

Deno.test("generateEdgeWorkload() is deterministic and shaped as documented", () => {
  const a = [...generateEdgeWorkload({ hosts: 3, durationMs: 3_600_000 })];
  const b = [...generateEdgeWorkload({ hosts: 3, durationMs: 3_600_000 })];
  assert.equal(a.length, 3 * EDGE_METRICS.length);
  const names = new Set<string>();
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(a[i].labels, b[i].labels);
    assert.deepEqual(a[i].v, b[i].v);
    assert.deepEqual(a[i].t, b[i].t);
    assert.equal(a[i].t.length, 360);
    for (let j = 1; j < 360; j++) assert.equal(a[i].t[j] - a[i].t[j - 1], 10_000);
    const key = a[i].labels.map((l) => `${l.name}=${l.value}`).join(",");
    names.add(key);
    if (a[i].kind === "counter") {
      for (let j = 1; j < 360; j++) assert.ok(a[i].v[j] >= a[i].v[j - 1]);
    } else {
      for (const x of a[i].v) assert.equal(Math.round(x * 100) / 100, x);
    }
  }
  assert.equal(names.size, a.length, "series labels are unique");
  const other = [...generateEdgeWorkload({ hosts: 1, durationMs: 3_600_000, seed: 2 })];
  assert.notDeepEqual(other[0].v, a[0].v);
});

Deno.test("generateEdgeWorkload() applies jitter within bounds, keeping time ascending", () => {
  for (const s of generateEdgeWorkload({ hosts: 1, durationMs: 600_000, jitterMs: 5 })) {
    for (let j = 1; j < s.t.length; j++) {
      const d = s.t[j] - s.t[j - 1];
      assert.ok(d >= 9_990 && d <= 10_010);
    }
  }
});
