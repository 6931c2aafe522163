import assert from "node:assert/strict";
import { silentLogger } from "../core/logging/mod.ts";
import { createScrapeManager, parseScrapeConfigs } from "../core/scrape/mod.ts";
import { FakeClock } from "../core/clock.ts";
import { exposition, recordingAppender } from "../core/scrape/mod_testing.ts";
import { scrapeRoutes } from "./scrape.ts";

const GLOBAL = { scrape_interval: 10_000, scrape_timeout: 5_000 };

async function setup(address: string) {
  const r = parseScrapeConfigs([{
    job_name: "node",
    static_configs: [{ targets: [address, "gone:1"], labels: { env: "test" } }],
    relabel_configs: [{ source_labels: ["__address__"], regex: "gone:.*", action: "drop" }],
  }, { job_name: "down", static_configs: [{ targets: ["127.0.0.1:1"] }] }], GLOBAL);
  if (!r.ok) throw new Error(r.errors.join());
  const clock = new FakeClock(Date.UTC(2024, 5, 1));
  const kv = await Deno.openKv(":memory:");
  const manager = createScrapeManager({
    configs: r.configs,
    appendRows: recordingAppender().append,
    logger: silentLogger(),
    clock,
    kv,
    global: GLOBAL,
    selfScrape: { enabled: false, interval: 15_000 },
  });
  await manager.start();
  const app = scrapeRoutes({ manager });
  return { app, manager, clock, kv };
}

Deno.test("GET /api/v1/targets has Prometheus's shape with health and last scrape", async () => {
  const srv = exposition({ body: "# TYPE x gauge\n# HELP x An x.\nx 1\n" });
  const { app, manager, clock, kv } = await setup(srv.address);
  try {
    let res = await app.request("/api/v1/targets");
    let body = await res.json();
    assert.equal(res.status, 200);
    assert.equal(body.status, "success");
    const before = body.data.activeTargets.find((t: { scrapePool: string }) =>
      t.scrapePool === "node"
    );
    assert.equal(before.health, "unknown");
    assert.equal(before.lastScrape, "0001-01-01T00:00:00Z");

    await clock.advance(10_000);
    res = await app.request("/api/v1/targets");
    body = await res.json();
    const node = body.data.activeTargets.find((t: { scrapePool: string }) =>
      t.scrapePool === "node"
    );
    assert.deepEqual(Object.keys(node).sort(), [
      "discoveredLabels",
      "globalUrl",
      "health",
      "labels",
      "lastError",
      "lastScrape",
      "lastScrapeDuration",
      "scrapeInterval",
      "scrapePool",
      "scrapeTimeout",
      "scrapeUrl",
    ]);
    assert.equal(node.health, "up");
    assert.equal(node.lastError, "");
    assert.equal(node.scrapeUrl, `http://${srv.address}/metrics`);
    assert.equal(node.scrapeInterval, "10s");
    assert.equal(node.scrapeTimeout, "5s");
    assert.deepEqual(node.labels, { env: "test", instance: srv.address, job: "node" });
    assert.equal(node.discoveredLabels.__address__, srv.address);
    assert.equal(node.discoveredLabels.__metrics_path__, "/metrics");
    assert.ok(Date.parse(node.lastScrape) > 0);
    assert.equal(typeof node.lastScrapeDuration, "number");
    const down = body.data.activeTargets.find((t: { scrapePool: string }) =>
      t.scrapePool === "down"
    );
    assert.equal(down.health, "down");
    assert.notEqual(down.lastError, "");
    assert.equal(body.data.droppedTargets.length, 1);
    assert.equal(body.data.droppedTargets[0].discoveredLabels.__address__, "gone:1");
    assert.deepEqual(body.data.droppedTargetCounts, { down: 0, node: 1 });

    body = await (await app.request("/api/v1/targets?state=active")).json();
    assert.equal(body.data.droppedTargets.length, 0);
    assert.equal(body.data.activeTargets.length, 2);
    body = await (await app.request("/api/v1/targets?state=dropped")).json();
    assert.equal(body.data.activeTargets.length, 0);
    assert.equal(body.data.droppedTargets.length, 1);
    body = await (await app.request("/api/v1/targets?scrapePool=down")).json();
    assert.deepEqual(body.data.activeTargets.map((t: { scrapePool: string }) => t.scrapePool), [
      "down",
    ]);
    assert.equal((await app.request("/api/v1/targets?state=bogus")).status, 400);

    body = await (await app.request("/api/v1/scrape_pools")).json();
    assert.deepEqual(body, { status: "success", data: { scrapePools: ["down", "node"] } });

    body = await (await app.request('/api/v1/targets/metadata?match_target={job="node"}')).json();
    assert.deepEqual(body.data, [{
      target: { env: "test", instance: srv.address, job: "node" },
      metric: "x",
      type: "gauge",
      help: "An x.",
      unit: "",
    }]);
    body = await (await app.request("/api/v1/targets/metadata?metric=x")).json();
    assert.equal(body.data.length, 1);
    assert.equal(body.data[0].metric, undefined);
    assert.equal((await app.request("/api/v1/targets/metadata?match_target={")).status, 400);
  } finally {
    await manager.stop();
    kv.close();
    await srv.close();
  }
});

Deno.test("/api/v1/scrape adds (201), lists and deletes run-time targets", async () => {
  const srv = exposition({ body: "y 2\n" });
  const { app, manager, kv } = await setup(srv.address);
  try {
    let res = await app.request("/api/v1/scrape", {
      method: "POST",
      body: JSON.stringify({ target: srv.address, job: "added", interval: 30, labels: { a: "b" } }),
    });
    assert.equal(res.status, 201);
    const created = await res.json();
    assert.equal(created.job, "added");
    assert.equal(created.url, `http://${srv.address}/metrics`);
    assert.equal(created.interval, "30s");
    assert.ok(typeof created.id === "string" && created.id.length > 0);

    let list = await (await app.request("/api/v1/scrape")).json();
    assert.deepEqual(list.targets.map((t: { id: string }) => t.id), [created.id]);
    const targets = await (await app.request("/api/v1/targets?scrapePool=added")).json();
    assert.equal(targets.data.activeTargets[0].scrapeInterval, "30s");
    assert.equal(targets.data.activeTargets[0].labels.a, "b");

    res = await app.request("/api/v1/scrape", {
      method: "POST",
      body: JSON.stringify({ url: "ftp://x/", job: "j", labels: { __x: "1" } }),
    });
    assert.equal(res.status, 400);
    const err = await res.json();
    assert.deepEqual(err.errors.map((e: { field: string }) => e.field), ["url", "labels.__x"]);
    res = await app.request("/api/v1/scrape", {
      method: "POST",
      body: JSON.stringify({ target: srv.address, job: "added" }),
    });
    assert.equal(res.status, 409);
    res = await app.request("/api/v1/scrape", {
      method: "POST",
      body: JSON.stringify({ target: "h:1", job: "node" }),
    });
    assert.equal(res.status, 409);
    assert.equal((await app.request("/api/v1/scrape", { method: "POST", body: "{" })).status, 400);

    res = await app.request(`/api/v1/scrape/${created.id}`, { method: "DELETE" });
    assert.equal(res.status, 204);
    res = await app.request(`/api/v1/scrape/${created.id}`, { method: "DELETE" });
    assert.equal(res.status, 404);
    list = await (await app.request("/api/v1/scrape")).json();
    assert.deepEqual(list.targets, []);
    assert.ok(!manager.pools().includes("added"));
  } finally {
    await manager.stop();
    kv.close();
    await srv.close();
  }
});
