/**
 * Late data is data (issue 13), through a real Perch process with the
 * default config:
 *
 * - live pushes, then a day-old buffer from other sensors in Influx line
 *   protocol, JSON and remote write: every sample is stored and queryable,
 *   also after a SIGKILL and restart (WAL replay of late samples);
 * - the 6 h edge workload (2,000 series, 4.32 M samples) over two
 *   concurrent connections, one running hours ahead of the other: every
 *   sample is stored. `PERCH_LATE_TEST_HOSTS` (default 100 = 4.32 M
 *   samples) shrinks it for a slow machine.
 */
import assert from "node:assert/strict";
import { encodeRemoteWriteBody } from "../../core/ingest/mod.ts";
import { toLabels } from "../../core/model/mod.ts";
import { generateEdgeWorkload } from "../../core/tsdb/edge_workload.ts";
import { spawnPerch } from "../_perch.ts";

const MIN = 60_000, H = 60 * MIN;

async function query<T>(base: string, q: string, t: number): Promise<T> {
  const url = `${base}/api/v1/query?query=${encodeURIComponent(q)}&time=${t / 1000}`;
  const res = await fetch(url);
  const body = await res.json();
  assert.equal(body.status, "success", JSON.stringify(body));
  return body.data.result as T;
}

type Matrix = { metric: Record<string, string>; values: [number, string][] }[];
type Vector = { metric: Record<string, string>; value: [number, string] }[];

async function post(url: string, body: BodyInit, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", body, headers });
  return { status: res.status, text: await res.text() };
}

const RW_HEADERS = {
  "content-encoding": "snappy",
  "content-type": "application/x-protobuf",
  "x-prometheus-remote-write-version": "0.1.0",
};

Deno.test("default config: a day-old buffer after live pushes is stored in every protocol, also after SIGKILL", async () => {
  const now = Math.floor(Date.now() / MIN) * MIN;
  const dataDir = await Deno.makeTempDir({ prefix: "perch-late-" });
  let p = await spawnPerch({ dataDir });
  try {
    // Live: the sensor that stayed online pushes the last minutes.
    const live = [];
    for (let t = now - 10 * MIN; t <= now; t += MIN) {
      live.push({ name: "temp_live", value: t % 7, timestamp: t });
    }
    let r = await post(`${p.url}/api/v1/metrics`, JSON.stringify(live));
    assert.ok(r.status < 300, r.text);
    // A day-old buffer (288 samples, 5 min apart) per sensor and protocol.
    const buf: number[] = [];
    for (let i = 0; i < 288; i++) buf.push(now - 24 * H + (i + 1) * 5 * MIN - 30_000);
    const val = (t: number, k: number) => ((t / MIN) % 100) + k;
    r = await post(
      `${p.url}/write?precision=ms`,
      buf.map((t) => `buffered,sensor=influx temp=${val(t, 1)} ${t}`).join("\n"),
    );
    assert.equal(r.status, 204, r.text);
    r = await post(
      `${p.url}/api/v1/metrics`,
      JSON.stringify(buf.map((t) => ({
        name: "buffered_temp",
        labels: { sensor: "json" },
        value: val(t, 2),
        timestamp: t,
      }))),
    );
    assert.ok(r.status < 300, r.text);
    r = await post(
      `${p.url}/api/v1/write`,
      encodeRemoteWriteBody({
        series: [{
          labels: toLabels("buffered_temp", { sensor: "remote" }),
          t: buf,
          v: buf.map((t) => val(t, 3)),
        }],
      }) as Uint8Array<ArrayBuffer>,
      RW_HEADERS,
    );
    assert.ok(r.status < 300, r.text);
    // Live keeps flowing after the back-fill.
    r = await post(
      `${p.url}/api/v1/metrics`,
      JSON.stringify({ name: "temp_live", value: 1, timestamp: now + MIN }),
    );
    assert.ok(r.status < 300, r.text);

    const check = async () => {
      const m = await query<Matrix>(p.url, "buffered_temp[25h]", now + MIN);
      const bySensor = new Map(m.map((s) => [s.metric.sensor, s.values]));
      assert.deepEqual([...bySensor.keys()].sort(), ["influx", "json", "remote"]);
      for (const [sensor, k] of [["influx", 1], ["json", 2], ["remote", 3]] as const) {
        const got = bySensor.get(sensor)!;
        assert.equal(got.length, 288, `${sensor}: ${got.length} of 288 stored`);
        assert.deepEqual(got, buf.map((t) => [t / 1000, String(val(t, k))]), sensor);
      }
      const l = await query<Matrix>(p.url, "temp_live[1h]", now + MIN);
      assert.equal(l[0].values.length, 12);
    };
    await check();
    // A rejected sample names its reason: older than retention (28 d).
    r = await post(
      `${p.url}/api/v1/metrics`,
      JSON.stringify({ name: "buffered_temp", value: 1, timestamp: now - 29 * 24 * H }),
    );
    assert.equal(r.status, 400);
    assert.match(r.text, /older than the retention period/);
    const counted = await (await fetch(`${p.url}/metrics`)).text();
    assert.match(
      counted,
      /perch_ingest_samples_rejected_total\{protocol="json",reason="out_of_bounds"\} 1\n/,
    );

    // SIGKILL: the late samples come back from the WAL.
    await p.stop("SIGKILL");
    p = await spawnPerch({ dataDir });
    await check();
    const metrics = await (await fetch(`${p.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /perch_ingest_samples_rejected_total\{[^}]*out_of_order/);
  } finally {
    await p.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("default config: the 6 h edge workload over two connections, one hours ahead, is stored in full", async () => {
  const hosts = Number(Deno.env.get("PERCH_LATE_TEST_HOSTS") ?? "100");
  const now = Math.floor(Date.now() / MIN) * MIN;
  const start = now - 6 * H - 10 * MIN;
  const series = [...generateEdgeWorkload({ hosts, startMs: start })];
  const n = series[0].t.length;
  const total = series.length * n;
  const p = await spawnPerch();
  // Two connections: hosts split in halves; connection A runs ahead, B
  // starts once A has sent half of its 6 h, so B is always hours behind.
  const halves = [series.slice(0, series.length / 2), series.slice(series.length / 2)];
  const clients = [Deno.createHttpClient({}), Deno.createHttpClient({})];
  const slice = 60; // samples per series per request: 10 min
  const send = async (k: number, onHalf?: () => void) => {
    const part = halves[k];
    for (let i = 0; i < n; i += slice) {
      const body = encodeRemoteWriteBody({
        series: part.map((s) => ({
          labels: s.labels,
          t: s.t.subarray(i, i + slice),
          v: s.v.subarray(i, i + slice),
        })),
      });
      const res = await fetch(`${p.url}/api/v1/write`, {
        method: "POST",
        body: body as Uint8Array<ArrayBuffer>,
        headers: RW_HEADERS,
        client: clients[k],
      });
      const text = await res.text();
      assert.ok(res.status < 300, `connection ${k} at ${i}: ${res.status} ${text}`);
      if (i + slice >= n / 2) onHalf?.();
    }
  };
  try {
    let half!: () => void;
    const aHalf = new Promise<void>((r) => half = r);
    await Promise.all([send(0, half), aHalf.then(() => send(1))]);
    // Per metric name: count_over_time drops the name, so one query over all
    // names would hold equal label sets (an error in PromQL).
    let stored = 0;
    for (
      const name of new Set(series.map((s) => s.labels.find((l) => l.name === "__name__")!.value))
    ) {
      const v = await query<Vector>(p.url, `sum(count_over_time(${name}{job="node"}[7h]))`, now);
      stored += Number(v[0].value[1]);
    }
    console.log(`two connections: ${stored} of ${total} samples stored`);
    assert.equal(stored, total);
  } finally {
    for (const c of clients) c.close();
    await p.stop();
    await Deno.remove(p.dataDir, { recursive: true }).catch(() => {});
  }
});
