/**
 * CSRF in a real browser: Chromium opens a page on a second origin (served
 * by this test) that tries every trick a hostile page has against Perch's
 * admin endpoints: `no-cors` fetches with text/plain and form bodies (no
 * preflight), a JSON fetch (needs a preflight Perch does not grant) and a
 * classic `<form enctype="text/plain">` submission. Nothing changes. Then the
 * same browser, on Perch's own origin, performs a UI action that works.
 */
import assert from "node:assert/strict";
import { spawnPerch } from "../_perch.ts";
import { Browser, CHROMIUM } from "./_cdp.ts";
import { requireBinary } from "../_require.ts";

Deno.test({
  name: "a page on another origin cannot change Perch through the browser; Perch's own page can",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // A missing browser is a broken test environment, not a pass.
    requireBinary(CHROMIUM, "chromium");
    const perch = await spawnPerch();
    const now = Date.now();
    const silence = {
      matchers: [{ name: "alertname", value: "Csrf", isRegex: false, isEqual: true }],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: "evil",
      comment: "silenced by another origin",
    };
    const targets: [string, unknown][] = [
      ["/api/v2/silences", silence],
      ["/api/v1/silences", silence],
      ["/api/v1/alerts", { name: "EvilRule", expression: "up", operator: "lt", threshold: 1 }],
      ["/api/v1/scrape", { url: "http://127.0.0.1:9/metrics", job: "evil" }],
      ["/api/dashboards", { id: "evil", title: "Evil" }],
      ["/-/reload", {}],
      ["/api/v1/admin/tsdb/snapshot", {}],
    ];
    // `{"…":"=…"}`: the text/plain form trick that yields a JSON body.
    const formField = JSON.stringify(silence).slice(0, -1) + ',"x":"';
    const page = `<!doctype html><html><body>
<iframe name="sink"></iframe>
<form id="f" method="POST" action="${perch.url}/api/v2/silences" enctype="text/plain" target="sink">
<input type="hidden" name='${formField.replaceAll("'", "&#39;")}' value='"}'></form>
<script>
const perch = ${JSON.stringify(perch.url)};
const targets = ${JSON.stringify(targets)};
window.results = [];
(async () => {
  for (const [path, body] of targets) {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) {
      try {
        await fetch(perch + path, { method: "POST", mode: "no-cors", headers: { "content-type": type }, body: JSON.stringify(body) });
        results.push("sent " + type + " " + path);
      } catch (e) { results.push("error " + e); }
    }
    try {
      const r = await fetch(perch + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      results.push("cors " + r.status + " " + path);
    } catch (e) { results.push("blocked " + path); }
  }
  const loaded = new Promise((r) => document.querySelector("iframe").onload = r);
  document.getElementById("f").submit();
  await loaded;
  document.title = "done";
})();
</script></body></html>`;
    const evil = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response(page, { headers: { "content-type": "text/html" } }),
    );
    const b = await Browser.launch();
    try {
      await b.goto(`http://127.0.0.1:${evil.addr.port}/`);
      await b.waitFor(`document.title === "done"`, 30_000, "the hostile page to finish");
      const results = await b.eval<string[]>("window.results");
      // The no-cors requests were sent (the browser does not stop them)…
      assert.equal(results.filter((r) => r.startsWith("sent")).length, targets.length * 3);
      // …and the JSON ones never got past the preflight.
      assert.deepEqual(
        results.filter((r) => !r.startsWith("sent")),
        targets.map(([p]) => `blocked ${p}`),
      );
      const get = async (path: string) => await (await fetch(`${perch.url}${path}`)).json();
      assert.deepEqual(await get("/api/v2/silences"), []);
      assert.ok(!JSON.stringify(await get("/api/v1/rules")).includes("EvilRule"));
      assert.deepEqual((await get("/api/v1/scrape")).targets, []);
      assert.ok(!JSON.stringify(await get("/api/dashboards")).includes('"evil"'));
      const metrics = await (await fetch(`${perch.url}/metrics`)).text();
      assert.doesNotMatch(metrics, /perch_config_reloads_total\{result="success"\} [1-9]/);
      assert.equal(await Deno.stat(`${perch.dataDir}/snapshots`).then(() => 1, () => 0), 0);

      // Perch's own page: the UI's JSON action works.
      await b.goto(`${perch.url}/`);
      const status = await b.eval<number>(
        `fetch("/api/v2/silences", { method: "POST", headers: { "content-type": "application/json" }, body: ${
          JSON.stringify(JSON.stringify({ ...silence, createdBy: "operator" }))
        } }).then((r) => r.status)`,
      );
      assert.equal(status, 200);
      const list = await get("/api/v2/silences");
      assert.deepEqual(list.map((s: { createdBy: string }) => s.createdBy), ["operator"]);
    } finally {
      await b.close();
      await evil.shutdown();
      assert.equal(await perch.stop(), 0);
      await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
    }
  },
});
