import assert from "node:assert/strict";
import { configOf, startWith, testBasics } from "../_component_test_util.ts";
import { PublicAddress } from "../net/mod.ts";
import { scrapeComponent } from "../scrape/mod.ts";
import { notifyComponent } from "./component.ts";

const receivers = (...names: string[]) =>
  `route:\n  receiver: ${names[0]}\nreceivers:\n` +
  names.map((n) =>
    `  - name: ${n}\n    alertmanager_configs:\n      - url: http://127.0.0.1:9093/${n}/\n`
  ).join("");

async function setup() {
  const kv = await Deno.openKv(":memory:");
  const b = testBasics();
  const notify = notifyComponent({
    ...b,
    kv: () => kv,
    externalURL: () => "http://perch.test:8080",
    configDir: ".",
  });
  return { kv, b, notify };
}

Deno.test("notify component: a reload changes receivers; a route to an unknown receiver is refused", async () => {
  const { kv, b, notify } = await setup();
  const perch = await startWith(b, receivers("one"), [notify]);
  assert.deepEqual(notify.receivers(), ["one"]);
  assert.deepEqual(notify.alertmanagerUrls(), ["http://127.0.0.1:9093/one/api/v2/alerts"]);

  assert.equal((await perch.reload(receivers("two", "one"))).ok, true);
  assert.deepEqual(notify.receivers().sort(), ["one", "two"]);

  const r = await perch.reload("route:\n  receiver: nobody\nreceivers:\n  - name: one\n");
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.errors.join("\n") : "", /route.*nobody/);
  assert.deepEqual(notify.receivers().sort(), ["one", "two"], "the old receivers stay");
  await perch.stop();
  kv.close();
});

Deno.test("notify and scrape: one component's refusal keeps the old config in both", async () => {
  const { kv, b, notify } = await setup();
  const base = "server:\n  listen: 127.0.0.1:9999\n";
  const scrape = scrapeComponent({
    ...b,
    appendRows: (rows) => Promise.resolve({ accepted: rows.sampleCount, rejected: 0 }),
    kv: () => kv,
    selfMetrics: () => "",
    address: new PublicAddress(configOf(base)),
    configDir: ".",
    inProcessJobs: () => [],
  });
  const perch = await startWith(b, base + receivers("one"), [notify, scrape]);
  // Notify would accept the new receivers; scrape refuses its section.
  const r = await perch.reload(base + receivers("two") + "scrape_configs:\n  - job_name: ''\n");
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.errors.join("\n") : "", /scrape_configs\[0\]\.job_name/);
  assert.deepEqual(notify.receivers(), ["one"]);
  assert.deepEqual(scrape.manager.pools(), ["perch"]);
  await perch.stop();
  kv.close();
});
