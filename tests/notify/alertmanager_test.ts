/** Forwarding to a real Debian `prometheus-alertmanager` on loopback. */
import assert from "node:assert/strict";
import { alert, realNotifier } from "./_util.ts";

const BIN = "/usr/bin/prometheus-alertmanager";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test({
  name: "a real Alertmanager receives forwarded alerts and their resolution",
  ignore: !(await exists(BIN)),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "perch-am-" });
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
    try {
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
        if (Date.now() > end) throw new Error("alertmanager did not start");
        await new Promise((r) => setTimeout(r, 100));
      }
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
      let listed: {
        labels: Record<string, string>;
        annotations: Record<string, string>;
        status: { state: string };
      }[] = [];
      const poll = async (pred: () => boolean) => {
        const stop = Date.now() + 10_000;
        while (Date.now() < stop) {
          listed = await (await fetch(`${base}/api/v2/alerts`)).json();
          if (pred()) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`Alertmanager shows ${JSON.stringify(listed)}`);
      };
      await poll(() => listed.length === 1);
      assert.equal(listed[0]!.labels.alertname, "PowerLost");
      assert.equal(listed[0]!.labels.site, "barn");
      assert.equal(listed[0]!.annotations.summary, "mains power lost");
      assert.equal(listed[0]!.status.state, "active");
      await t.notifier.sink.put([{ ...a, endsAt: Date.now() }], Date.now());
      await poll(() => listed.length === 0);
      const log = await t.notifier.deliveryLog();
      assert.deepEqual(log.map((e) => e.success), [true, true]);
    } finally {
      am.kill("SIGTERM");
      await am.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
