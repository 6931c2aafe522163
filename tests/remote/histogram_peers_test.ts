/**
 * Native histograms between Perch and a real Prometheus (Debian's, with
 * `--enable-feature=native-histograms`): Perch's remote write out, and
 * Prometheus scraping Perch's `/federate` in the protobuf format; what
 * Prometheus stores is compared with what Perch holds, sample by sample,
 * through Prometheus's HTTP API. Fails when Prometheus is not installed.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../core/logging/mod.ts";
import { labelsKey, newMatcher, SampleBatch, toLabels } from "../../core/model/mod.ts";
import { RemoteWriteManager } from "../../core/remote/mod.ts";
import type { DB } from "../../core/tsdb/mod.ts";
import { endpoints, eventually, startPrometheus, tempDB } from "./_peers.ts";
import {
  type ApiHistogram,
  apiHistogram,
  parseApiHistogram,
  sameApiHistogram,
  testHistogram,
} from "./_histograms.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

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
    const db = await tempDB();
    const m = await RemoteWriteManager.open({
      querier: db,
      kv: ":memory:",
      logger: silentLogger(),
    });
    try {
      const app = m.appender(db);
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
      await m.close();
      await db.close();
      await prom.stop();
    }
  },
});
