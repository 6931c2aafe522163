import assert from "node:assert/strict";
import { defaultRemoteName, parseRemoteWriteConfigs } from "./config.ts";

function errorsOf(raw: unknown): string[] {
  const r = parseRemoteWriteConfigs(raw);
  assert.equal(r.ok, false, "expected errors");
  return r.errors!;
}

Deno.test("parseRemoteWriteConfigs() fills Prometheus defaults", () => {
  const r = parseRemoteWriteConfigs([{ url: "http://vm:8428/api/v1/write" }]);
  assert.ok(r.ok);
  const c = r.configs[0]!;
  assert.equal(c.name, defaultRemoteName("http://vm:8428/api/v1/write"));
  assert.equal(c.remoteTimeout, 30_000);
  assert.equal(c.queue.maxSamplesPerSend, 2000);
  assert.equal(c.queue.batchSendDeadline, 5000);
  assert.equal(c.queue.minBackoff, 30);
  assert.equal(c.queue.maxBackoff, 5000);
  assert.equal(c.queue.sampleAgeLimit, 0);
  assert.deepEqual(c.auth, { kind: "none" });
  assert.equal(c.metadata.send, true);
  assert.equal(c.backfill, 0);
});

Deno.test("parseRemoteWriteConfigs() resolves auth, TLS, queue and relabel settings", () => {
  const r = parseRemoteWriteConfigs([{
    url: "https://mimir/api/v1/push",
    name: "mimir",
    headers: { "X-Scope-OrgID": "edge-1" },
    basic_auth: { username: "u", password: "p" },
    tls_config: { ca_file: "/etc/ca.pem" },
    queue_config: {
      max_samples_per_send: 500,
      max_shards: 2,
      batch_send_deadline: "1s",
      max_rate: 1000,
      sample_age_limit: "6h",
    },
    write_relabel_configs: [{ source_labels: ["__name__"], regex: "go_.*", action: "drop" }],
    backfill: "1h",
  }]);
  assert.ok(r.ok, String(r.errors));
  const c = r.configs[0]!;
  assert.equal(c.name, "mimir");
  assert.deepEqual(c.auth, { kind: "basic", username: "u", password: "p", passwordFile: "" });
  assert.deepEqual(c.tls, { caFile: "/etc/ca.pem", certFile: "", keyFile: "" });
  assert.equal(c.queue.maxSamplesPerSend, 500);
  assert.equal(c.queue.maxShards, 2);
  assert.equal(c.queue.batchSendDeadline, 1000);
  assert.equal(c.queue.sampleAgeLimit, 6 * 3600_000);
  assert.equal(c.writeRelabelConfigs.length, 1);
  assert.equal(c.writeRelabelConfigs[0]!.action, "drop");
  assert.equal(c.backfill, 3600_000);
});

Deno.test("parseRemoteWriteConfigs() names the path of every problem", () => {
  const errs = errorsOf([
    { url: "not a url" },
    { url: "http://x", queue_config: { max_shards: 0, min_backoff: "soon" } },
    { url: "http://y", bearer_token: "a", basic_auth: { username: "u" } },
    { url: "http://z", write_relabel_configs: [{ action: "explode" }] },
    { url: "http://w", tls_config: { insecure_skip_verify: true } },
    { urll: "http://typo" },
  ]);
  const has = (prefix: string) =>
    assert.ok(errs.some((e) => e.startsWith(prefix)), `no error at ${prefix}: ${errs.join("\n")}`);
  has("remote_write[0].url:");
  has("remote_write[1].queue_config.max_shards:");
  has("remote_write[3].write_relabel_configs[0].action:");
  has("remote_write[4].tls_config.insecure_skip_verify:");
  has("remote_write[5]: unknown field urll");
  assert.ok(errs.some((e) => e.startsWith("remote_write[2].") && e.includes("at most one")));
});

Deno.test("parseRemoteWriteConfigs() refuses duplicate names and reserved headers", () => {
  const errs = errorsOf([
    { url: "http://a", name: "x" },
    { url: "http://b", name: "x", headers: { Authorization: "Bearer t" } },
  ]);
  assert.ok(errs.some((e) => e.startsWith("remote_write[1].name:") && e.includes("already")));
  assert.ok(errs.some((e) => e.startsWith("remote_write[1].headers.Authorization:")));
});

Deno.test("parseRemoteWriteConfigs() accepts an absent section and refuses a non-list", () => {
  assert.deepEqual(parseRemoteWriteConfigs(undefined), { ok: true, configs: [] });
  assert.deepEqual(errorsOf({ url: "http://a" }), ["remote_write: must be a list of endpoints"]);
});
