/**
 * Storage benchmark on the deterministic edge workload (2,000 series, 10 s,
 * 6 h = 4.32 M samples). Run as a script to print numbers:
 *
 *   deno run --allow-all core/tsdb/db_bench.ts [--hours=6] [--hosts=100]
 *
 * It ingests in time order (batches of 6 scrapes, 8 appends in flight) with
 * fsync "always" and then "interval", flushes, closes and reports: bytes per
 * sample of the whole data dir (WAL checkpointed, blocks, KV), RSS, bytes
 * written per sample (application bytes and, where Linux reports it, device
 * bytes from /proc/self/io), and ingest throughput. `deno bench` runs only a
 * small append micro-benchmark from this file.
 *
 * @module
 */
import { SampleBatch } from "../model/mod.ts";
import { type EdgeSeries, generateEdgeWorkload } from "./edge_workload.ts";
import { openDB } from "./db.ts";

function procWriteBytes(): number | undefined {
  try {
    const m = /write_bytes:\s*(\d+)/.exec(Deno.readTextFileSync("/proc/self/io"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) total += await dirBytes(p);
    else total += (await Deno.stat(p)).size;
  }
  return total;
}

async function run(series: EdgeSeries[], fsync: "always" | "interval") {
  const dir = await Deno.makeTempDir({ prefix: "perch-bench-" });
  const n = series[0].t.length;
  const total = series.length * n;
  const db = await openDB({
    dir,
    fsync,
    outOfOrderWindowMs: Infinity,
    futureToleranceMs: Infinity,
    backgroundIntervalMs: 0,
    downsampling: [], // the workload is dated 2024: keep it raw
  });
  const io0 = procWriteBytes();
  const t0 = performance.now();
  const step = 6;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += step) {
    const b = new SampleBatch(series.length * step);
    const ids = series.map((s, k) => b.addSeries(s.labels, String(k)));
    for (let j = i; j < Math.min(n, i + step); j++) {
      for (let k = 0; k < series.length; k++) b.add(ids[k], series[k].t[j], series[k].v[j]);
    }
    inflight.push(db.append(b));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  const ingestMs = performance.now() - t0;
  const rssIngestWithWorkload = Deno.memoryUsage().rss;
  await db.maintenance(); // flush due windows now so their bytes are counted here
  const st0 = await db.stats();
  await db.close();
  // Memory of the store alone: a fresh process opens the directory (WAL replay
  // into the head), reads every series, flushes and reports.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", import.meta.filename!, `--child=${dir}`],
    stdout: "piped",
  });
  const out = JSON.parse(new TextDecoder().decode((await child.output()).stdout));
  const io1 = procWriteBytes();
  const whole = await dirBytes(dir);
  const written = st0.walBytesWritten + st0.blockBytesWritten + out.blockBytesWritten +
    out.kvBytes;
  await Deno.remove(dir, { recursive: true });
  return {
    fsync,
    samples: total,
    ingestSamplesPerSec: Math.round(total / (ingestMs / 1000)),
    wholeDirBytes: whole,
    bytesPerSample: +(whole / total).toFixed(3),
    parts: out.parts,
    blocks: out.blocks,
    walFsyncs: st0.walFsyncs,
    walFsyncMeanMs: st0.walFsyncs ? +(1000 * st0.walFsyncSecondsSum / st0.walFsyncs).toFixed(2) : 0,
    walBytesWrittenPerSample: +(st0.walBytesWritten / total).toFixed(2),
    blockBytesWrittenPerSample: +((st0.blockBytesWritten + out.blockBytesWritten) / total).toFixed(
      2,
    ),
    compactions: out.compactions,
    appBytesWrittenPerSample: +(written / total).toFixed(2),
    deviceBytesWrittenPerSample: io0 !== undefined && io1 !== undefined
      ? +((io1 - io0) / total).toFixed(2)
      : null,
    rssIngestProcessMiB: +(rssIngestWithWorkload / 2 ** 20).toFixed(1),
    rssLoadedMiB: out.rssLoadedMiB,
    rssAfterQueryMiB: out.rssQueryMiB,
    rssAfterFlushMiB: out.rssFlushMiB,
    queryAllMs: out.queryMs,
  };
}

async function child(dir: string) {
  const mib = () => +(Deno.memoryUsage().rss / 2 ** 20).toFixed(1);
  const db = await openDB({
    dir,
    outOfOrderWindowMs: Infinity,
    backgroundIntervalMs: 0,
    downsampling: [], // the workload is dated 2024: keep it raw
  });
  const rssLoadedMiB = mib();
  const q0 = performance.now();
  const got = await db.select([], { minT: -Infinity, maxT: Infinity });
  let n = 0;
  for (const s of got) n += s.t.length;
  const queryMs = Math.round(performance.now() - q0);
  got.length = 0;
  const rssQueryMiB = mib();
  await db.flush();
  await db.maintenance(); // compaction counts towards bytes written
  const st = await db.stats();
  await db.close();
  const rssFlushMiB = mib();
  console.log(JSON.stringify({
    rssLoadedMiB,
    rssQueryMiB,
    rssFlushMiB,
    queryMs,
    queriedSamples: n,
    blocks: st.blocks,
    parts: st.bytes,
    blockBytesWritten: st.blockBytesWritten,
    compactions: st.compactions,
    kvBytes: st.bytes.kv,
  }));
}

if (import.meta.main) {
  const arg = (k: string, d: number) => {
    const a = Deno.args.find((x) => x.startsWith(`--${k}=`));
    return a ? Number(a.split("=")[1]) : d;
  };
  const childDir = Deno.args.find((x) => x.startsWith("--child="));
  if (childDir) {
    await child(childDir.slice("--child=".length));
    Deno.exit(0);
  }
  const hours = arg("hours", 6), hosts = arg("hosts", 100);
  const series = [...generateEdgeWorkload({ hosts, durationMs: hours * 3_600_000 })];
  for (const mode of ["always", "interval"] as const) {
    console.log(JSON.stringify(await run(series, mode)));
  }
}

Deno.bench("DB.append 2,000 samples (fsync interval)", async (b) => {
  const dir = await Deno.makeTempDir();
  const db = await openDB({ dir, fsync: "interval", backgroundIntervalMs: 0, useWorker: false });
  const series = [...generateEdgeWorkload({ hosts: 100, durationMs: 600_000 })];
  const batch = new SampleBatch(2000);
  for (let k = 0; k < series.length; k++) {
    batch.add(batch.addSeries(series[k].labels, String(k)), Date.now(), series[k].v[0]);
  }
  b.start();
  await db.append(batch);
  b.end();
  await db.close();
  await Deno.remove(dir, { recursive: true });
});
