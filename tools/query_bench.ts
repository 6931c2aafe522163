/**
 * Cold range-query latency over HTTP (issue 19's table): the edge workload
 * (core/tsdb/edge_workload.ts, 100 hosts × 20 metrics, 10 s, 6 h, plus a
 * `region` label from the host) pushed by remote write over two connections
 * (each sending half of the series in time order) into a Perch child and,
 * with `--peers`, into VictoriaMetrics and Prometheus started beside it;
 * then the four queries, each `--runs` times after one warm-up, uncached
 * (Perch with `query.cache_max_bytes: 0`, VictoriaMetrics with
 * `-search.disableCache`; Prometheus has no result cache). Perch runs
 * without its host collector and downsampling, as the peers do
 * (tools/_bench_perch.ts). Prints the median
 * per query and system (client-side: request until the whole body is read),
 * and each process's RSS after the query round.
 *
 *   deno run -A tools/query_bench.ts [--runs=20] [--hours=6] [--hosts=100]
 *     [--peers] [--idle=5000] [--flush] [--cache]
 *
 * `--flush` moves Perch's head into blocks before querying; `--cache` leaves
 * Perch's range cache at its default. Data is dated up to now, so every
 * system takes it in order. Whole-process RSS over a longer run, with ingest
 * figures: tools/rss_whole.ts.
 *
 * @module
 */
import { procMem } from "../tests/_perch.ts";
import { spawnBenchPerch } from "./_bench_perch.ts";
import { edgeBodies, QUERIES, queryRangeUrl } from "./_queries.ts";
import { PROM_BIN, startPrometheus, startVM, VM_BIN } from "../tests/remote/_peers.ts";
import { requireBinary } from "../tests/_require.ts";
import { pushConcurrently } from "../tests/_remote_write.ts";
import { PERCH_V8_FLAGS } from "./_v8_flags.ts";
import { arg } from "./_args.ts";

const runs = Number(arg("runs", "20"));
const hours = Number(arg("hours", "6"));
const hosts = Number(arg("hosts", "100"));
const idleMs = Number(arg("idle", "5000"));
const withPeers = Deno.args.includes("--peers");
const flush = Deno.args.includes("--flush");
const cache = Deno.args.includes("--cache");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Median ms per query, and the result's series × points of the first run. */
async function timeQueries(url: string, end: number, extra = ""): Promise<string[]> {
  const out: string[] = [];
  for (const [, q, range, step] of QUERIES) {
    const u = queryRangeUrl(url, q, range, step, end, 0, extra);
    const once = async () => {
      const t0 = performance.now();
      const r = await fetch(u);
      const text = await r.text();
      const ms = performance.now() - t0;
      if (r.status !== 200) throw new Error(`${q}: ${r.status} ${text.slice(0, 300)}`);
      return { ms, text };
    };
    const first = await once();
    const res = JSON.parse(first.text).data.result as { values: unknown[] }[];
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) ms.push((await once()).ms);
    ms.sort((a, b) => a - b);
    out.push(
      `${ms[ms.length >> 1]!.toFixed(1)} ms (${res.length}×${res[0]?.values.length ?? 0})`,
    );
  }
  return out;
}

const { bodies, samples, end } = edgeBodies(hosts, hours);
console.log(
  `edge workload: ${hosts * 20} series × ${hours} h at 10 s = ${samples} samples, ` +
    `${bodies[0]!.length + bodies[1]!.length} bodies; ${runs} runs per query, medians`,
);
const columns: { name: string; cells: string[]; rss: number; ingest: string }[] = [];

{
  const dir = await Deno.makeTempDir({ prefix: "perch-query-bench-" });
  const p = await spawnBenchPerch(dir, {
    env: cache ? {} : { PERCH_QUERY__CACHE_MAX_BYTES: "0" },
    runArgs: [`--v8-flags=${PERCH_V8_FLAGS}`],
  });
  try {
    const s = await pushConcurrently(p.url, bodies);
    if (flush) {
      const r = await fetch(`${p.url}/api/v1/admin/tsdb/flush`, { method: "POST" });
      await r.body?.cancel();
    }
    await sleep(idleMs);
    const heap = async () => {
      const text = await (await fetch(`${p.url}/metrics`)).text();
      const m = /^perch_heap_used_bytes (\S+)$/m.exec(text);
      return m ? `${(Number(m[1]) / 2 ** 20).toFixed(1)} MiB` : "?";
    };
    console.log(
      `Perch before the queries: RSS ${procMem(p.process.pid).VmRSS} MiB, V8 heap ${await heap()}`,
    );
    const cells = await timeQueries(p.url, end);
    console.log(
      `Perch after the queries: RSS ${procMem(p.process.pid).VmRSS} MiB, V8 heap ${await heap()}`,
    );
    columns.push({
      name: `Perch${cache ? " (cache on)" : ""}`,
      cells,
      rss: procMem(p.process.pid).VmRSS,
      ingest: `${(samples / s / 1e6).toFixed(2)} M/s`,
    });
  } finally {
    await p.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (withPeers) {
  requireBinary(VM_BIN, "victoria-metrics");
  const vm = await startVM();
  try {
    const s = await pushConcurrently(vm.url, bodies);
    await sleep(idleMs);
    const cells = await timeQueries(vm.url, end, "&nocache=1");
    columns.push({
      name: "VictoriaMetrics",
      cells,
      rss: procMem(vm.pid).VmRSS,
      ingest: `${(samples / s / 1e6).toFixed(2)} M/s`,
    });
  } finally {
    await vm.stop();
    await Deno.remove(vm.dataDir, { recursive: true }).catch(() => {});
  }
}

if (withPeers) {
  requireBinary(PROM_BIN, "prometheus");
  const prom = await startPrometheus();
  try {
    const s = await pushConcurrently(prom.url, bodies);
    await sleep(idleMs);
    const cells = await timeQueries(prom.url, end);
    columns.push({
      name: "Prometheus",
      cells,
      rss: procMem(prom.pid).VmRSS,
      ingest: `${(samples / s / 1e6).toFixed(2)} M/s`,
    });
  } finally {
    await prom.stop();
    await Deno.remove(prom.dataDir, { recursive: true }).catch(() => {});
  }
}

const w = 44;
console.log(["".padEnd(w), ...columns.map((c) => c.name.padEnd(26))].join(" | "));
for (let i = 0; i < QUERIES.length; i++) {
  console.log(
    [QUERIES[i]![0].padEnd(w), ...columns.map((c) => c.cells[i]!.padEnd(26))].join(" | "),
  );
}
console.log(
  ["RSS after the query round".padEnd(w), ...columns.map((c) => `${c.rss} MiB`.padEnd(26))].join(
    " | ",
  ),
);
console.log(
  ["ingest (remote write, 2 connections)".padEnd(w), ...columns.map((c) => c.ingest.padEnd(26))]
    .join(" | "),
);
