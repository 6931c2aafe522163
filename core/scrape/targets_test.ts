import assert from "node:assert/strict";
import { populateGroups, populateTarget, scrapeOffset } from "./targets.ts";
import { config } from "./_test_util.ts";

Deno.test("populateTarget() sets meta labels, job, instance and the URL", () => {
  const cfg = config({
    params: { module: ["icmp", "x"] },
    scheme: "https",
    metrics_path: "/probe",
  });
  const r = populateTarget(cfg, "h:9100", { env: "prod" });
  assert.equal(r.kind, "target");
  if (r.kind !== "target") return;
  assert.deepEqual(r.target.discoveredLabels, {
    __address__: "h:9100",
    __metrics_path__: "/probe",
    __param_module: "icmp",
    __scheme__: "https",
    __scrape_interval__: "15s",
    __scrape_timeout__: "10s",
    env: "prod",
    job: "test",
  });
  assert.deepEqual(r.target.labels, { env: "prod", instance: "h:9100", job: "test" });
  assert.equal(r.target.url, "https://h:9100/probe?module=icmp&module=x");
  assert.equal(r.target.interval, 15_000);
  assert.equal(r.target.timeout, 10_000);
});

Deno.test("populateTarget() lets relabeling rewrite address, path, params, interval", () => {
  const cfg = config({
    relabel_configs: [
      { source_labels: ["__address__"], target_label: "__param_target" },
      { source_labels: ["__param_target"], target_label: "instance" },
      { target_label: "__address__", replacement: "prober:9115" },
      { target_label: "__metrics_path__", replacement: "/probe" },
      { target_label: "__scrape_interval__", replacement: "1m" },
      { regex: "__meta_(.+)", action: "labelmap" },
    ],
  });
  const r = populateTarget(cfg, "example.org:443", { __meta_zone: "eu" });
  assert.equal(r.kind, "target");
  if (r.kind !== "target") return;
  assert.equal(r.target.url, "http://prober:9115/probe?target=example.org%3A443");
  assert.deepEqual(r.target.labels, { instance: "example.org:443", job: "test", zone: "eu" });
  assert.equal(r.target.interval, 60_000);
  assert.equal(r.target.allLabels.__meta_zone, undefined, "meta labels go after relabeling");
});

Deno.test("populateTarget() drops or rejects targets with reasons", () => {
  const drop = config({
    relabel_configs: [{ source_labels: ["env"], regex: "dev", action: "drop" }],
  });
  assert.equal(populateTarget(drop, "h:1", { env: "dev" }).kind, "dropped");
  assert.equal(populateTarget(drop, "h:1", { env: "prod" }).kind, "target");
  const bad = [
    [{ target_label: "__address__", replacement: "http://x/y" }, /invalid address/],
    [{ target_label: "__scrape_interval__", replacement: "soon" }, /invalid __scrape_interval__/],
    [{ target_label: "__scrape_timeout__", replacement: "1h" }, /is greater than/],
    [{ target_label: "__scheme__", replacement: "ftp" }, /invalid scheme/],
  ] as const;
  for (const [rule, re] of bad) {
    const r = populateTarget(config({ relabel_configs: [rule] }), "h:1", {});
    assert.equal(r.kind, "error", JSON.stringify(rule));
    if (r.kind === "error") assert.match(r.error, re);
  }
  const g = populateGroups(config({}), [
    { source: "s", targets: ["a:1", "a:1", "b:1"], labels: {} },
  ]);
  assert.equal(g.targets.length, 2, "duplicates are scraped once");
});

Deno.test("scrapeOffset() is stable and spreads targets over the interval", () => {
  assert.equal(scrapeOffset("job\u0000a", 15_000), scrapeOffset("job\u0000a", 15_000));
  const buckets = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const o = scrapeOffset(`job\u0000host-${i}:9100`, 15_000);
    assert.ok(o >= 0 && o < 15_000);
    buckets.add(Math.floor(o / 1500));
  }
  assert.ok(buckets.size >= 8, `offsets cluster in ${buckets.size} of 10 slices`);
});
