import assert from "node:assert/strict";
import { configOf, startWith, testBasics } from "../_component_test_util.ts";
import { PublicAddress } from "../net/mod.ts";
import { scrapeComponent } from "./component.ts";

const job = (name: string, port: number) =>
  `  - job_name: ${name}\n    scrape_interval: 1h\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`;

async function setup(listen: string) {
  const kv = await Deno.openKv(":memory:");
  const b = testBasics();
  const base = `server:\n  listen: ${listen}\n`;
  const address = new PublicAddress(configOf(base));
  const scrape = scrapeComponent({
    ...b,
    appendRows: (rows) => Promise.resolve({ accepted: rows.sampleCount, rejected: 0 }),
    kv: () => kv,
    selfMetrics: () => "",
    address,
    configDir: ".",
    inProcessJobs: () => [],
  });
  return { kv, b, base, scrape, address };
}

Deno.test("scrape component: a reload adds and removes jobs; a bad job rejects the whole config", async () => {
  const { kv, b, base, scrape } = await setup("127.0.0.1:9999");
  const perch = await startWith(b, `${base}scrape_configs:\n${job("a", 9101)}`, [scrape]);
  assert.deepEqual(scrape.manager.pools(), ["a", "perch"]);

  const both = `${base}scrape_configs:\n${job("a", 9101)}${job("b", 9102)}`;
  assert.equal((await perch.reload(both)).ok, true);
  assert.deepEqual(scrape.manager.pools(), ["a", "b", "perch"]);

  // A second job with an invalid relabel regex: refused with its path, nothing applied.
  const bad = `${base}scrape_configs:\n${job("c", 9103)}    relabel_configs:\n` +
    `      - source_labels: [__address__]\n        regex: "(unclosed"\n        target_label: x\n`;
  const r = await perch.reload(bad);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.errors.join("\n") : "", /scrape_configs\[0\]\.relabel_configs\[0\]/);
  assert.deepEqual(scrape.manager.pools(), ["a", "b", "perch"]);

  assert.equal((await perch.reload(`${base}scrape_configs:\n${job("b", 9102)}`)).ok, true);
  assert.deepEqual(scrape.manager.pools(), ["b", "perch"]);
  await perch.stop();
  kv.close();
});

Deno.test("scrape component: with port 0 the self target waits for the bound address", async () => {
  const { kv, b, base, scrape: s2, address } = await setup("127.0.0.1:0");
  const perch = await startWith(b, base, [s2]);
  assert.deepEqual(s2.manager.targets().active.filter((t) => t.pool === "perch"), []);
  await address.bound({ hostname: "127.0.0.1", port: 45678 });
  const self = s2.manager.targets().active.filter((t) => t.pool === "perch");
  assert.deepEqual(self.map((t) => t.labels.instance), ["127.0.0.1:45678"]);
  await perch.stop();
  kv.close();
});
