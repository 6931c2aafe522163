import { decodeChunkInto, encodeChunk } from "./chunk.ts";
import { generateEdgeWorkload } from "./edge_workload.ts";

// 5 hosts × 20 metrics × 2 h of the edge workload: 72,000 samples per iteration.
const series = [...generateEdgeWorkload({ hosts: 5, durationMs: 2 * 3_600_000 })];
const jittered = [...generateEdgeWorkload({ hosts: 5, durationMs: 2 * 3_600_000, jitterMs: 5 })];
const scratchT = new Float64Array(1024);
const scratchV = new Float64Array(1024);

function encodeAll(list: typeof series, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of list) {
    for (let i = 0; i < s.t.length; i += size) {
      out.push(encodeChunk(s.t, s.v, i, Math.min(s.t.length, i + size)));
    }
  }
  return out;
}

for (const size of [120, 720]) {
  const chunks = encodeAll(series, size);
  const jitterChunks = encodeAll(jittered, size);
  const perSample = (list: Uint8Array[]) =>
    (list.reduce((a, c) => a + c.length, 0) / (series.length * series[0].t.length)).toFixed(3);
  // Printed once when the bench file loads; tools/bench_chunks.ts has the full 4.32 M run.
  console.log(
    `chunk size ${size}: ${perSample(chunks)} B/sample, ${perSample(jitterChunks)} B/sample ` +
      `with ±5 ms jitter (edge workload, 5 hosts, 2 h)`,
  );
  Deno.bench(`encodeChunk() edge workload, ${size} samples/chunk (72k samples)`, {
    group: `encode ${size}`,
  }, () => {
    encodeAll(series, size);
  });
  Deno.bench(`encodeChunk() edge workload ±5 ms jitter, ${size} samples/chunk (72k samples)`, {
    group: `encode ${size}`,
  }, () => {
    encodeAll(jittered, size);
  });
  Deno.bench(`decodeChunkInto() edge workload, ${size} samples/chunk (72k samples)`, {
    group: `decode ${size}`,
  }, () => {
    for (const c of chunks) decodeChunkInto(c, scratchT, scratchV, 0);
  });
  Deno.bench(`decodeChunkInto() edge workload ±5 ms jitter, ${size} samples/chunk (72k samples)`, {
    group: `decode ${size}`,
  }, () => {
    for (const c of jitterChunks) decodeChunkInto(c, scratchT, scratchV, 0);
  });
}
