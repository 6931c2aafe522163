/**
 * Interop: Perch scrapes a real Debian `prometheus-node-exporter` through the
 * shared ingest pipeline; node_load1 and node_memory_MemTotal_bytes must
 * arrive with job/instance labels, plus up=1.
 */
import assert from "node:assert/strict";
import { IngestPipeline } from "../../core/ingest/mod.ts";
import { silentLogger } from "../../core/logging/mod.ts";
import {
  type Appender,
  type AppendResult,
  getLabel,
  type Labels,
  type MetricMetadata,
  metricName,
  SampleBatch,
} from "../../core/model/mod.ts";
import { createScrapeManager, parseScrapeConfigs } from "../../core/scrape/mod.ts";
import { freePort } from "../_perch.ts";
import { requireBinary } from "../_require.ts";
import { NODE_EXPORTER_BIN } from "../remote/_peers.ts";

/** Keeps the last value of every series appended. */
class CollectingAppender implements Appender {
  readonly series = new Map<string, { labels: Labels; v: number; t: number }>();
  readonly metadata = new Map<string, MetricMetadata>();
  append(batch: SampleBatch): Promise<AppendResult> {
    for (let i = 0; i < batch.length; i++) {
      const labels = batch.series[batch.ref(i)]!;
      this.series.set(JSON.stringify(labels), { labels, v: batch.v(i), t: batch.t(i) });
    }
    return Promise.resolve({ accepted: batch.length, rejected: [] });
  }
  setMetadata(name: string, meta: MetricMetadata): Promise<void> {
    this.metadata.set(name, meta);
    return Promise.resolve();
  }
}

Deno.test({
  name: "Perch scrapes a real prometheus-node-exporter through the ingest pipeline",
  async fn() {
    requireBinary(NODE_EXPORTER_BIN, "prometheus-node-exporter");
    const port = freePort();
    const child = new Deno.Command(NODE_EXPORTER_BIN, {
      args: [
        `--web.listen-address=127.0.0.1:${port}`,
        "--collector.disable-defaults",
        "--collector.cpu",
        "--collector.meminfo",
        "--collector.loadavg",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream());
    let log = "";
    const drain = (async () => {
      for await (const s of stderr) log += s;
    })();
    const store = new CollectingAppender();
    const pipeline = new IngestPipeline({ appender: store });
    const r = parseScrapeConfigs([{
      job_name: "node",
      scrape_interval: "1s",
      scrape_timeout: "1s",
      static_configs: [{ targets: [`127.0.0.1:${port}`], labels: { site: "lab" } }],
    }], { scrape_interval: 15_000, scrape_timeout: 10_000 });
    assert.ok(r.ok, r.errors?.join());
    const manager = createScrapeManager({
      configs: r.configs!,
      appendRows: (rows, protocol) => pipeline.ingest(protocol, rows),
      logger: silentLogger(),
      selfScrape: { enabled: false, interval: 15_000 },
    });
    try {
      // Wait for the exporter to listen.
      const deadline = performance.now() + 10_000;
      for (;;) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`);
          await res.body?.cancel();
          if (res.ok) break;
        } catch { /* not yet */ }
        if (performance.now() > deadline) throw new Error(`node_exporter did not start:\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await manager.start();
      const find = (name: string) =>
        [...store.series.values()].filter((s) => metricName(s.labels) === name);
      const end = performance.now() + 10_000;
      while (find("node_load1").length === 0 || find("up").length === 0) {
        if (performance.now() > end) {
          throw new Error(`no node_load1 scraped; targets: ${JSON.stringify(manager.targets())}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const load = find("node_load1")[0]!;
      assert.equal(getLabel(load.labels, "job"), "node");
      assert.equal(getLabel(load.labels, "instance"), `127.0.0.1:${port}`);
      assert.equal(getLabel(load.labels, "site"), "lab");
      assert.ok(load.v >= 0);
      const mem = find("node_memory_MemTotal_bytes");
      assert.equal(mem.length, 1);
      assert.ok(mem[0]!.v > 1024 * 1024, "MemTotal is more than 1 MiB");
      assert.equal(getLabel(mem[0]!.labels, "job"), "node");
      assert.ok(find("node_cpu_seconds_total").length > 0);
      assert.equal(find("up")[0]!.v, 1);
      assert.equal(store.metadata.get("node_load1")?.type, "gauge");
      const t = manager.targets().active[0]!;
      assert.equal(t.health.health, "up", t.health.lastError);
      assert.ok(find("scrape_samples_scraped")[0]!.v > 10);
    } finally {
      await manager.stop();
      child.kill("SIGTERM");
      await child.status;
      await drain;
    }
  },
});
