/**
 * Chunk codec numbers on the edge workload (issue 3): bytes per sample,
 * encode and decode throughput on one core, and what zstd over a whole
 * block's chunks would add. Run: deno run --allow-all tools/bench_chunks.ts
 * [--hosts=100] [--jitter=0]
 *
 * @module
 */
import { zstdCompressSync } from "node:zlib";
import { decodeChunkInto, encodeChunk } from "../core/tsdb/chunk.ts";
import { type EdgeSeries, generateEdgeWorkload } from "../core/tsdb/edge_workload.ts";

const arg = (name: string, def: number) => {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split("=")[1]) : def;
};
const hosts = arg("hosts", 100);
const jitterMs = arg("jitter", 0);

const series: EdgeSeries[] = [...generateEdgeWorkload({ hosts, jitterMs })];
const total = series.reduce((s, x) => s + x.t.length, 0);
console.log(`edge workload: ${series.length} series, ${total} samples, jitter ±${jitterMs} ms`);

// Information content: plug-in entropy of each metric's first differences, pooled over hosts.
{
  const hists = new Map<string, Map<number, number>>();
  let bits = 0;
  for (const s of series) {
    const name = s.labels.find((l) => l.name === "__name__")!.value;
    let h = hists.get(name);
    if (!h) hists.set(name, h = new Map());
    for (let i = 1; i < s.v.length; i++) {
      const d = Math.round((s.v[i] - s.v[i - 1]) * 100);
      h.set(d, (h.get(d) ?? 0) + 1);
    }
  }
  for (const h of hists.values()) {
    let n = 0;
    for (const c of h.values()) n += c;
    for (const c of h.values()) bits -= c * Math.log2(c / n);
  }
  console.log(`information content of the values: ${(bits / 8 / total).toFixed(3)} B/sample`);
}

function run(chunkSize: number) {
  const chunks: Uint8Array[] = [];
  const byKind = { counter: 0, gauge: 0, constant: 0 };
  const samplesByKind = { counter: 0, gauge: 0, constant: 0 };
  let bytes = 0;
  let t0 = performance.now();
  for (const s of series) {
    const n = s.t.length;
    for (let i = 0; i < n; i += chunkSize) {
      const c = encodeChunk(s.t, s.v, i, Math.min(n, i + chunkSize));
      chunks.push(c);
      bytes += c.length;
      byKind[s.kind] += c.length;
    }
    samplesByKind[s.kind] += n;
  }
  const encMs = performance.now() - t0;
  const t = new Float64Array(65536);
  const v = new Float64Array(65536);
  let decMs = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    t0 = performance.now();
    let count = 0;
    for (const c of chunks) count += decodeChunkInto(c, t, v, 0);
    if (count !== total) throw new Error("BUG: decoded sample count differs");
    decMs = Math.min(decMs, performance.now() - t0);
  }
  const per = (k: keyof typeof byKind) => (byKind[k] / samplesByKind[k]).toFixed(3);
  console.log(
    `\n${chunkSize} samples/chunk: ${chunks.length} chunks, ${bytes} bytes, ` +
      `${(bytes / total).toFixed(3)} B/sample (counters ${per("counter")}, gauges ${
        per("gauge")
      }, near-constant ${per("constant")}), ${(bytes / chunks.length).toFixed(1)} B/chunk`,
  );
  console.log(
    `  encode ${(total / encMs / 1000).toFixed(2)} M samples/s, decode ${
      (total / decMs / 1000).toFixed(2)
    } M samples/s (best of 3, decodeChunkInto)`,
  );
  return chunks;
}

for (const size of [120, 720]) {
  const chunks = run(size);
  // A 2 h block holds every series' chunks of one window; zstd the concatenation.
  const perSeries = chunks.length / series.length;
  const windows = Math.max(1, Math.round(perSeries / (size === 120 ? 6 : 1)));
  let raw = 0;
  let packed = 0;
  let t0 = performance.now();
  for (let w = 0; w < windows; w++) {
    const parts: Uint8Array[] = [];
    for (let s = 0; s < series.length; s++) {
      const from = s * perSeries + (w * perSeries) / windows;
      for (let k = 0; k < perSeries / windows; k++) parts.push(chunks[from + k]);
    }
    const len = parts.reduce((a, p) => a + p.length, 0);
    const buf = new Uint8Array(len);
    let off = 0;
    for (const p of parts) buf.set(p, off), off += p.length;
    raw += len;
    packed += zstdCompressSync(buf).length;
  }
  t0 = performance.now() - t0;
  console.log(
    `  zstd (default level) over each 2 h block's chunks: ${raw} → ${packed} bytes ` +
      `(${(100 * (1 - packed / raw)).toFixed(1)}% smaller, ${
        (packed / total).toFixed(3)
      } B/sample, ` +
      `${t0.toFixed(0)} ms)`,
  );
}
