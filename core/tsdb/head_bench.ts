/**
 * Head.appendColumns in the shape of issue 19's edge ingest: 2,000 series
 * (100 hosts of the edge workload), requests of 10 samples for each of
 * 1,000 of them (the two halves alternate, as two remote write connections
 * send them), 1 h per iteration into a fresh head: the series are created
 * (each takes a first open slot and, within its first request, a full one)
 * and every 120 samples a chunk is sealed and encoded; then the same head
 * gives its windows up as a flush does.
 *
 *   deno bench --allow-all core/tsdb/head_bench.ts
 *
 * @module
 */
import { generateEdgeWorkload } from "./edge_workload.ts";
import { Head } from "./head.ts";

const RANGE = 7_200_000;
const PER = 10;

interface Columns {
  refs: Int32Array;
  t: Float64Array;
  v: Float64Array;
}

/** Requests of `per` samples for each series of one half, halves alternating. */
function requests(hours: number): Columns[] {
  const all = [...generateEdgeWorkload({ hosts: 100, durationMs: hours * 3_600_000 })];
  const half = all.length >> 1, n = all[0]!.t.length;
  const out: Columns[] = [];
  for (let k = 0; k < n; k += PER) {
    for (let h = 0; h < 2; h++) {
      const m = half * Math.min(PER, n - k);
      const refs = new Int32Array(m), t = new Float64Array(m), v = new Float64Array(m);
      let i = 0;
      for (let s = h * half; s < (h + 1) * half; s++) {
        for (let j = k; j < Math.min(n, k + PER); j++, i++) {
          refs[i] = s + 1;
          t[i] = all[s]!.t[j]!;
          v[i] = all[s]!.v[j]!;
        }
      }
      out.push({ refs, t, v });
    }
  }
  return out;
}

const hour = requests(1);

Deno.bench("Head.appendColumns, edge: 2,000 new series, 1 h (720k samples)", () => {
  const head = new Head(RANGE);
  for (const r of hour) head.appendColumns(r.refs, r.t, r.v, r.refs.length);
});

Deno.bench("Head.extractWindow, edge: 2,000 series, 1 h of chunks", (b) => {
  const head = new Head(RANGE);
  for (const r of hour) head.appendColumns(r.refs, r.t, r.v, r.refs.length);
  b.start();
  for (const w of head.windows()) head.extractWindow(w);
  b.end();
});
