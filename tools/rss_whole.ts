/**
 * Resident memory of a whole Perch process holding the edge workload
 * (2,000 series, 10 s, 6 h = 4.32 M samples), measured from outside:
 *
 *   deno run -A tools/rss_whole.ts [--hours=6] [--hosts=100] [--idle=35000]
 *     [--v8=FLAGS (default: tools/_v8_flags.ts)] [--conc=2] [--batch=10000] [--smaps]
 *
 * Starts `deno run -A --v8-flags=<v8> main.ts --listen=127.0.0.1:0
 * --data-dir=<tmp>` with retention off, an unlimited out-of-order window
 * (the workload is dated 2024), no downsampling and no host collector
 * (tools/_bench_perch.ts). Pushes the workload by
 * remote write in batches of `--batch` samples (`--conc` requests in
 * flight), flushes the head (`POST /api/v1/admin/tsdb/flush`), runs
 * dashboard-like queries, then waits `--idle` ms. After each stage it prints
 * the child's VmRSS, VmHWM (peak), RssAnon and RssFile from
 * /proc/<pid>/status, in MiB, as one JSON line; the last line sums it up.
 * Other `PERCH_*` variables of this process are passed to the child, so a
 * default can be tried without editing anything (e.g.
 * `PERCH_QUERY__CACHE_MAX_BYTES=4MiB`).
 *
 * @module
 */
import { encodeRemoteWriteBody, type WriteSeries } from "../core/ingest/mod.ts";
import { SampleBatch } from "../core/model/mod.ts";
import { EdgeStream } from "../core/tsdb/rss_bench.ts";
import { procMem } from "../tests/_perch.ts";
import { spawnBenchPerch } from "./_bench_perch.ts";
import { postRemoteWrite } from "../tests/_remote_write.ts";
import { PERCH_V8_FLAGS } from "./_v8_flags.ts";
import { arg } from "./_args.ts";

const hours = Number(arg("hours", "6"));
const hosts = Number(arg("hosts", "100"));
const idleMs = Number(arg("idle", "35000"));
const v8Flags = arg("v8", PERCH_V8_FLAGS);
const conc = Number(arg("conc", "2"));
const batchSamples = Number(arg("batch", "10000"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS per mapping name (MiB), the largest first; anonymous maps grouped by size. */
function smaps(pid: number): Record<string, number> {
  const by = new Map<string, number>();
  let name = "";
  let size = 0;
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) name = head[1] || "[anon]";
    else if (line.startsWith("Size:")) size = parseInt(line.slice(5));
    else if (line.startsWith("Rss:")) {
      const key = name !== "[anon]"
        ? name.replace(/^.*\//, "")
        : size >= 60_000
        ? "[anon 64M arena]"
        : size >= 1024
        ? "[anon >=1M]"
        : "[anon <1M]";
      by.set(key, (by.get(key) ?? 0) + parseInt(line.slice(4)));
    }
  }
  return Object.fromEntries(
    [...by].sort((a, b) => b[1] - a[1]).slice(0, 7).map(([k, v]) => [k, +(v / 1024).toFixed(1)]),
  );
}
const showSmaps = Deno.args.includes("--smaps");

const dir = await Deno.makeTempDir({ prefix: "perch_rss_whole_" });
// Other PERCH_* variables pass through: the child inherits this environment.
const perch = await spawnBenchPerch(dir, {
  env: {
    PERCH_STORAGE__OUT_OF_ORDER_WINDOW: "unlimited",
    PERCH_STORAGE__RETENTION: "0",
    PERCH_STORAGE__FSYNC: Deno.env.get("PERCH_STORAGE__FSYNC") ?? "always",
  },
  runArgs: v8Flags === "" ? [] : [`--v8-flags=${v8Flags}`],
  keepLogs: 20,
});
const pid = perch.process.pid;
const base = perch.url;
const stages: Record<string, Record<string, number>> = {};
function stage(name: string, extra: Record<string, unknown> = {}) {
  const m = procMem(pid);
  stages[name] = m;
  console.log(JSON.stringify({ stage: name, ...m, ...extra }));
  if (showSmaps) console.log(JSON.stringify({ stage: name, smaps: smaps(pid) }));
}

await sleep(2000);
stage("started");

// Ingest: scrapes grouped into bodies of `batchSamples` samples.
const stream = new EdgeStream(hosts);
const nSeries = stream.labels.length;
const scrapesPerBody = Math.max(1, Math.floor(batchSamples / nSeries));
const scrapes = hours * 360;
const t0 = performance.now();
const inflight: Promise<void>[] = [];
let peakDuringIngest = 0;
for (let s = 0; s < scrapes; s += scrapesPerBody) {
  const k = Math.min(scrapesPerBody, scrapes - s);
  const ts = Array.from({ length: nSeries }, () => new Float64Array(k));
  const vs = Array.from({ length: nSeries }, () => new Float64Array(k));
  for (let j = 0; j < k; j++) {
    const fresh = new SampleBatch(nSeries);
    stream.next(fresh);
    for (let i = 0; i < fresh.length; i++) {
      ts[fresh.ref(i)]![j] = fresh.t(i);
      vs[fresh.ref(i)]![j] = fresh.v(i);
    }
  }
  const series: WriteSeries[] = stream.labels.map((labels, i) => ({
    labels,
    t: ts[i]!,
    v: vs[i]!,
  }));
  const body = encodeRemoteWriteBody({ series });
  inflight.push(postRemoteWrite(base, body));
  if (inflight.length >= conc) await inflight.shift();
  if ((s / scrapesPerBody) % 20 === 0) {
    peakDuringIngest = Math.max(peakDuringIngest, procMem(pid).VmRSS);
  }
}
await Promise.all(inflight);
const ingestS = (performance.now() - t0) / 1000;
const samplesPerSec = Math.round(scrapes * nSeries / ingestS);
stage("afterIngest", {
  samples: scrapes * nSeries,
  samplesPerSec,
  sampledPeakRSS: peakDuringIngest,
});

const fr = await fetch(`${base}/api/v1/admin/tsdb/flush`, { method: "POST" });
await fr.body?.cancel();
if (fr.status >= 300) throw new Error(`flush: ${fr.status}`);
stage("afterFlush");

// Dashboard-like queries over the whole range at a 1-minute step.
const start = Date.UTC(2024, 0, 1) / 1000, end = start + hours * 3600;
const queries = [
  "sum by (host) (rate(node_network_receive_bytes_total[5m]))",
  "avg(cpu_usage_percent)",
  'temperature_celsius{host=~"host-00.*"}',
  "topk(5, node_load1)",
  "max_over_time(request_latency_milliseconds[10m])",
];
const tq = performance.now();
for (let round = 0; round < 2; round++) {
  for (const q of queries) {
    const u = new URL(`${base}/api/v1/query_range`);
    u.searchParams.set("query", q);
    u.searchParams.set("start", String(start));
    u.searchParams.set("end", String(end));
    u.searchParams.set("step", "60");
    const r = await fetch(u);
    const text = await r.text();
    if (r.status !== 200) throw new Error(`query ${q}: ${r.status} ${text.slice(0, 200)}`);
  }
}
const queryMs = Math.round(performance.now() - tq);
stage("afterQueries", { queryMs });

const tIdle = performance.now();
while (performance.now() - tIdle < idleMs) {
  await sleep(Math.min(5000, idleMs));
}
stage("afterIdle", { idleMs });

await perch.stop();
await Deno.remove(dir, { recursive: true });
console.log(JSON.stringify({
  summary: Object.fromEntries(Object.entries(stages).map(([k, m]) => [k, m.VmRSS])),
  peakHWM: stages.afterIdle?.VmHWM,
  samplesPerSec,
  queryMs,
  v8Flags,
}));
