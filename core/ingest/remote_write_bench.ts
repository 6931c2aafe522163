/**
 * The remote write path stage by stage, in the shape Prometheus and vmagent
 * send with many series (issue 19's "wide" workload): 20,000 series (1,000
 * hosts of the edge workload), each request one sample for each of 10,000
 * of them (the two halves alternate), so per-series costs dominate. The
 * `--edge` shape is 2,000 series × 5 samples per request instead.
 *
 * `deno bench` runs one request per iteration through each stage. Run as a
 * script to print this process's CPU time per sample, cumulative by stage
 * (a shared machine inflates wall time, and CPU time less: the fastest of
 * five parts of the run is printed, the median beside it):
 *
 *   deno run --allow-all core/ingest/remote_write_bench.ts [--requests=200] [--edge]
 *     [--allocations]
 *
 * Stages: snappy; + protobuf decode (`parseRemoteWrite`); + pipeline
 * (validation cache, cardinality limiter asking a real index, SampleBatch)
 * into an appender that stores nothing; the whole route (`app.request`,
 * body read and snappy included) into `WriteTracker` → core/tsdb `DB` with
 * fsync "always" and the default cardinality limit, as main.ts wires it.
 * `--allocations` runs the last fifth of each stage under V8's sampling
 * heap profiler (collected objects included) and prints the functions that
 * allocated most bytes per sample.
 *
 * @module
 */
import inspector from "node:inspector";
import process from "node:process";
import { ingestRoutes } from "../../routes/ingest.ts";
import { WriteTracker } from "../remote/mod.ts";
import { openDB } from "../tsdb/mod.ts";
import { generateEdgeWorkload } from "../tsdb/mod_testing.ts";
import { NullAppender } from "./ingest_bench.ts";
import { IngestPipeline } from "./pipeline.ts";
import { parseRemoteWrite } from "./remote_write.ts";
import { encodeRemoteWriteBody } from "./remote_write_codec.ts";
import { snappyDecode } from "./snappy.ts";

const STEP_MS = 10_000;

/** Request bodies: `wide` (20,000 series, 10,000 per request, 1 sample each) or edge (2,000 × 5). */
export function remoteWriteBodies(
  requests: number,
  wide = true,
): { bodies: Uint8Array[]; perRequest: number; series: number; end: number } {
  const hosts = wide ? 1000 : 100;
  const per = wide ? 1 : 5;
  const halves = wide ? 2 : 1;
  const samplesPerSeries = Math.ceil(requests / halves) * per;
  const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const series = [
    ...generateEdgeWorkload({
      hosts,
      durationMs: samplesPerSeries * STEP_MS,
      startMs: end - samplesPerSeries * STEP_MS,
    }),
  ];
  const size = series.length / halves;
  const bodies: Uint8Array[] = [];
  for (let b = 0; b < requests; b++) {
    const i = Math.floor(b / halves) * per;
    const part = series.slice((b % halves) * size, (b % halves + 1) * size);
    bodies.push(encodeRemoteWriteBody({
      series: part.map((s) => ({
        labels: s.labels,
        t: s.t.subarray(i, i + per),
        v: s.v.subarray(i, i + per),
      })),
    }));
  }
  return { bodies, perRequest: size * per, series: series.length, end };
}

/** A pipeline over a fresh DB (fsync "always") behind the remote write route, as main.ts wires it. */
async function routeOverDb(dir: string) {
  const db = await openDB({
    dir,
    fsync: "always",
    backgroundIntervalMs: 0,
    downsampling: [],
  });
  const tracker = new WriteTracker({
    hold: () => Promise.reject(new Error("BUG: no endpoint")),
    add: () => Promise.reject(new Error("BUG: no endpoint")),
  }, db);
  const pipeline = new IngestPipeline({
    appender: tracker,
    seriesIndex: db,
    limits: { maxSeries: 1_000_000 },
    maxInFlight: 8,
  });
  const app = ingestRoutes({ pipeline });
  const post = async (body: Uint8Array) => {
    const res = await app.request("/api/v1/write", {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
      headers: { "content-encoding": "snappy", "content-type": "application/x-protobuf" },
    });
    if (res.status >= 300) throw new Error(`BUG: ${res.status} ${await res.text()}`);
    await res.body?.cancel();
  };
  return { db, post };
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

if (!import.meta.main) {
  const { bodies } = remoteWriteBodies(8);
  const nullPipeline = new IngestPipeline({ appender: new NullAppender() });
  let i = 0, j = 0, k = 0;
  Deno.bench("snappy, wide request", { group: "rw" }, () => {
    snappyDecode(bodies[i++ % bodies.length]!);
  });
  Deno.bench("snappy + decode, wide request", { group: "rw" }, () => {
    parseRemoteWrite(snappyDecode(bodies[j++ % bodies.length]!));
  });
  Deno.bench(
    "snappy + decode + pipeline (null appender), wide request",
    { group: "rw" },
    async () => {
      await nullPipeline.ingest("remote_write", parseRemoteWrite(snappyDecode(bodies[k++ % 8]!)));
    },
  );
  const dir = Deno.makeTempDirSync({ prefix: "perch-rw-bench-" });
  const { db, post } = await routeOverDb(dir);
  // Creates the series, so the bench measures known series.
  for (const b of bodies.slice(0, 2)) await post(b);
  let m = 2;
  Deno.bench("route + tsdb (fsync always), wide request", { group: "rw" }, async () => {
    await post(bodies[m++ % bodies.length]!);
  });
  globalThis.addEventListener("unload", () => {
    db.close().finally(() => Deno.removeSync(dir, { recursive: true }));
  });
}

interface AllocNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocNode[];
}

/** Runs `f` under V8's sampling heap profiler; returns bytes allocated by function. */
async function allocations(f: () => Promise<void>): Promise<Map<string, number>> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (e: Error | null, r: unknown) => e ? reject(e) : resolve(r))
    );
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await f();
  const { profile } = await post("HeapProfiler.stopSampling") as { profile: { head: AllocNode } };
  session.disconnect();
  const out = new Map<string, number>();
  const walk = (n: AllocNode) => {
    const c = n.callFrame;
    const k = `${c.functionName || "(anonymous)"} ${c.url.split("/").pop()}:${c.lineNumber + 1}`;
    out.set(k, (out.get(k) ?? 0) + n.selfSize);
    n.children.forEach(walk);
  };
  walk(profile.head);
  return out;
}

async function main(): Promise<void> {
  const arg = (k: string, d: string) =>
    Deno.args.find((a) => a.startsWith(`--${k}=`))?.split("=")[1] ?? d;
  const requests = Number(arg("requests", "200"));
  const wide = !Deno.args.includes("--edge");
  const allocs = Deno.args.includes("--allocations");
  const { bodies, perRequest, series } = remoteWriteBodies(requests + 2, wide);
  const warm = bodies.slice(0, 2), run = bodies.slice(2);
  console.log(
    `${wide ? "wide" : "edge"}: ${series} series, ${run.length} requests × ${perRequest} samples ` +
      "(after 2 that create the series); CPU µs per sample of this process, cumulative by stage, fastest of 5 parts",
  );
  // CPU time of 5 consecutive parts of the run: the fastest part is the figure least
  // inflated by other processes on a shared machine; the median is given beside it.
  // With --allocations the last part runs under the heap profiler instead (each
  // body is sent once: storage sees every sample once, in order).
  const stage = async (name: string, f: (b: Uint8Array) => unknown) => {
    for (const b of warm) await f(b);
    const parts: number[] = [];
    const per = Math.ceil(run.length / 5);
    const timed = allocs ? run.length - per : run.length;
    const t0 = performance.now();
    for (let p = 0; p < timed; p += per) {
      const c0 = cpuMs();
      for (const b of run.slice(p, p + per)) await f(b);
      parts.push(((cpuMs() - c0) * 1000) / (Math.min(per, run.length - p) * perRequest));
    }
    const wall = performance.now() - t0;
    parts.sort((a, b) => a - b);
    if (allocs) {
      const by = await allocations(async () => {
        for (const b of run.slice(timed)) await f(b);
      });
      const n = (run.length - timed) * perRequest;
      const total = [...by.values()].reduce((a, b) => a + b, 0);
      console.log(`${name}: ${(total / n).toFixed(1)} bytes allocated per sample`);
      for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
        console.log(`  ${(v / n).toFixed(1).padStart(7)}  ${k}`);
      }
    }
    console.log(
      `${name.padEnd(40)} ${parts[0]!.toFixed(3)} µs/sample cpu` +
        ` (median ${parts[parts.length >> 1]!.toFixed(3)}, wall ${
          (wall * 1000 / (timed * perRequest)).toFixed(3)
        })`,
    );
  };
  await stage("snappy", (b) => snappyDecode(b));
  await stage("+ decode", (b) => parseRemoteWrite(snappyDecode(b)));
  const pipeline = new IngestPipeline({ appender: new NullAppender() });
  await stage(
    "+ pipeline (null appender)",
    (b) => pipeline.ingest("remote_write", parseRemoteWrite(snappyDecode(b))),
  );
  const dir = await Deno.makeTempDir({ prefix: "perch-rw-bench-" });
  try {
    const { db, post } = await routeOverDb(dir);
    await stage("route + tracker + tsdb (fsync always)", post);
    await db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
