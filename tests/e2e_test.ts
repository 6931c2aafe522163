/**
 * End to end through a real Perch process: push with every protocol, query
 * the data back through the Prometheus API, restart, and find it again.
 */
import assert from "node:assert/strict";
import { encodeRemoteWriteBody } from "../core/ingest/mod.ts";
import { toLabels } from "../core/model/mod.ts";
import { spawnPerch } from "./_perch.ts";

async function json(res: Response) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${res.status}): ${text}`);
  }
}

async function instant(url: string, query: string, t: number) {
  const res = await fetch(
    `${url}/api/v1/query?query=${encodeURIComponent(query)}&time=${t / 1000}`,
  );
  const body = await json(res);
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.data.result as { metric: Record<string, string>; value: [number, string] }[];
}

Deno.test("samples pushed with every protocol are queryable and survive a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "perch-e2e-" });
  const now = Math.floor(Date.now() / 1000) * 1000;
  const t1 = now - 60_000;
  // The host collector's node_* series would crowd the TSDB status's top 10 checked below.
  const env = { PERCH_HOST_METRICS__ENABLED: "false" };
  let p = await spawnPerch({ dataDir, env });
  try {
    // The product's JSON, with the spec's `samples` form.
    let res = await fetch(`${p.url}/api/v1/metrics`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: "http_requests_total",
        type: "counter",
        labels: { method: "GET", endpoint: "/api" },
        samples: [{ value: 42, timestamp: new Date(t1).toISOString() }],
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), {});

    // InfluxDB line protocol, ms precision.
    res = await fetch(`${p.url}/write?precision=ms`, {
      method: "POST",
      body: `weather,room=kitchen temp=21.5,humidity=40i ${t1}\n`,
    });
    assert.equal(res.status, 204, await res.text());

    // Prometheus remote write 1.0, snappy protobuf.
    res = await fetch(`${p.url}/api/v1/write`, {
      method: "POST",
      headers: {
        "content-type": "application/x-protobuf",
        "content-encoding": "snappy",
        "x-prometheus-remote-write-version": "0.1.0",
      },
      body: encodeRemoteWriteBody({
        series: [{ labels: toLabels("pump_rpm", { site: "north" }), t: [t1], v: [1450] }],
      }) as Uint8Array<ArrayBuffer>,
    });
    assert.equal(res.status, 204, await res.text());

    // Prometheus text exposition with a timestamp.
    res = await fetch(`${p.url}/api/v1/import/prometheus`, {
      method: "POST",
      body: `# TYPE door_open gauge\ndoor_open{door="back"} 1 ${t1}\n`,
    });
    assert.equal(res.status, 204, await res.text());

    // A bad line names the line and the field; the good line is stored.
    res = await fetch(`${p.url}/write?precision=ms`, {
      method: "POST",
      body: `good v=1 ${t1}\nbad v="text" ${t1}\n`,
    });
    const bad = await json(res);
    assert.equal(res.status, 400);
    assert.equal(bad.accepted, 1);
    assert.match(JSON.stringify(bad.errors), /line 2/);
  } finally {
    assert.equal(await p.stop(), 0);
  }

  const expectAll = async (url: string) => {
    assert.deepEqual(await instant(url, "http_requests_total", now), [{
      metric: { __name__: "http_requests_total", endpoint: "/api", method: "GET" },
      value: [now / 1000, "42"],
    }]);
    assert.deepEqual((await instant(url, "weather_temp", now))[0]?.value, [now / 1000, "21.5"]);
    assert.deepEqual((await instant(url, "weather_humidity", now))[0]?.value, [now / 1000, "40"]);
    assert.deepEqual((await instant(url, "pump_rpm", now))[0]?.metric, {
      __name__: "pump_rpm",
      site: "north",
    });
    assert.deepEqual((await instant(url, "door_open", now))[0]?.value, [now / 1000, "1"]);
    assert.equal((await instant(url, "good_v", now)).length, 1);
  };

  // After a restart the data is replayed from the WAL.
  p = await spawnPerch({ dataDir, env });
  try {
    await expectAll(p.url);
    // Flush into blocks, then check the TSDB status and the metadata.
    const f = await fetch(`${p.url}/api/v1/admin/tsdb/flush`, { method: "POST" });
    assert.equal(f.status, 200, await f.text());
    const status = await json(await fetch(`${p.url}/api/v1/status/tsdb`));
    assert.ok(status.data.perch.blocks >= 1, JSON.stringify(status.data.perch));
    const names = status.data.seriesCountByMetricName.map((x: { name: string }) => x.name);
    assert.ok(names.includes("weather_temp"), names.join(","));
    const md = await json(await fetch(`${p.url}/api/v1/metadata?metric=door_open`));
    assert.equal(md.data.door_open[0].type, "gauge");
    // The product spec's simple query form.
    const start = new Date(t1 - 60_000).toISOString(), end = new Date(now).toISOString();
    const simple = await json(
      await fetch(`${p.url}/api/v1/query?metric=http_requests_total&start=${start}&end=${end}`),
    );
    assert.deepEqual(simple.data.result[0].values, [[t1 / 1000, "42"]]);
  } finally {
    assert.equal(await p.stop(), 0);
  }

  // And after a restart from blocks.
  p = await spawnPerch({ dataDir, env });
  try {
    await expectAll(p.url);
  } finally {
    await p.stop();
  }
});

Deno.test("range queries over old data are answered from the result cache, identically", async () => {
  const p = await spawnPerch({ env: { PERCH_SELF_SCRAPE__ENABLED: "false" } });
  try {
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 3_600_000;
    const lines: string[] = [];
    for (let i = 0; i < 120; i++) lines.push(`old_gauge{k="v"} ${i % 7} ${t0 + i * 30_000}`);
    const res = await fetch(`${p.url}/api/v1/import/prometheus`, {
      method: "POST",
      body: lines.join("\n"),
    });
    assert.equal(res.status, 204, await res.text());
    // In blocks, the data can only change through writes storage reports.
    const f = await fetch(`${p.url}/api/v1/admin/tsdb/flush`, { method: "POST" });
    assert.equal(f.status, 200, await f.text());
    const q = `/api/v1/query_range?query=${encodeURIComponent("max_over_time(old_gauge[5m])")}` +
      `&start=${t0 / 1000}&end=${t0 / 1000 + 3600}&step=60`;
    const first = await json(await fetch(p.url + q));
    const second = await json(await fetch(p.url + q));
    assert.deepEqual(second, first);
    assert.equal(first.data.result[0].values.length, 61);
    const m = await (await fetch(`${p.url}/metrics`)).text();
    const hits = Number(/^perch_query_cache_hits_total (\d+)/m.exec(m)?.[1]);
    assert.ok(hits > 0, `cache hits: ${hits}`);

    // A late write into the cached range is reported by storage and seen at once.
    const late = await fetch(`${p.url}/api/v1/import/prometheus`, {
      method: "POST",
      body: `old_gauge{k="v"} 100 ${t0 + 45_000}`,
    });
    assert.equal(late.status, 204, await late.text());
    const third = await json(await fetch(p.url + q));
    assert.equal(third.data.result[0].values[1][1], "100");
  } finally {
    await p.stop();
  }
});

Deno.test("the series limit refuses new series with 429 and still holds after a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "perch-limit-" });
  const env = {
    PERCH_SELF_SCRAPE__ENABLED: "false",
    PERCH_SELF_MONITORING_RULES: "false",
    PERCH_LIMITS__MAX_SERIES: "3",
  };
  const push = async (url: string, names: string[]) => {
    const res = await fetch(`${url}/api/v1/import/prometheus`, {
      method: "POST",
      body: names.map((n) => `${n} 1`).join("\n"),
    });
    return { status: res.status, body: await res.text() };
  };
  let p = await spawnPerch({ dataDir, env });
  try {
    assert.equal((await push(p.url, ["a", "b", "c"])).status, 204);
    const refused = await push(p.url, ["d"]);
    assert.equal(refused.status, 429, refused.body);
    assert.match(refused.body, /cardinality|series/i);
  } finally {
    await p.stop();
  }
  p = await spawnPerch({ dataDir, env });
  try {
    assert.equal((await push(p.url, ["e"])).status, 429);
    assert.equal((await push(p.url, ["a", "b"])).status, 204);
  } finally {
    await p.stop();
  }
});
