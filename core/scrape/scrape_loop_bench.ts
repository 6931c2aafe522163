/**
 * Scrape processing throughput: one scrape of 10,000 series (parse, target
 * labels, metric relabeling from the per-target cache, staleness tracking,
 * report series), with an in-process fetch and an append that only counts.
 */
import { silentLogger } from "../logging/mod.ts";
import { ScrapeLoop } from "./scrape_loop.ts";
import { config, FakeClock, target } from "./_test_util.ts";

const lines: string[] = ["# TYPE sensor_value gauge"];
for (let i = 0; i < 10_000; i++) {
  lines.push(`sensor_value{sensor="s${i}",room="r${i % 50}",kind="temp"} ${(i * 0.37).toFixed(2)}`);
}
const body = lines.join("\n") + "\n";

function makeLoop(raw: Record<string, unknown>) {
  const cfg = config(raw);
  const clock = new FakeClock();
  let appended = 0;
  const loop = new ScrapeLoop({
    target: target(cfg, "bench:9100"),
    config: cfg,
    appendRows: (rows) => {
      appended += rows.sampleCount;
      return Promise.resolve({ accepted: rows.sampleCount, rejected: 0 });
    },
    clock,
    logger: silentLogger(),
    fetch: () => Promise.resolve(new Response(body, { headers: { "content-type": "text/plain" } })),
  });
  return { loop, clock, appended: () => appended };
}

const plain = makeLoop({});
Deno.bench("scrape 10k series (no metric relabeling)", async () => {
  await plain.clock.advance(15_000);
  await plain.loop.scrapeOnce();
});

const relabeled = makeLoop({
  metric_relabel_configs: [
    { source_labels: ["room"], regex: "r(1|2)\\d", action: "drop" },
    { source_labels: ["kind"], target_label: "type", replacement: "t_$1" },
  ],
});
Deno.bench("scrape 10k series (2 metric relabel rules)", async () => {
  await relabeled.clock.advance(15_000);
  await relabeled.loop.scrapeOnce();
});
