/**
 * Forwarding to a real Debian `prometheus-alertmanager` on loopback. Fails
 * when it is not installed: these tests are the proof of the claim.
 */
import assert from "node:assert/strict";
import { freePort, spawnWithConfig } from "../_perch.ts";
import { alert, realNotifier } from "./_util.ts";
import { requireBinary } from "../_require.ts";

const BIN = "/usr/bin/prometheus-alertmanager";

/** A real Alertmanager on loopback with a blackhole receiver; fails when it is not installed. */
async function startAlertmanager(dir: string) {
  requireBinary(BIN, "prometheus-alertmanager");
  await Deno.writeTextFile(
    `${dir}/alertmanager.yml`,
    'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n',
  );
  const port = freePort();
  const am = new Deno.Command(BIN, {
    args: [
      `--config.file=${dir}/alertmanager.yml`,
      `--storage.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  const ready = async () => {
    try {
      const r = await fetch(`${base}/-/ready`);
      await r.body?.cancel();
      return r.ok;
    } catch {
      return false;
    }
  };
  const end = Date.now() + 15_000;
  while (!(await ready())) {
    if (Date.now() > end) {
      am.kill("SIGTERM");
      await am.status;
      throw new Error("alertmanager did not start");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    async stop() {
      am.kill("SIGTERM");
      await am.status;
    },
  };
}

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  generatorURL: string;
  status: { state: string };
}

/** Polls the Alertmanager's alert list until `pred` holds (bounded). */
async function pollAlerts(base: string, pred: (l: AmAlert[]) => boolean): Promise<AmAlert[]> {
  let listed: AmAlert[] = [];
  const stop = Date.now() + 20_000;
  while (Date.now() < stop) {
    listed = await (await fetch(`${base}/api/v2/alerts`)).json();
    if (pred(listed)) return listed;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Alertmanager shows ${JSON.stringify(listed)}`);
}

Deno.test("a real Alertmanager receives forwarded alerts and their resolution", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-am-" });
  const am = await startAlertmanager(dir);
  const base = am.base;
  try {
    {
      await using t = await realNotifier({
        route: {
          receiver: "am",
          group_by: ["alertname"],
          group_wait: "50ms",
          group_interval: "200ms",
        },
        receivers: [{ name: "am", alertmanager_configs: [{ url: base }] }],
      });
      const a = alert({ alertname: "PowerLost", site: "barn", severity: "critical" }, {
        annotations: { summary: "mains power lost" },
      });
      await t.notifier.sink.put([a], Date.now());
      let listed = await pollAlerts(base, (l) => l.length === 1);
      assert.equal(listed[0]!.labels.alertname, "PowerLost");
      assert.equal(listed[0]!.labels.site, "barn");
      assert.equal(listed[0]!.annotations.summary, "mains power lost");
      assert.equal(listed[0]!.status.state, "active");
      await t.notifier.sink.put([{ ...a, endsAt: Date.now() }], Date.now());
      listed = await pollAlerts(base, (l) => l.length === 0);
      const log = await t.notifier.deliveryLog();
      assert.deepEqual(log.map((e) => e.success), [true, true]);
    }
  } finally {
    await am.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("alerts a Perch process forwards carry the external labels and an absolute generatorURL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-am-fwd-" });
  const am = await startAlertmanager(dir);
  const rules = `groups:
  - name: fwd
    interval: 1s
    rules:
      - alert: Forwarded
        expr: vector(1)
        labels: { site: own }
`;
  // No server.external_url: links use http://<hostname>:<port>, as Prometheus's default.
  const p = await spawnWithConfig(
    `global:
  evaluation_interval: 1s
  external_labels: { region: north, site: fallback }
self_monitoring_rules: false
self_scrape: { enabled: false }
rule_files: [rules.yml]
route: { receiver: am, group_wait: 0s, group_interval: 1s }
receivers:
  - name: am
    alertmanager_configs: [{ url: "${am.base}" }]
`,
    { dir, files: { "rules.yml": rules } },
  );
  try {
    const [a] = await pollAlerts(am.base, (l) => l.length === 1);
    assert.equal(a!.labels.alertname, "Forwarded");
    assert.equal(a!.labels.region, "north", "the external label is added");
    assert.equal(a!.labels.site, "own", "the alert's own label wins over an external one");
    const url = new URL(a!.generatorURL);
    assert.equal(url.host, `${Deno.hostname()}:${p.port}`);
    assert.equal(url.pathname, "/graph");
    assert.equal(url.searchParams.get("g0.expr"), "vector(1)");
  } finally {
    await p.stop();
    await am.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
