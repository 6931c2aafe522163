/**
 * Alertmanager compatibility with the real amtool (Debian's
 * prometheus-alertmanager): `config show` and `cluster show` read
 * `/api/v2/status`; `silence add` with a bad silence prints Perch's reason
 * (errors under /api/v2 are JSON strings, as Alertmanager sends them);
 * `alert add` without a start time stores an alert that starts now. Fails
 * when amtool is missing: these tests are the proof of the claim.
 */
import assert from "node:assert/strict";
import { spawnPerch } from "../_perch.ts";

const AMTOOL = "/usr/bin/amtool";

async function amtool(url: string, ...args: string[]) {
  await Deno.stat(AMTOOL).catch(() => {
    throw new Error(`${AMTOOL} is missing: apt-get install prometheus-alertmanager`);
  });
  const out = await new Deno.Command(AMTOOL, {
    args: [`--alertmanager.url=${url}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("amtool config show, cluster show, silence add (refused with the reason) and alert add against Perch", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-amtool-" });
  await Deno.writeTextFile(
    `${dir}/perch.yml`,
    `self_scrape: { enabled: false }
self_monitoring_rules: false
route:
  receiver: ops
  group_by: [alertname]
  group_wait: 0s
  routes:
    - matchers: ['severity="page"']
      receiver: pager
receivers:
  - name: ops
    webhook_configs:
      - url: http://127.0.0.1:9/hook
        http_config: { bearer_token: "hook-token-123" }
  - name: pager
    pagerduty_configs: [{ routing_key: "pd-key-456" }]
`,
  );
  const p = await spawnPerch({ args: [`--config=${dir}/perch.yml`], dataDir: `${dir}/data` });
  try {
    // config show: the routing tree and receivers, secrets hidden.
    const config = await amtool(p.url, "config", "show");
    assert.equal(config.code, 0, config.stderr);
    assert.match(config.stdout, /receiver: ops/);
    assert.match(config.stdout, /matchers:\s*\n\s*- severity="page"/);
    assert.match(config.stdout, /bearer_token: <secret>/);
    assert.doesNotMatch(config.stdout, /hook-token-123|pd-key-456/);

    const cluster = await amtool(p.url, "cluster", "show");
    assert.equal(cluster.code, 0, cluster.stderr);
    assert.match(cluster.stdout, /Cluster Status:\s+disabled/);

    // A silence Perch refuses: amtool prints the reason, not a decoding error.
    const long = await amtool(
      p.url,
      "silence",
      "add",
      "alertname=Disk",
      "--duration=30d",
      "-c",
      "x",
    );
    assert.equal(long.code, 1);
    assert.match(long.stderr, /\[400\].*longer than the maximum/);
    assert.doesNotMatch(long.stderr, /cannot unmarshal/);
    const empty = await amtool(p.url, "silence", "add", "alertname=~.*", "-c", "x");
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /\[400\].*must not match the empty string/);
    const ok = await amtool(p.url, "silence", "add", "alertname=Disk", "-d", "1h", "-c", "fix");
    assert.equal(ok.code, 0, ok.stderr);
    const query = await amtool(p.url, "silence", "query", "-o", "json");
    const silences = JSON.parse(query.stdout) as { id: string; comment: string }[];
    assert.deepEqual(silences.map((s) => [s.id, s.comment]), [[ok.stdout.trim(), "fix"]]);

    // alert add sends Go's zero time as startsAt: the alert starts now, not in year 1.
    const before = Date.now();
    const add = await amtool(
      p.url,
      "alert",
      "add",
      "alertname=AmtoolTest",
      "severity=info",
      "--annotation=summary=from amtool",
    );
    assert.equal(add.code, 0, add.stderr);
    const alerts = await amtool(p.url, "alert", "query", "alertname=AmtoolTest", "-o", "json");
    assert.equal(alerts.code, 0, alerts.stderr);
    const list = JSON.parse(alerts.stdout) as {
      startsAt: string;
      annotations: Record<string, string>;
      receivers: { name: string }[];
    }[];
    assert.equal(list.length, 1, alerts.stdout);
    const startsAt = Date.parse(list[0]!.startsAt);
    assert.ok(startsAt >= before - 1000 && startsAt <= Date.now(), list[0]!.startsAt);
    assert.equal(list[0]!.annotations.summary, "from amtool");
    assert.deepEqual(list[0]!.receivers, [{ name: "ops" }]);

    // A bad alert: the reason, as a string.
    const bad = await fetch(`${p.url}/api/v2/alerts`, {
      method: "POST",
      body: JSON.stringify([{ labels: {} }]),
    });
    assert.equal(bad.status, 400);
    assert.equal(typeof await bad.json(), "string");
  } finally {
    await p.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
