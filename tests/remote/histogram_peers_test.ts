/**
 * Native histograms between Perch and a real Prometheus (Debian's, with
 * `--enable-feature=native-histograms`): Perch's remote write out, and
 * Prometheus scraping Perch's `/federate` in the protobuf format; what
 * Prometheus stores is compared with what Perch holds, sample by sample,
 * through Prometheus's HTTP API. Fails when Prometheus is not installed.
 */
import assert from "node:assert/strict";
import { IngestPipeline } from "../../core/ingest/mod.ts";
import {
  labelsKey,
  type NativeHistogram,
  newMatcher,
  SampleBatch,
  toLabels,
} from "../../core/model/mod.ts";
import type { DB } from "../../core/tsdb/mod.ts";
import { remoteRoutes } from "../../routes/remote.ts";
import { endpoints, eventually, remoteWriteFrom, startPrometheus, tempDB } from "./_peers.ts";
import {
  type ApiHistogram,
  apiHistogram,
  customHistogram,
  parseApiHistogram,
  sameApiHistogram,
  testHistogram,
} from "./_histograms.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** The cumulative count of a custom-bucket histogram up to bound `le`. */
function cumulativeAt(h: NativeHistogram, le: number): number {
  const k = h.customValues!.indexOf(le);
  return h.positiveBuckets.slice(0, k + 1).reduce((a, b) => a + b, 0);
}

/** Two histogram series (integer and float) and a float series, 30 samples 10 s apart. */
function histogramBatch(times: readonly number[]): SampleBatch {
  const b = new SampleBatch();
  const add = (name: string, kind: string) => {
    const l = toLabels(name, { kind });
    return b.addSeries(l, labelsKey(l));
  };
  const int = add("rpc_seconds", "int"), flt = add("rpc_seconds", "float");
  const temp = add("temp_celsius", "float");
  times.forEach((t, i) => {
    b.addHistogram(int, t, testHistogram(i));
    b.addHistogram(flt, t, testHistogram(i, true));
    b.add(temp, t, 20 + i / 8);
  });
  return b;
}

/** Perch's histograms of a metric in the API form, per `kind` label. */
async function perchHistograms(db: DB, name: string) {
  const out = new Map<string, { t: number; h: ApiHistogram }[]>();
  for (const s of await db.select([newMatcher("=", "__name__", name)], { minT: 0, maxT: 4e12 })) {
    const kind = s.labels.find((l) => l.name === "kind")!.value;
    const hs = s.histograms!;
    out.set(kind, [...hs.t].map((t, i) => ({ t, h: apiHistogram(hs.h[i]!) })));
  }
  return out;
}

/**
 * A peer's histograms of `name` over the 10 minutes before `time` (ms), per
 * `kind` label. One query per series: Prometheus 2.42 answers a range
 * selector over several histogram series with the last series' final
 * histogram at every point of the others (a reused buffer), so each series
 * is asked alone.
 */
async function peerHistograms(url: string, name: string, time: number) {
  const out = new Map<string, { t: number; h: ApiHistogram }[]>();
  for (const kind of ["int", "float"]) {
    const q = `${name}{kind="${kind}"}[10m]`;
    const res = await fetch(
      `${url}/api/v1/query?query=${encodeURIComponent(q)}&time=${time / 1000}`,
    );
    const j = await res.json();
    if (j.status !== "success") throw new Error(`query ${q}: ${JSON.stringify(j)}`);
    for (const r of j.data.result) {
      const list = (r.histograms ?? []) as [number, Parameters<typeof parseApiHistogram>[0]][];
      out.set(kind, list.map(([t, h]) => ({ t: Math.round(t * 1000), h: parseApiHistogram(h) })));
    }
  }
  return out;
}

function assertSameHistograms(
  got: Map<string, { t: number; h: ApiHistogram }[]>,
  want: Map<string, { t: number; h: ApiHistogram }[]>,
) {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [kind, w] of want) {
    const g = got.get(kind)!;
    assert.deepEqual(g.map((x) => x.t), w.map((x) => x.t), kind);
    w.forEach((x, k) =>
      assert.ok(
        sameApiHistogram(g[k]!.h, x.h),
        `${kind} @${x.t}: ${JSON.stringify([g[k]!.h, x.h])}`,
      )
    );
  }
}

Deno.test({
  name: "Perch remote-writes native histograms to a real Prometheus, which stores each one as sent",
  ...opts,
  async fn() {
    const prom = await startPrometheus(undefined, ["native-histograms"]);
    const { db, m, app, close } = await remoteWriteFrom();
    try {
      await m.apply(endpoints([{ url: `${prom.url}/api/v1/write`, name: "prom", backfill: "1h" }]));
      const now = Date.now();
      const times = Array.from({ length: 30 }, (_, i) => now - 400_000 + i * 10_000);
      await app.append(histogramBatch(times));
      await eventually(() => m.stats()[0]!.samplesSent === 90, 30_000, "every sample acknowledged");
      assert.equal(m.stats()[0]!.samplesFailed, 0);
      const want = await perchHistograms(db, "rpc_seconds");
      assert.equal(want.get("int")!.length, 30);
      assertSameHistograms(await peerHistograms(prom.url, "rpc_seconds", now), want);
    } finally {
      await close();
      await prom.stop();
    }
  },
});

Deno.test({
  name: "A real Prometheus scrapes native histograms from /federate in the protobuf format",
  ...opts,
  async fn() {
    const db = await tempDB();
    const routes = remoteRoutes({
      querier: db,
      pipeline: new IngestPipeline({ appender: db }),
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, routes.fetch);
    // A new histogram of each series every 250 ms, so each scrape sees a newer one.
    let i = 0;
    const feed = async () => {
      const b = new SampleBatch();
      const add = (name: string, kind: string) => {
        const l = toLabels(name, { kind });
        return b.addSeries(l, labelsKey(l));
      };
      const t = Date.now();
      b.addHistogram(add("rpc_seconds", "int"), t, testHistogram(i));
      b.addHistogram(add("rpc_seconds", "float"), t, testHistogram(i, true));
      b.addHistogram(add("rpc_custom", "int"), t, customHistogram(i));
      i++;
      await db.append(b);
    };
    await feed();
    const timer = setInterval(() => feed().catch(() => {}), 250);
    const prom = await startPrometheus(
      `scrape_configs:
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params:
      "match[]": ['{__name__=~"rpc_.*"}']
    static_configs:
      - targets: ["127.0.0.1:${server.addr.port}"]
`,
      ["native-histograms"],
    );
    try {
      await eventually(
        async () =>
          ((await peerHistograms(prom.url, "rpc_seconds", Date.now())).get("float")?.length ?? 0) >=
            3,
        30_000,
        "Prometheus to scrape three histograms of each series",
      );
      clearInterval(timer);
      const now = Date.now();
      const got = await peerHistograms(prom.url, "rpc_seconds", now);
      const mine = await perchHistograms(db, "rpc_seconds");
      // Each scraped histogram is the one Perch holds at that timestamp.
      for (const [kind, list] of got) {
        const byT = new Map(mine.get(kind)!.map((x) => [x.t, x.h]));
        assert.ok(list.length >= 3, kind);
        for (const x of list) {
          const want = byT.get(x.t);
          assert.ok(want && sameApiHistogram(x.h, want), `${kind} @${x.t}`);
        }
      }
      // Custom buckets arrive as a classic histogram: cumulative buckets, sum, count.
      const stored = (await db.select([newMatcher("=", "__name__", "rpc_custom")], {
        minT: 0,
        maxT: 4e12,
      }))[0]!.histograms!;
      const byT = new Map([...stored.t].map((t, k) => [t, stored.h[k]!]));
      const res = await fetch(
        `${prom.url}/api/v1/query?query=${
          encodeURIComponent('{__name__=~"rpc_custom_.*"}[10m]')
        }&time=${now / 1000}`,
      );
      const rows = (await res.json()).data.result as {
        metric: Record<string, string>;
        values: [number, string][];
      }[];
      // _bucket for 0.1, 0.5, 2.5 and +Inf, _sum, _count.
      assert.equal(rows.length, 6, JSON.stringify(rows.map((r) => r.metric)));
      for (const r of rows) {
        for (const [ts, v] of r.values) {
          const h = byT.get(Math.round(ts * 1000))!;
          const name = r.metric.__name__;
          const want = name === "rpc_custom_sum"
            ? h.sum
            : name === "rpc_custom_count" || r.metric.le === "+Inf"
            ? h.count
            : cumulativeAt(h, Number(r.metric.le));
          assert.equal(Number(v), want, `${name}{le=${r.metric.le}} @${ts}`);
        }
      }
    } finally {
      clearInterval(timer);
      await prom.stop();
      await server.shutdown();
      await db.close();
    }
  },
});
