/**
 * Ingestion throughput on the deterministic edge workload (2,000 series:
 * 100 hosts × 20 metrics, labels host and job), in requests of 10,000
 * samples (5 scrapes of every series), per protocol.
 *
 * `deno bench` runs parse + pipeline per protocol against an appender that
 * stores nothing. Run as a script to print samples/s on one core:
 *
 *   deno run --allow-all core/ingest/ingest_bench.ts [--batches=40] [--storage] [--http]
 *     [--only=<protocol name part>]
 *
 * "remote write (wide)" is the shape Prometheus and vmagent send with many
 * series: 20,000 series (1,000 hosts), each request one sample for each of
 * 10,000 of them (the two halves alternate), so per-series costs dominate.
 *
 * It prints, per protocol: parse only; parse + pipeline (validation, cache,
 * SampleBatch) with a null appender; and through the Hono routes
 * (`app.request`, body decoding included, no socket). With `--storage` it
 * also runs the routes over the real core/tsdb database (WAL fsync
 * "always") in a temp dir; with `--http` the same through a real socket
 * (`Deno.serve` on 127.0.0.1, the client is `fetch` in this process). Both
 * say which share of the time the storage append took. Each rate is given
 * by the wall clock and by this process's CPU time, since the machine may
 * be shared.
 *
 * @module
 */
import process from "node:process";
import { type Appender, type AppendResult, SampleBatch } from "../model/mod.ts";
import { generateEdgeWorkload } from "../tsdb/mod_testing.ts";
import { parseInfluxLines } from "./influx.ts";
import { parseJsonMetrics } from "./json.ts";
import { IngestPipeline } from "./pipeline.ts";
import { parsePrometheusText } from "./prometheus_text.ts";
import { parseRemoteWrite } from "./remote_write.ts";
import { encodeRemoteWriteBody } from "./remote_write_codec.ts";
import type { ParsedRows } from "./rows.ts";
import { snappyDecode } from "./snappy.ts";

const SCRAPES_PER_REQUEST = 5; // × 2,000 series = 10,000 samples
const NOW = Date.UTC(2024, 0, 2);

/** Request bodies of every protocol for `batches` requests of the workload. */
export function buildBodies(batches: number): {
  influx: string[];
  influxPerSeries: string[];
  prometheus: string[];
  json: string[];
  remoteWrite: Uint8Array[];
  remoteWriteWide: Uint8Array[];
  samplesPerRequest: number;
} {
  const series = [
    ...generateEdgeWorkload({ hosts: 100, durationMs: batches * SCRAPES_PER_REQUEST * 10_000 }),
  ];
  const influx: string[] = [], influxPerSeries: string[] = [], prometheus: string[] = [];
  const json: string[] = [], remoteWrite: Uint8Array[] = [];
  const name = (k: number) => series[k]!.labels.find((l) => l.name === "__name__")!.value;
  const host = (k: number) => series[k]!.labels.find((l) => l.name === "host")!.value;
  for (let b = 0; b < batches; b++) {
    const from = b * SCRAPES_PER_REQUEST, to = from + SCRAPES_PER_REQUEST;
    let lp = "", lps = "", pt = "";
    const js: unknown[] = [];
    const rw: { labels: typeof series[0]["labels"]; t: Float64Array; v: Float64Array }[] = [];
    for (let i = from; i < to; i++) {
      // Telegraf style: one line per host and scrape, 20 fields.
      for (let k = 0; k < series.length; k += 20) {
        const fields: string[] = [];
        for (let m = k; m < k + 20; m++) fields.push(`${name(m)}=${series[m]!.v[i]}`);
        lp += `node,host=${host(k)},job=node ${fields.join(",")} ${series[k]!.t[i]}000000\n`;
      }
      for (let k = 0; k < series.length; k++) {
        const s = series[k]!;
        lps += `${name(k)},host=${host(k)},job=node value=${s.v[i]} ${s.t[i]}000000\n`;
        pt += `${name(k)}{host="${host(k)}",job="node"} ${s.v[i]} ${s.t[i]}\n`;
      }
    }
    for (const s of series) {
      const samples = [];
      for (let i = from; i < to; i++) samples.push({ value: s.v[i], timestamp: s.t[i] });
      js.push({
        name: s.labels[0]!.value,
        labels: { host: host(series.indexOf(s)), job: "node" },
        samples,
      });
      rw.push({ labels: s.labels, t: s.t.subarray(from, to), v: s.v.subarray(from, to) });
    }
    influx.push(lp);
    influxPerSeries.push(lps);
    prometheus.push(pt);
    json.push(JSON.stringify(js));
    remoteWrite.push(encodeRemoteWriteBody({ series: rw }));
  }
  return {
    influx,
    influxPerSeries,
    prometheus,
    json,
    remoteWrite,
    remoteWriteWide: buildWideBodies(batches),
    samplesPerRequest: series.length * SCRAPES_PER_REQUEST,
  };
}

/** 20,000 series; request i holds one sample of each series of half i % 2 (10,000 series). */
function buildWideBodies(batches: number): Uint8Array[] {
  const series = [
    ...generateEdgeWorkload({ hosts: 1000, durationMs: Math.ceil(batches / 2) * 10_000 }),
  ];
  const halves = [series.slice(0, 10_000), series.slice(10_000)];
  const out: Uint8Array[] = [];
  for (let b = 0; b < batches; b++) {
    const i = b >> 1;
    const rw = halves[b & 1]!.map((s) => ({
      labels: s.labels,
      t: s.t.subarray(i, i + 1),
      v: s.v.subarray(i, i + 1),
    }));
    out.push(encodeRemoteWriteBody({ series: rw }));
  }
  return out;
}

/** An appender that stores nothing and accepts everything. */
export class NullAppender implements Appender {
  samples = 0;
  append(batch: SampleBatch): Promise<AppendResult> {
    this.samples += batch.length;
    return Promise.resolve({ accepted: batch.length, rejected: [] });
  }
  setMetadata(): Promise<void> {
    return Promise.resolve();
  }
}

type Parser = (i: number) => ParsedRows;

function parsers(bodies: ReturnType<typeof buildBodies>): Record<string, Parser> {
  return {
    "line protocol (20 fields/line)": (i) => parseInfluxLines(bodies.influx[i]!, { now: NOW }),
    "line protocol (1 field/line)": (i) =>
      parseInfluxLines(bodies.influxPerSeries[i]!, { now: NOW }),
    "remote write": (i) => parseRemoteWrite(snappyDecode(bodies.remoteWrite[i]!)),
    "remote write (wide)": (i) => parseRemoteWrite(snappyDecode(bodies.remoteWriteWide[i]!)),
    "prometheus text": (i) => parsePrometheusText(bodies.prometheus[i]!, { now: NOW }),
    "json": (i) => parseJsonMetrics(bodies.json[i]!, { now: NOW }),
  };
}

if (!import.meta.main) {
  const bodies = buildBodies(4);
  const pipeline = new IngestPipeline({ appender: new NullAppender() });
  for (const [name, parse] of Object.entries(parsers(bodies))) {
    let i = 0;
    Deno.bench(`parse + pipeline, 10,000 samples: ${name}`, { group: "ingest" }, async () => {
      const rows = parse(i++ % 4);
      const r = await pipeline.ingest(name, rows);
      if (r.accepted !== bodies.samplesPerRequest) throw new Error(`BUG: ${r.accepted} accepted`);
    });
  }
}

/** Wall-clock and process CPU rates of `n` calls of `f`, after a few warm-up calls. */
async function timed(
  n: number,
  samples: number,
  f: (i: number) => unknown,
): Promise<{ wall: number; cpu: number; text: string }> {
  for (let i = 0; i < Math.min(3, n); i++) await f(i); // warm up caches and JIT tiers
  const c0 = cpuMs(), t0 = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  const wall = (n * samples) / ((performance.now() - t0) / 1000);
  const cpu = (n * samples) / ((cpuMs() - c0) / 1000);
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US").padStart(10);
  return { wall, cpu, text: `${fmt(wall)}/s (cpu ${fmt(cpu)}/s)` };
}

/** User + system CPU time of this process, in ms (all threads). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Wraps an appender to add up the time its appends take. */
function timing(appender: Appender): Appender & { ms: number } {
  const t = {
    ms: 0,
    async append(batch: SampleBatch) {
      const t0 = performance.now();
      try {
        return await appender.append(batch);
      } finally {
        t.ms += performance.now() - t0;
      }
    },
    setMetadata: appender.setMetadata.bind(appender),
  };
  return t;
}

async function main(): Promise<void> {
  const arg = (k: string) => Deno.args.find((a) => a.startsWith(`--${k}`));
  const batches = Number(arg("batches")?.split("=")[1] ?? 40);
  const withStorage = arg("storage") !== undefined;
  const overHttp = arg("http") !== undefined;
  const only = arg("only")?.split("=")[1];
  const bodies = buildBodies(batches);
  const per = bodies.samplesPerRequest;
  console.log(
    `edge workload: 2,000 series (wide: 20,000), ${batches} requests × ${per} samples, one request at a time; ` +
      "rates are samples/s by the wall clock and by this process's CPU time",
  );
  const { ingestRoutes } = await import("../../routes/ingest.ts");
  const routes: Record<string, [string, (i: number) => BodyInit, Record<string, string>]> = {
    "line protocol (20 fields/line)": ["/write", (i) => bodies.influx[i]!, {}],
    "line protocol (1 field/line)": ["/write", (i) => bodies.influxPerSeries[i]!, {}],
    "remote write": ["/api/v1/write", (i) => bodies.remoteWrite[i]! as Uint8Array<ArrayBuffer>, {
      "content-encoding": "snappy",
    }],
    "remote write (wide)": [
      "/api/v1/write",
      (i) => bodies.remoteWriteWide[i]! as Uint8Array<ArrayBuffer>,
      { "content-encoding": "snappy" },
    ],
    "prometheus text": ["/api/v1/import/prometheus", (i) => bodies.prometheus[i]!, {}],
    "json": ["/api/v1/metrics", (i) => bodies.json[i]!, {}],
  };
  const selected = (name: string) => only === undefined || name.includes(only);
  for (const [name, parse] of Object.entries(parsers(bodies))) {
    if (!selected(name)) continue;
    const pipeline = new IngestPipeline({ appender: new NullAppender() });
    const app = ingestRoutes({ pipeline, now: () => NOW });
    const [path, body, headers] = routes[name]!;
    const parseOnly = await timed(batches, per, (i) => parse(i % batches));
    const piped = await timed(batches, per, (i) => pipeline.ingest(name, parse(i % batches)));
    const http = await timed(batches, per, async (i) => {
      const res = await app.request(path, { method: "POST", body: body(i % batches), headers });
      if (res.status >= 300) throw new Error(`BUG: ${res.status} ${await res.text()}`);
    });
    console.log(`${name.padEnd(31)} parse ${parseOnly.text}`);
    console.log(`${"".padEnd(31)} +pipeline (null appender) ${piped.text}`);
    console.log(`${"".padEnd(31)} routes (app.request) ${http.text}`);
  }
  if (!withStorage && !overHttp) return;
  const { openDB } = await import("../tsdb/mod.ts");
  for (
    const name of [
      "line protocol (20 fields/line)",
      "line protocol (1 field/line)",
      "remote write",
      "remote write (wide)",
    ]
  ) {
    if (!selected(name)) continue;
    for (const mode of [withStorage ? "routes" : "", overHttp ? "http" : ""]) {
      if (mode === "") continue;
      const dir = await Deno.makeTempDir({ prefix: "perch-ingest-bench-" });
      const db = await openDB({
        dir,
        fsync: "always",
        outOfOrderWindowMs: Infinity,
        futureToleranceMs: Infinity,
        backgroundIntervalMs: 0,
      });
      const appender = timing(db);
      const pipeline = new IngestPipeline({ appender });
      const app = ingestRoutes({ pipeline, now: () => NOW });
      const [path, body, headers] = routes[name]!;
      let send: (i: number) => Promise<Response>;
      let server: Deno.HttpServer<Deno.NetAddr> | undefined;
      if (mode === "http") {
        server = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen: () => {} },
          app.fetch,
        );
        const url = `http://127.0.0.1:${server.addr.port}${path}`;
        send = (i) => fetch(url, { method: "POST", body: body(i), headers });
      } else {
        send = async (i) => await app.request(path, { method: "POST", body: body(i), headers });
      }
      let total = 0, calls = 0;
      const rate = await timed(batches - 1, per, async (i) => {
        if (calls++ === Math.min(3, batches - 1)) appender.ms = total = 0; // after the warm-up
        const t0 = performance.now();
        const res = await send(i);
        if (res.status >= 300) throw new Error(`BUG: ${res.status} ${await res.text()}`);
        await res.body?.cancel();
        total += performance.now() - t0;
      });
      await server?.shutdown();
      await db.close();
      await Deno.remove(dir, { recursive: true });
      const share = Math.round((100 * appender.ms) / total);
      console.log(
        `${name.padEnd(31)} ${mode === "http" ? "HTTP socket" : "routes"} + tsdb (fsync always) ` +
          `${rate.text}; storage append ${share}% of the time`,
      );
    }
  }
}

if (import.meta.main) await main();
