import assert from "node:assert/strict";
import { type Labels, toLabels } from "../model/mod.ts";
import { aggregate, aggregateColumns, COLUMN_AGG_OPS } from "./aggregations.ts";
import type { ESample, VectorColumns } from "./value.ts";

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomColumns(seed: number, nSeries: number, nSteps: number, absent = 0.3): VectorColumns {
  const r = rng(seed);
  const special = [NaN, Infinity, -Infinity, 1e308, -1e308, 0.1, -0];
  const labels: Labels[] = [], dropName: boolean[] = [];
  const v: Float64Array[] = [], present: Uint8Array[] = [];
  let count = 0;
  for (let s = 0; s < nSeries; s++) {
    labels.push(toLabels("m", { host: `h${s}`, region: `r${Math.floor(r() * 3)}` }));
    dropName.push(r() < 0.5);
    const col = new Float64Array(nSteps), p = new Uint8Array(nSteps);
    for (let i = 0; i < nSteps; i++) {
      if (r() < absent) continue; // Absent: groups start with different series per step.
      p[i] = 1;
      count++;
      col[i] = r() < 0.1 ? special[Math.floor(r() * special.length)]! : (r() - 0.5) * 1e3;
    }
    v.push(col);
    present.push(p);
  }
  return { labels, dropName, v, present, count, steps: nSteps };
}

function stepVector(c: VectorColumns, i: number): ESample[] {
  const out: ESample[] = [];
  for (let s = 0; s < c.labels.length; s++) {
    if (c.present[s]![i]) {
      out.push({ labels: c.labels[s]!, v: c.v[s]![i]!, dropName: c.dropName[s]! });
    }
  }
  return out;
}

Deno.test("aggregateColumns() gives the same samples, bits and order as aggregate() per step", () => {
  let columnar = 0;
  // With absent samples (groups led by other series at some steps) and without.
  for (const [seed, absent] of [[1, 0.3], [2, 0.3], [3, 0.3], [4, 0], [5, 0.02]]) {
    const cols = randomColumns(seed!, 40, 25, absent);
    for (const op of COLUMN_AGG_OPS) {
      for (
        const grouping of [{ labels: ["region"], without: false }, { labels: [], without: false }]
      ) {
        const param = new Float64Array(cols.steps).fill(0.75);
        const got = aggregateColumns(op, cols, grouping, param, () => {}, () => {});
        if (got.cols) columnar++;
        for (let i = 0; i < cols.steps; i++) {
          const want = aggregate(op, stepVector(cols, i), grouping, 0.75, () => {});
          const fmt = (x: ESample[]) =>
            x.map((s) =>
              `${JSON.stringify(s.labels)} ${Object.is(s.v, -0) ? "-0" : s.v} ${s.dropName}`
            );
          assert.deepEqual(fmt(got.steps[i]!), fmt(want), `${op} seed ${seed} step ${i}`);
        }
      }
    }
  }
  assert.ok(columnar > 0, "some results are columns");
});
