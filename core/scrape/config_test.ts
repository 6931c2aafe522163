import assert from "node:assert/strict";
import { parseScrapeConfigs, type ScrapeConfig } from "./config.ts";

const GLOBAL = { scrape_interval: 15_000, scrape_timeout: 10_000 };

function ok(raw: unknown[]): ScrapeConfig[] {
  const r = parseScrapeConfigs(raw, GLOBAL);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.configs;
}

function errs(raw: unknown[]): string[] {
  const r = parseScrapeConfigs(raw, GLOBAL);
  assert.equal(r.ok, false, "expected errors");
  return r.errors!;
}

Deno.test("parseScrapeConfigs() fills defaults from global", () => {
  const [c] = ok([{ job_name: "node", static_configs: [{ targets: ["a:9100"] }] }]);
  assert.equal(c!.scrapeInterval, 15_000);
  assert.equal(c!.scrapeTimeout, 10_000);
  assert.equal(c!.metricsPath, "/metrics");
  assert.equal(c!.scheme, "http");
  assert.equal(c!.honorLabels, false);
  assert.equal(c!.honorTimestamps, true);
  assert.deepEqual(c!.auth, { kind: "none" });
});

Deno.test("parseScrapeConfigs() caps the default timeout at a shorter interval", () => {
  const [c] = ok([{ job_name: "fast", scrape_interval: "5s" }]);
  assert.equal(c!.scrapeInterval, 5000);
  assert.equal(c!.scrapeTimeout, 5000);
});

Deno.test("parseScrapeConfigs() names the path of a bad target", () => {
  const e = errs([{
    job_name: "x",
    static_configs: [{ targets: ["ok:1", "http://bad:9100/metrics"] }],
  }]);
  assert.equal(e.length, 1);
  assert.match(e[0]!, /^scrape_configs\[0\]\.static_configs\[0\]\.targets\[1\]: "http:\/\/bad/);
});

Deno.test("parseScrapeConfigs() reports every problem at once", () => {
  const e = errs([
    { job_name: "a", scrape_interval: "10s", scrape_timeout: "20s" },
    { job_name: "a" },
    { job_name: "b", bogus: 1 },
    { job_name: "c", relabel_configs: [{ action: "explode" }] },
    { job_name: "d", relabel_configs: [{ action: "replace", source_labels: ["x"] }] },
    { job_name: "e", metric_relabel_configs: [{ regex: "(", target_label: "x" }] },
    { job_name: "f", relabel_configs: [{ action: "hashmod", target_label: "m" }] },
    { job_name: "g", basic_auth: { username: "u" }, bearer_token: "t" },
    { job_name: "h", file_sd_configs: [{ files: ["/etc/*/x.json"] }] },
    { job_name: "i", relabel_configs: [{ action: "labeldrop", regex: "a", target_label: "x" }] },
  ]);
  const want = [
    /^scrape_configs\[0\]\.scrape_timeout: must not be greater than scrape_interval/,
    /^scrape_configs\[1\]\.job_name: "a" is already used by scrape_configs\[0\]/,
    /^scrape_configs\[2\]: unknown field bogus/,
    /^scrape_configs\[3\]\.relabel_configs\[0\]\.action: unknown relabel action "explode"/,
    /^scrape_configs\[4\]\.relabel_configs\[0\]\.target_label: is required/,
    /^scrape_configs\[5\]\.metric_relabel_configs\[0\]\.regex: invalid regular expression/,
    /^scrape_configs\[6\]\.relabel_configs\[0\]\.modulus: is required/,
    /^scrape_configs\[7\]\.bearer_token: at most one of basic_auth, bearer_token/,
    /^scrape_configs\[8\]\.file_sd_configs\[0\]\.files\[0\]: globs are allowed in the file name only/,
    /^scrape_configs\[9\]\.relabel_configs\[0\]: the labeldrop action takes only regex/,
  ];
  assert.equal(e.length, want.length, e.join("\n"));
  want.forEach((re, i) => assert.match(e[i]!, re));
});

Deno.test("parseScrapeConfigs() resolves auth, params and relabel rules", () => {
  const [c] = ok([{
    job_name: "j",
    scheme: "https",
    metrics_path: "/m",
    params: { module: ["a", "b"] },
    authorization: { credentials: "tok" },
    relabel_configs: [{ action: "LabelMap", regex: "__meta_(.+)" }],
    sample_limit: 100,
    body_size_limit: "1MiB",
  }]);
  assert.deepEqual(c!.auth, {
    kind: "authorization",
    type: "Bearer",
    credentials: "tok",
    credentialsFile: "",
  });
  assert.deepEqual(c!.params, { module: ["a", "b"] });
  assert.equal(c!.relabelConfigs[0]!.action, "labelmap");
  assert.equal(c!.sampleLimit, 100);
  assert.equal(c!.bodySizeLimit, 1024 * 1024);
});

Deno.test("parseScrapeConfigs() fingerprints differ only when the job changes", () => {
  const a = ok([{ job_name: "j", static_configs: [{ targets: ["a:1"] }] }])[0]!;
  const b = ok([{ job_name: "j", static_configs: [{ targets: ["a:1"] }] }])[0]!;
  const c = ok([{ job_name: "j", static_configs: [{ targets: ["a:2"] }] }])[0]!;
  assert.equal(a.fingerprint, b.fingerprint);
  assert.notEqual(a.fingerprint, c.fingerprint);
});

Deno.test("parseScrapeConfigs() resolves relative file_sd paths against the base dir", () => {
  const r = parseScrapeConfigs(
    [{ job_name: "f", file_sd_configs: [{ files: ["targets/*.json", "/abs/x.yml"] }] }],
    GLOBAL,
    { baseDir: "/etc/perch" },
  );
  assert.ok(r.ok);
  assert.deepEqual(r.configs![0]!.fileSdConfigs[0]!.files, [
    "/etc/perch/targets/*.json",
    "/abs/x.yml",
  ]);
});
