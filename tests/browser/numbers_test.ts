/**
 * Numbers a user can trust, in a real Chromium against a real Perch: the
 * overview's memory is Perch's own, Explore's picker names the range it
 * shows, stat values fit their box, the Status page prints durations as
 * durations, and every page fits a 390 px phone without sideways scrolling.
 */
import assert from "node:assert/strict";
import { formatValue } from "../../core/dashboards/format.ts";
import { Browser, CHROMIUM } from "./_cdp.ts";
import { requireBinary } from "../_require.ts";
import { startRealPerch } from "./_real_perch.ts";

Deno.test({
  name: "overview memory, Explore range label, stat fit, Status durations, 390 px pages",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    requireBinary(CHROMIUM, "chromium");
    // A firing alert, so /alerts shows its table at 390 px (its hidden "Actions" header once
    // widened the page, seen only when some alert happened to fire).
    const rules = await Deno.makeTempFile({ prefix: "perch-numbers-", suffix: ".yml" });
    await Deno.writeTextFile(
      rules,
      `groups:
  - name: phone
    rules:
      - alert: StorageDegradedOnTheGatewayForAWhile
        expr: vector(1234567.891)
        labels: { severity: warning, component: storage_engine }
        annotations: { summary: "Something has been degraded on the box for a long while now" }
`,
    );
    const [perch, b] = await Promise.all([
      startRealPerch({}, `rule_files: [${rules}]\n`),
      Browser.launch(),
    ]);
    try {
      // A second "process" with much more memory, as a scraped exporter would report.
      await perch.importText([
        `process_resident_memory_bytes{job="other",instance="x"} 5e9`,
      ]);
      await perch.getJson("/api/v1/query?query=up"); // wait for the first self-scrape below
      for (let i = 0; i < 40; i++) {
        const r = await perch.getJson<{ data: { result: unknown[] } }>(
          `/api/v1/query?query=${encodeURIComponent('process_resident_memory_bytes{job="perch"}')}`,
        );
        if (r.data.result.length > 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }

      await t.step("the overview's Memory (RSS) is Perch's own", async () => {
        await b.goto(`${perch.url}/d/perch-overview?from=now-5m&refresh=1s`);
        let text = "";
        for (let i = 0; i < 60 && !/\d/.test(text); i++) {
          text = await b.eval<string>(`(() => { const p = [...document.querySelectorAll('.panel')]
            .find((x) => x.querySelector('h2').textContent === 'Memory (RSS)');
            return p ? p.dataset.status + ' ' + p.querySelector('.panel-body').innerText : 'none'; })()`);
          if (!/\d/.test(text)) await new Promise((r) => setTimeout(r, 250));
        }
        assert.match(text, /^ok .*MiB$/, text);
        text = text.slice(3);
        const v = await perch.queryValue('process_resident_memory_bytes{job="perch"}');
        assert.ok(v < 5e9);
        // The value may move between the two reads; it must be Perch's order of magnitude.
        assert.match(text, /MiB$/, text);
        assert.notEqual(text, formatValue(5e9, "bytes"));
      });

      await t.step("stat values fit inside their panels", async () => {
        const outside = await b.eval<string[]>(`[...document.querySelectorAll('.stat-value')]
          .filter((s) => { const r = s.getBoundingClientRect(), p = s.closest('.panel').getBoundingClientRect();
            return r.right > p.right + 1 || r.left < p.left - 1 || r.bottom > p.bottom + 1; })
          .map((s) => s.textContent)`);
        assert.deepEqual(outside, []);
      });

      await t.step("Explore's picker names the range it shows", async () => {
        await b.send("Emulation.setScriptExecutionDisabled", { value: true });
        await b.goto(`${perch.url}/explore?q=up`);
        const ssr = await b.eval<string>(
          `document.querySelector('[data-testid="range-select"]').selectedOptions[0].textContent`,
        );
        await b.send("Emulation.setScriptExecutionDisabled", { value: false });
        await b.goto(`${perch.url}/explore?q=up`);
        await b.waitFor(`document.readyState === "complete"`);
        const hydrated = await b.eval<string>(
          `document.querySelector('[data-testid="range-select"]').selectedOptions[0].textContent`,
        );
        assert.equal(ssr, "Last 1h");
        assert.equal(hydrated, "Last 1h");
      });

      await t.step("the Status page prints durations and sizes for people", async () => {
        await b.goto(`${perch.url}/status`);
        const text = await b.waitFor<string>(
          `(() => { const t = document.querySelector('main').innerText; return t.includes('shutdown_timeout') && t; })()`,
        );
        assert.match(text, /shutdown_timeout: 15s/);
        assert.match(text, /max_body_bytes: 32\.0 MiB/);
        assert.doesNotMatch(text, /shutdown_timeout: 15000/);
      });

      await t.step("every page fits a 390 px phone", async () => {
        await b.viewport(390, 800);
        const wide: string[] = [];
        for (
          const path of [
            "/",
            "/dashboards",
            "/d/perch-overview",
            "/explore?q=up",
            "/alerts",
            "/targets",
            "/status",
          ]
        ) {
          await b.goto(`${perch.url}${path}`);
          await b.waitFor(`document.readyState === "complete"`);
          if (path === "/alerts") await b.waitFor(`document.querySelector('[data-alertname]')`);
          await new Promise((r) => setTimeout(r, 500));
          const w = await b.eval<number>(`document.documentElement.scrollWidth`);
          if (w > 391) {
            const what = await b.eval<string[]>(`[...document.querySelectorAll('main *')]
              .filter((e) => e.getBoundingClientRect().right > 392).slice(0, 3)
              .map((e) => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40))`);
            wide.push(`${path}: ${w}px (${what.join(" | ")})`);
          }
        }
        assert.deepEqual(wide, []);
      });
      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
      await perch.close();
      await Deno.remove(rules);
    }
  },
});
