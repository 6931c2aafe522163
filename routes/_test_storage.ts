/**
 * Storage fixtures for route tests: a small DB with a known data set, and a
 * comparison of series that tells staleness markers from other NaNs.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  isStaleNaN,
  labelsKey,
  SampleBatch,
  type SeriesData,
  STALE_NAN,
  toLabels,
} from "../core/model/mod.ts";
import type { DB } from "../core/tsdb/mod.ts";

/** The fixed "now" of the data set. */
export const NOW = Date.UTC(2025, 0, 1, 12);

/** Appends the data set: gauges and a counter with NaN, ±Inf and a staleness marker, plus metadata. */
export async function loadSamples(db: DB): Promise<void> {
  const b = new SampleBatch();
  const add = (name: string, labels: Record<string, string>, pts: [number, number][]) => {
    const l = toLabels(name, labels);
    const ref = b.addSeries(l, labelsKey(l));
    for (const [t, v] of pts) b.add(ref, t, v);
  };
  add("temp", { room: "a" }, [[NOW - 120_000, 20.5], [NOW - 60_000, 21]]);
  add("temp", { room: 'b"q' }, [[NOW - 60_000, NaN], [NOW - 30_000, Infinity]]);
  add("gone", {}, [[NOW - 90_000, 1], [NOW - 30_000, STALE_NAN]]);
  add("old", {}, [[NOW - 3_600_000, 5]]);
  add("reqs_total", { site: "own" }, [[NOW - 10_000, -Infinity]]);
  await db.append(b);
  await db.setMetadata("reqs_total", { type: "counter", help: "", unit: "" });
  await db.setMetadata("temp", { type: "gauge", help: "", unit: "" });
}

/** Asserts two selections hold the same series and samples, bit for bit where it matters. */
export function sameSeries(a: SeriesData[], b: SeriesData[]): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(a[i]!.labels, b[i]!.labels);
    assert.deepEqual(Array.from(a[i]!.t), Array.from(b[i]!.t));
    for (let k = 0; k < a[i]!.v.length; k++) {
      const x = a[i]!.v[k]!, y = b[i]!.v[k]!;
      assert.equal(isStaleNaN(x), isStaleNaN(y), `stale marker at ${k}`);
      assert.ok(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)), `${x} vs ${y}`);
    }
  }
}
