/**
 * Ingestion counters through a real Perch process: after mixed batches in
 * every push protocol, `/metrics` shows how many samples each protocol had
 * stored and refused, and why.
 */
import assert from "node:assert/strict";
import { encodeRemoteWriteBody } from "../../core/ingest/mod.ts";
import { toLabels } from "../../core/model/mod.ts";
import { spawnWithConfig } from "../_perch.ts";

/** Counter values from Prometheus text, keyed `name{labels as written}`. */
function counters(text: string, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const sp = line.lastIndexOf(" ");
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

Deno.test("/metrics counts accepted and rejected samples by protocol and reason", async () => {
  const p = await spawnWithConfig("limits:\n  max_series_per_metric: 2\n");
  const now = Math.floor(Date.now() / 1000) * 1000;
  const future = now + 24 * 3600_000;
  const post = async (path: string, body: BodyInit, headers: Record<string, string> = {}) => {
    const res = await fetch(`${p.url}${path}`, { method: "POST", body, headers });
    return { status: res.status, body: await res.text() };
  };
  try {
    // Line protocol: 2 stored; a string field, a broken line and a sample
    // a day in the future refused.
    let r = await post(
      "/write?precision=ms",
      [
        `room,r=a temp=20,hum=40i ${now}`,
        `room,r=b note="hi" ${now}`,
        `broken`,
        `room,r=c temp=1 ${future}`,
      ].join("\n"),
    );
    assert.equal(r.status, 400, r.body);
    // Prometheus text: 1 stored, 1 unparsable line, 1 reserved label name.
    r = await post(
      "/api/v1/import/prometheus",
      `door_open{door="front"} 1 ${now}\ndoor_open{ 2\ndoor_open{__x="1"} 3 ${now}\n`,
    );
    assert.equal(r.status, 400, r.body);
    // Remote write: 3 series of one metric with max_series_per_metric 2
    // (one refused, 2 samples), and one series without a name.
    r = await post(
      "/api/v1/write",
      encodeRemoteWriteBody({
        series: [
          { labels: toLabels("pump_rpm", { pump: "1" }), t: [now], v: [1] },
          { labels: toLabels("pump_rpm", { pump: "2" }), t: [now], v: [2] },
          { labels: toLabels("pump_rpm", { pump: "3" }), t: [now - 1000, now], v: [3, 3] },
          { labels: [{ name: "pump", value: "4" }], t: [now], v: [4] },
        ],
      }) as Uint8Array<ArrayBuffer>,
      { "content-encoding": "snappy", "content-type": "application/x-protobuf" },
    );
    assert.equal(r.status, 429, r.body);
    // JSON: 1 stored, 1 with a value that is not a number.
    r = await post(
      "/api/v1/metrics",
      JSON.stringify([
        { name: "tank_level", value: 0.5, timestamp: now },
        { name: "tank_level", labels: { tank: "2" }, value: "full", timestamp: now },
      ]),
    );
    assert.equal(r.status, 400, r.body);

    const text = await (await fetch(`${p.url}/metrics`)).text();
    const acc = counters(text, "perch_ingest_samples_accepted_total{");
    const rej = counters(text, "perch_ingest_samples_rejected_total{");
    const a = (protocol: string) =>
      acc.get(`perch_ingest_samples_accepted_total{protocol="${protocol}"}`);
    const x = (protocol: string, reason: string) =>
      rej.get(`perch_ingest_samples_rejected_total{protocol="${protocol}",reason="${reason}"}`);
    assert.equal(a("influx"), 2, text);
    assert.equal(x("influx", "parse_error"), 2);
    assert.equal(x("influx", "too_far_in_future"), 1);
    assert.equal(a("prometheus"), 1);
    assert.equal(x("prometheus", "parse_error"), 1);
    assert.equal(x("prometheus", "invalid_series"), 1);
    assert.equal(a("remote_write"), 2);
    assert.equal(x("remote_write", "series_per_metric_limit"), 2);
    assert.equal(x("remote_write", "parse_error"), 1);
    assert.equal(a("json"), 1);
    assert.equal(x("json", "parse_error"), 1);
    // Nothing else was counted for these protocols.
    const pushed = /protocol="(influx|prometheus|remote_write|json)"/;
    const listed = [...rej.keys()].filter((k) => pushed.test(k));
    assert.equal(listed.length, 7, listed.join("\n"));
  } finally {
    await p.stop();
    await Deno.remove(p.dir, { recursive: true }).catch(() => {});
    await Deno.remove(p.dataDir, { recursive: true }).catch(() => {});
  }
});
