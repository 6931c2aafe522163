/**
 * Drop-in compatibility with Prometheus, against real Debian binaries: a
 * Prometheus scrapes Perch's `/federate` without `match[]` (as a federation
 * job with no selectors does) and Perch answers the endpoints Grafana and
 * promtool probe (`query_exemplars`, `alertmanagers`, `metadata?metric=up`,
 * `stats=all`) the way that same Prometheus answers them. Fails when the
 * binary is missing: these are the tests that prove the claim.
 */
import assert from "node:assert/strict";
import { spawnPerch } from "../_perch.ts";
import { eventually, PROM_BIN, startPrometheus } from "../remote/_peers.ts";
import { requireBinary } from "../_require.ts";

async function json(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new Error(`${url}: not JSON (${res.status}): ${text}`);
  }
}

Deno.test("Prometheus scrapes Perch's /federate without match[] and finds an empty, healthy target", async () => {
  requireBinary(PROM_BIN, "prometheus");
  const perch = await spawnPerch({ env: { PERCH_SELF_SCRAPE__INTERVAL: "1s" } });
  const prom = await startPrometheus(
    `scrape_configs:\n  - job_name: perch-federate\n    metrics_path: /federate\n` +
      `    honor_labels: true\n    static_configs: [{ targets: ["127.0.0.1:${perch.port}"] }]\n`,
  );
  try {
    type Target = { health: string; lastError: string; scrapePool: string };
    let seen: Target | undefined;
    await eventually(
      async () => {
        const r = await json(`${prom.url}/api/v1/targets`);
        const active = (r.body.data as { activeTargets: Target[] }).activeTargets;
        seen = active.find((t) => t.scrapePool === "perch-federate");
        return seen !== undefined && seen.health !== "unknown";
      },
      30_000,
      "Prometheus to scrape /federate",
    );
    assert.equal(seen!.health, "up", seen!.lastError);
    // Nothing selected, nothing federated: only the scrape's own series.
    const r = await json(
      `${prom.url}/api/v1/query?query=scrape_samples_scraped{job="perch-federate"}`,
    );
    const result = (r.body.data as { result: { value: [number, string] }[] }).result;
    assert.equal(result[0]?.value[1], "0");

    // Endpoints Grafana and promtool call: the same status and shape as Prometheus.
    for (
      const path of ["/api/v1/query_exemplars?query=up&start=0&end=100", "/api/v1/alertmanagers"]
    ) {
      const [p, q] = await Promise.all([json(perch.url + path), json(prom.url + path)]);
      assert.equal(p.status, q.status, path);
      assert.deepEqual(p.body, q.body, path);
    }

    // Stats: Prometheus's keys, timings included.
    const statsPath = "/api/v1/query?query=up&stats=all";
    const [ps, qs] = await Promise.all([json(perch.url + statsPath), json(prom.url + statsPath)]);
    type Stats = { timings: Record<string, number>; samples: Record<string, unknown> };
    const pStats = (ps.body.data as { stats: Stats }).stats;
    const qStats = (qs.body.data as { stats: Stats }).stats;
    assert.deepEqual(Object.keys(pStats.timings).sort(), Object.keys(qStats.timings).sort());
    for (const k of ["totalQueryableSamples", "peakSamples"]) {
      assert.equal(typeof pStats.samples[k], "number", k);
    }

    // `up` has metadata once the self-scrape ran, as every scraped `up` has.
    await eventually(
      async () => {
        const m = await json(`${perch.url}/api/v1/metadata?metric=up`);
        const up = (m.body.data as Record<string, { type: string }[]>).up;
        return up?.[0]?.type === "gauge";
      },
      20_000,
      "metadata for up",
    );
  } finally {
    await prom.stop();
    await perch.stop();
  }
});
