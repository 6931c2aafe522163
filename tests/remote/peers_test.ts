/**
 * Remote write and federation against real peers from Debian (loopback
 * only): VictoriaMetrics and Prometheus. Skips with a message when a binary
 * is missing.
 */
import assert from "node:assert/strict";
import { labelsKey, SampleBatch, toLabels } from "../../core/model/mod.ts";
import { IngestPipeline } from "../../core/ingest/mod.ts";
import type { DB } from "../../core/tsdb/mod.ts";
import { remoteRoutes } from "../../routes/remote.ts";
import { requireBinary } from "../_require.ts";
import {
  endpoints,
  eventually,
  PROM_BIN,
  promQuery,
  remoteWriteFrom,
  seriesKey,
  startPrometheus,
  startVM,
  tempDB,
  VM_BIN,
  vmExport,
} from "./_peers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function batch(name: string, nSeries: number, times: number[]): SampleBatch {
  const b = new SampleBatch();
  for (let k = 0; k < nSeries; k++) {
    const l = toLabels(name, { sensor: `s${k}` });
    const ref = b.addSeries(l, labelsKey(l));
    for (const t of times) b.add(ref, t, k * 1000 + (t % 100_000) / 7);
  }
  return b;
}

/** Perch's samples per series key, for comparing with a peer. */
async function perchSamples(db: DB, name: string) {
  const { newMatcher } = await import("../../core/model/mod.ts");
  const out = new Map<string, { t: number[]; v: number[] }>();
  for (const s of await db.select([newMatcher("=", "__name__", name)], { minT: 0, maxT: 4e12 })) {
    const m: Record<string, string> = {};
    for (const l of s.labels) m[l.name] = l.value;
    out.set(seriesKey(m), { t: Array.from(s.t), v: Array.from(s.v) });
  }
  return out;
}

Deno.test({
  name: "Perch remote-writes to real VictoriaMetrics and Prometheus; peers return what Perch holds",
  ...opts,
  async fn() {
    requireBinary(VM_BIN, "victoria-metrics");
    requireBinary(PROM_BIN, "prometheus");
    const vm = await startVM();
    const prom = await startPrometheus();
    const { db, m, app, close } = await remoteWriteFrom();
    try {
      await m.apply(endpoints([
        { url: `${vm.url}/api/v1/write`, name: "vm", backfill: "1h" },
        { url: `${prom.url}/api/v1/write`, name: "prom", backfill: "1h" },
      ]));
      const now = Date.now();
      const times = Array.from({ length: 120 }, (_, i) => now - 600_000 + i * 5000);
      await app.append(batch("edge_temp", 6, times));
      const total = 6 * 120;
      await eventually(
        () => m.stats().every((s) => s.samplesSent === total),
        30_000,
        "both endpoints to acknowledge every sample",
      );
      const mine = await perchSamples(db, "edge_temp");
      await eventually(
        async () => {
          const got = await vmExport(vm.url, "edge_temp");
          return [...got.values()].reduce((n, s) => n + s.t.length, 0) === total;
        },
        20_000,
        "VictoriaMetrics to show the samples",
      );
      const got = await vmExport(vm.url, "edge_temp");
      assert.equal(got.size, 6);
      for (const [key, s] of mine) {
        const g = got.get(key)!;
        const order = g.t.map((_, i) => i).sort((a, b) => g.t[a]! - g.t[b]!);
        assert.deepEqual(order.map((i) => g.t[i]), s.t, key);
        // VictoriaMetrics keeps about 12 significant decimal digits of a float.
        order.forEach((i, k) =>
          assert.ok(Math.abs(g.v[i]! - s.v[k]!) <= 1e-11 * Math.abs(s.v[k]!), `${key} @${k}`)
        );
      }
      const counts = await promQuery(prom.url, "count_over_time(edge_temp[15m])", now);
      assert.equal(counts.length, 6);
      for (const [, v] of counts) assert.equal(v, "120");
      const last = await promQuery(prom.url, 'edge_temp{sensor="s3"}', times[119]!);
      assert.equal(Number(last[0]![1]), mine.get('edge_temp{sensor="s3"}')!.v[119]);
      assert.equal(m.stats().reduce((n, s) => n + s.samplesFailed, 0), 0);
    } finally {
      await close();
      await vm.stop();
      await prom.stop();
    }
  },
});

Deno.test({
  name: "Outage: VictoriaMetrics stopped during ingestion and restarted gets every sample once",
  ...opts,
  async fn() {
    requireBinary(VM_BIN, "victoria-metrics");
    let vm = await startVM();
    const { db, m, app: pipelineApp, close } = await remoteWriteFrom();
    try {
      await m.apply(endpoints([{ url: `${vm.url}/api/v1/write`, name: "vm" }]));
      let appended = 0;
      const ingest = async (ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          await pipelineApp.append(batch("outage_load", 8, [Date.now()]));
          appended += 8;
          await new Promise((r) => setTimeout(r, 40));
        }
      };
      await ingest(1500);
      await vm.stop(); // The uplink goes down…
      await ingest(3000); // …while the edge keeps ingesting,
      await eventually(() => m.stats()[0]!.samplesRetried > 0, 10_000, "retries while down");
      vm = await startVM({ port: vm.port, dataDir: vm.dataDir }); // …and comes back.
      await ingest(1500);
      const lastT = Date.now();
      await eventually(
        () => m.endpoint("vm")!.cursor.t >= lastT && m.stats()[0]!.samplesSent === appended,
        30_000,
        "catch-up after the outage",
      );
      await eventually(
        async () => {
          const got = await vmExport(vm.url, "outage_load");
          return [...got.values()].reduce((n, s) => n + s.t.length, 0) >= appended;
        },
        20_000,
        "VictoriaMetrics to show every sample",
      );
      const got = await vmExport(vm.url, "outage_load");
      const mine = await perchSamples(db, "outage_load");
      assert.equal(got.size, 8);
      for (const [key, s] of mine) {
        const g = got.get(key)!;
        assert.equal(g.t.length, s.t.length, `count of ${key}`);
        assert.deepEqual([...g.t].sort((a, b) => a - b), s.t, `timestamps of ${key}`);
      }
      const s = m.stats()[0]!;
      assert.equal(s.samplesSent, appended);
      assert.ok(s.samplesRetried > 0);
      assert.equal(s.samplesFailed, 0);
    } finally {
      await close();
      await vm.stop();
    }
  },
});

Deno.test({
  name: "SIGKILL of Perch during catch-up: the next run resumes from the persisted cursor",
  ...opts,
  async fn() {
    requireBinary(VM_BIN, "victoria-metrics");
    // Deduplicate on the peer: a slice in flight at the kill may be sent twice (README).
    const vm = await startVM({ extra: ["-dedup.minScrapeInterval=1ms"] });
    const dir = await Deno.makeTempDir({ prefix: "perch-kill-" });
    const db = await tempDB(dir);
    const now = Date.now();
    const times = Array.from({ length: 600 }, (_, i) => now - 3_000_000 + i * 5000);
    await db.append(batch("kill_load", 10, times));
    await db.close();
    const total = 10 * 600;
    const child = (rate: number) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", new URL("./_edge_child.ts", import.meta.url).pathname],
        env: { DIR: dir, URL: `${vm.url}/api/v1/write`, RATE: String(rate) },
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
    const lines = async (p: Deno.ChildProcess, onLine: (l: string) => void) => {
      const d = new TextDecoder();
      let buf = "";
      for await (const c of p.stdout) {
        buf += d.decode(c);
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
    };
    try {
      const first = child(1500);
      let sentFirst = 0;
      const l1 = lines(first, (l) => sentFirst = Number(l.split(" ")[1]));
      await eventually(() => sentFirst >= 1500, 30_000, "the first run to send some data");
      first.kill("SIGKILL");
      await first.status;
      await l1;
      assert.ok(sentFirst < total, "killed during catch-up");
      const second = child(0);
      let sentSecond = 0, startCursor = 0;
      const l2 = lines(second, (l) => {
        const [kind, n] = l.split(" ");
        if (kind === "start") startCursor = Number(n);
        else sentSecond = Number(n);
      });
      await eventually(() => sentSecond > 0 && startCursor > 0, 30_000, "the second run to start");
      await eventually(
        async () => {
          const got = await vmExport(vm.url, "kill_load");
          return [...got.values()].reduce((n, s) => n + new Set(s.t).size, 0) === total;
        },
        40_000,
        "every sample on the peer",
      );
      second.kill("SIGTERM");
      await second.status;
      await l2;
      // Resumed: the second run started past the beginning and sent less than everything.
      assert.ok(startCursor > now - 3_600_000, `cursor ${startCursor} was persisted`);
      assert.ok(sentSecond < total, `second run sent ${sentSecond} of ${total}`);
      assert.ok(sentFirst + sentSecond >= total);
      const got = await vmExport(vm.url, "kill_load");
      for (const s of got.values()) assert.equal(new Set(s.t).size, 600);
    } finally {
      await vm.stop();
    }
  },
});

Deno.test({
  name: "A real Prometheus scrapes /federate",
  ...opts,
  async fn() {
    requireBinary(PROM_BIN, "prometheus");
    const db = await tempDB();
    const routes = remoteRoutes({
      querier: db,
      pipeline: new IngestPipeline({ appender: db }),
      externalLabels: () => ({ edge: "box-1" }),
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, routes.fetch);
    const port = server.addr.port;
    const feed = setInterval(() => {
      db.append(batch("fed_temp", 3, [Date.now()])).catch(() => {});
    }, 250);
    await db.append(batch("fed_temp", 3, [Date.now()]));
    await db.append(batch("other_metric", 1, [Date.now()]));
    const prom = await startPrometheus(`scrape_configs:
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params:
      "match[]": ['{__name__=~"fed_.*"}']
    static_configs:
      - targets: ["127.0.0.1:${port}"]
`);
    try {
      await eventually(
        async () => (await promQuery(prom.url, "fed_temp")).length === 3,
        30_000,
        "Prometheus to scrape the federated series",
      );
      const rows = await promQuery(prom.url, "fed_temp");
      for (const [labels] of rows) {
        assert.equal(labels.edge, "box-1");
        assert.equal(labels.job, "federate");
      }
      const up = await promQuery(prom.url, 'up{job="federate"}');
      assert.equal(up[0]![1], "1");
      assert.equal((await promQuery(prom.url, "other_metric")).length, 0);
    } finally {
      clearInterval(feed);
      await prom.stop();
      await server.shutdown();
      await db.close();
    }
  },
});
