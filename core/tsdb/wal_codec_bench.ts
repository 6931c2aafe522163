/**
 * The WAL samples encoder on the two shapes of issue 19: a request of 10,000
 * series with one sample each ("wide"), and 2,000 series with 5 samples each
 * ("edge"), values and timestamps from the edge workload, every series seen
 * before in the segment (the steady state).
 *
 *   deno bench --allow-all core/tsdb/wal_codec_bench.ts
 *
 * @module
 */
import { ByteWriter } from "./_byte_buf.ts";
import { generateEdgeWorkload } from "./edge_workload.ts";
import { SampleEncoder, type SampleSource } from "./wal_codec.ts";

/** Requests of `series` series with `per` samples each, in series-major order, refs from 1. */
function requests(hosts: number, series: number, per: number, count: number): SampleSource[] {
  const all = [...generateEdgeWorkload({ hosts, durationMs: (count + 1) * per * 10_000 })]
    .slice(0, series);
  const out: SampleSource[] = [];
  for (let r = 0; r < count; r++) {
    const n = series * per;
    const ref = new Int32Array(n), t = new Float64Array(n), v = new Float64Array(n);
    let i = 0;
    for (let s = 0; s < series; s++) {
      for (let k = r * per; k < (r + 1) * per; k++, i++) {
        ref[i] = s + 1;
        t[i] = all[s]!.t[k]!;
        v[i] = all[s]!.v[k]!;
      }
    }
    out.push({ n, refs: ref, t, v });
  }
  return out;
}

for (
  const [name, src] of [
    ["wide: 10,000 series × 1 sample", requests(500, 10_000, 1, 20)],
    ["edge: 2,000 series × 5 samples", requests(100, 2_000, 5, 20)],
  ] as const
) {
  const enc = new SampleEncoder();
  const w = new ByteWriter(1 << 20);
  // The first request writes every series in full; the bench measures the ones after it.
  enc.encode(w, src[0]!);
  let i = 1;
  Deno.bench(`WAL samples record, ${name}`, { group: "wal" }, () => {
    w.reset();
    enc.encode(w, src[i]!);
    i = i + 1 === src.length ? 1 : i + 1;
  });
}
