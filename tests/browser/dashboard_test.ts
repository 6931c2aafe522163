/**
 * The dashboard in a real (headless, system) Chromium: a provisioned
 * dashboard renders data, updates live over /ws, follows time range and
 * variable changes, the editor saves a new panel, an alert is silenced, and a
 * `<script>` in a label never runs. Screenshots go to tests/artifacts/.
 */
import assert from "node:assert/strict";
import { formatValue } from "../../core/dashboards/format.ts";
import { Browser, hasChromium } from "./_cdp.ts";
import { startTestServer } from "./_server.ts";

const ARTIFACTS = new URL("../artifacts/", import.meta.url).pathname;
const XSS = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`;

const ROOMS = {
  id: "rooms",
  title: "Rooms",
  time: { from: "now-1h", to: "now" },
  variables: [{
    type: "query",
    name: "room",
    query: "label_values(temp_celsius, room)",
    multi: true,
    includeAll: true,
    current: ["$__all"],
  }],
  panels: [
    {
      id: 1,
      type: "line",
      title: "Temperature",
      gridPos: { x: 0, y: 0, w: 16, h: 9 },
      targets: [{ expr: 'temp_celsius{room=~"$room"}', legendFormat: "{{room}}", refId: "A" }],
      options: { legend: { show: true, calcs: ["max", "last"] } },
    },
    {
      id: 2,
      type: "stat",
      title: "Rooms reporting",
      gridPos: { x: 16, y: 0, w: 8, h: 4 },
      targets: [{ expr: 'count(temp_celsius{room=~"$room"})', refId: "A" }],
    },
    {
      id: 3,
      type: "heatmap",
      title: "Latency",
      gridPos: { x: 16, y: 4, w: 8, h: 5 },
      targets: [{ expr: "sum by (le) (rate(req_seconds_bucket[5m]))", refId: "A" }],
    },
    {
      id: 4,
      type: "line",
      title: "Broken",
      gridPos: { x: 0, y: 9, w: 24, h: 4 },
      targets: [{ expr: 'label_replace(up, "x", "$1", "y", "(")', refId: "A" }],
    },
  ],
};

function seed(push: (l: Record<string, string>, v: number, t: number) => void, now: number) {
  const t0 = Math.floor(now / 15_000) * 15_000;
  const spike = Math.floor((now - 20 * 60_000) / 60_000) * 60_000;
  for (let t = t0 - 2 * 3600_000; t <= t0; t += 15_000) {
    push({ __name__: "temp_celsius", room: "kitchen" }, t === spike ? 30 : 21.5, t);
    push({ __name__: "temp_celsius", room: "garage" }, 4.25, t);
    push({ __name__: "temp_celsius", room: XSS }, 18, t);
    const n = (t - (t0 - 2 * 3600_000)) / 15_000;
    for (const [le, f] of [["0.1", 0.5], ["0.5", 0.8], ["+Inf", 1]] as const) {
      push({ __name__: "req_seconds_bucket", le }, Math.floor(n * 10 * f), t);
    }
  }
}

/** Legend rows of the panel: name → {calc: text}. */
const LEGEND = (panel: number) =>
  `(() => {
  const rows = [...document.querySelectorAll('[data-panel-id="${panel}"] .legend tbody tr')];
  return Object.fromEntries(rows.map((r) => [r.querySelector('.series-name').textContent,
    Object.fromEntries([...r.querySelectorAll('td[data-calc]')].map((td) => [td.dataset.calc, td.textContent]))]));
})()`;

/** Non-transparent pixels on the panel's canvas. */
const INKED = (panel: number) =>
  `(() => {
  const c = document.querySelector('[data-panel-id="${panel}"] canvas');
  if (!c || !c.width) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
})()`;

Deno.test({
  name:
    "dashboard in Chromium: data, live updates, time range, variables, editor, silences, no XSS",
  ignore: !hasChromium(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const srv = await startTestServer({ provision: { "rooms.json": ROOMS } });
    seed(srv.push, Date.now());
    const b = await Browser.launch();
    const shot = (name: string) => b.screenshot(`${ARTIFACTS}dashboard-${name}.png`);
    try {
      await t.step(
        "a provisioned dashboard renders data and legend values match the API",
        async () => {
          await b.goto(`${srv.url}/d/rooms?refresh=5s`);
          await b.waitFor(`document.querySelector('[data-panel-id="1"]').dataset.status === "ok"`);
          await b.waitFor(`${INKED(1)} > 500`, 10_000, "the line chart to draw");
          await b.waitFor(`${INKED(3)} > 200`, 10_000, "the heatmap to draw");
          const legend = await b.waitFor<Record<string, Record<string, string>>>(
            `(() => { const l = ${LEGEND(1)}; return Object.keys(l).length === 3 ? l : null; })()`,
          );
          const api = async (q: string) => {
            const r = await fetch(`${srv.url}/api/v1/query?query=${encodeURIComponent(q)}`);
            const body = await r.json();
            return Number(body.data.result[0].value[1]);
          };
          assert.equal(
            legend.kitchen!.last,
            formatValue(await api('temp_celsius{room="kitchen"}'), "celsius"),
          );
          assert.equal(
            legend.kitchen!.max,
            formatValue(await api('max_over_time(temp_celsius{room="kitchen"}[1h])'), "celsius"),
          );
          assert.equal(
            legend.garage!.last,
            "4.25 °C".replace("4.25", formatValue(4.25, "celsius").split(" ")[0]!),
          );
          // The label with markup shows as text.
          assert.ok(Object.keys(legend).includes(XSS), `legend names: ${Object.keys(legend)}`);
          const stat = await b.eval<string>(
            `document.querySelector('[data-panel-id="2"] .stat-value').textContent`,
          );
          assert.equal(stat, "3");
          // The failing panel shows its error; the others still render.
          const err = await b.waitFor<string>(
            `document.querySelector('[data-panel-id="4"] .panel-error')?.textContent`,
          );
          assert.match(err, /regex|parse|invalid/i);
          await shot("loaded");
        },
      );

      await t.step("hydration does not move the server-rendered panels", async () => {
        const rects = `[...document.querySelectorAll('.panel')].map((p) => {
          const r = p.getBoundingClientRect(); return [r.x, r.y, r.width, r.height].map(Math.round).join(","); })`;
        await b.send("Emulation.setScriptExecutionDisabled", { value: true });
        await b.goto(`${srv.url}/d/rooms`);
        const ssr = await b.eval<string[]>(rects);
        await b.send("Emulation.setScriptExecutionDisabled", { value: false });
        await b.goto(`${srv.url}/d/rooms?refresh=5s`);
        await b.waitFor(`document.querySelector('[data-panel-id="1"]').dataset.status === "ok"`);
        assert.equal(ssr.length, 4);
        assert.deepEqual(await b.eval<string[]>(rects), ssr);
      });

      await t.step("new samples appear over /ws without a reload", async () => {
        await b.eval(`window.__marker = 42`);
        await b.waitFor(
          `document.querySelector('[data-testid="live-state"]').textContent.includes("live")`,
        );
        srv.push({ __name__: "temp_celsius", room: "kitchen" }, 99, Date.now());
        await b.waitFor(
          `(${LEGEND(1)}).kitchen?.last === ${JSON.stringify(formatValue(99, "celsius"))}`,
          20_000,
          "kitchen 99 °C in the legend",
        );
        assert.equal(await b.eval(`window.__marker`), 42, "the page was not reloaded");
        await shot("live");
      });

      await t.step("time range and variable changes update the URL and the panels", async () => {
        await b.eval(`(() => { const s = document.querySelector('[data-testid="range-select"]');
          s.value = "15m"; s.dispatchEvent(new Event("change", { bubbles: true })); })()`);
        await b.waitFor(`location.search.includes("from=now-15m")`);
        await b.eval(`(() => {
          const d = document.querySelector('[data-testid="var-room"]'); d.open = true;
          const boxes = [...d.querySelectorAll('label')];
          const all = boxes.find((l) => l.textContent.trim() === "All").querySelector('input');
          all.click();
          boxes.find((l) => l.textContent.trim() === "garage").querySelector('input').click();
        })()`);
        await b.waitFor(
          `location.search.includes("var-room=garage") && !location.search.includes("__all")`,
        );
        await b.waitFor(
          `(() => { const l = ${
            LEGEND(1)
          }; const k = Object.keys(l); return k.length === 1 && k[0] === "garage"; })()`,
          15_000,
          "only garage in the legend",
        );
        await shot("filtered");
        // The shared URL restores the view.
        const url = await b.eval<string>(`location.href`);
        await b.goto(url);
        await b.waitFor(
          `(() => { const l = ${
            LEGEND(1)
          }; const k = Object.keys(l); return k.length === 1 && k[0] === "garage"; })()`,
        );
        assert.equal(
          await b.eval(`document.querySelector('[data-testid="range-select"]').value`),
          "15m",
        );
      });

      await t.step("drag on a chart zooms to an absolute range", async () => {
        const box = await b.eval<{ x: number; y: number; w: number; h: number }>(`(() => {
          const r = document.querySelector('[data-panel-id="1"] .u-over').getBoundingClientRect();
          return { x: r.x, y: r.y, w: r.width, h: r.height }; })()`);
        const y = box.y + box.h / 2;
        await b.mouse("mouseMoved", box.x + box.w * 0.3, y);
        await b.mouse("mousePressed", box.x + box.w * 0.3, y);
        await b.mouse("mouseMoved", box.x + box.w * 0.5, y);
        await b.mouse("mouseMoved", box.x + box.w * 0.7, y);
        await b.mouse("mouseReleased", box.x + box.w * 0.7, y);
        await b.waitFor(
          `/from=\\d{13}/.test(location.search)`,
          5000,
          "an absolute range in the URL",
        );
      });

      await t.step("the editor adds a panel and saves it", async () => {
        await b.goto(`${srv.url}/d/rooms`);
        await b.waitFor(`document.querySelector('[data-testid="edit-button"]')`);
        await b.eval(`document.querySelector('[data-testid="edit-button"]').click()`);
        await b.waitFor(`document.querySelector('[data-testid="add-panel"]')`);
        await b.eval(`document.querySelector('[data-testid="add-panel"]').click()`);
        await b.waitFor(`document.querySelector('[data-testid="panel-editor"]')`);
        const setText = (sel: string, value: string) =>
          b.eval(`(() => { const el = document.querySelector('${sel}');
            el.value = ${
            JSON.stringify(value)
          }; el.dispatchEvent(new Event("input", { bubbles: true })); })()`);
        // A broken query is flagged inline and refused on save with its field.
        await setText(
          '[data-testid="panel-editor"] [data-testid="query-input"]',
          "sum(temp_celsius",
        );
        await b.waitFor(
          `document.querySelector('[data-testid="query-error"]')`,
          5000,
          "an inline parse error",
        );
        await b.eval(`document.querySelector('[data-testid="save-dashboard"]').click()`);
        const errs = await b.waitFor<string>(
          `document.querySelector('[data-testid="save-errors"]')?.textContent`,
        );
        assert.match(errs, /panels\.4\.targets\.0\.expr/);
        await setText(
          '[data-testid="panel-editor"] [data-testid="query-input"]',
          "avg(temp_celsius)",
        );
        await setText('[data-testid="panel-title-input"]', "Average temperature");
        await b.waitFor(`!document.querySelector('[data-testid="query-error"]')`);
        await shot("editor");
        await b.eval(`document.querySelector('[data-testid="save-dashboard"]').click()`);
        await b.waitFor(
          `!document.querySelector('[data-testid="save-dashboard"]')`,
          5000,
          "the editor to close after saving",
        );
        const saved = await srv.dashboards.get("rooms");
        const p = saved.panels.find((x) => x.title === "Average temperature");
        assert.ok(p, "the new panel was saved");
        assert.equal(p.targets[0]!.expr, "avg(temp_celsius)");
        await b.waitFor(
          `document.querySelector('[data-panel-id="${p.id}"]')?.dataset.status === "ok"`,
        );
        await b.waitFor(`${INKED(p.id)} > 300`, 10_000, "the new panel to draw");
        await shot("saved");
      });

      await t.step("an alert is silenced from the alerts page", async () => {
        await b.goto(`${srv.url}/alerts`);
        await b.waitFor(`document.querySelector('[data-testid="silence-alert"]')`);
        await b.eval(`document.querySelector('[data-testid="silence-alert"]').click()`);
        await b.waitFor(`document.querySelector('[data-testid="create-silence"]')`);
        await b.eval(`document.querySelector('[data-testid="create-silence"]').click()`);
        await b.waitFor(
          `document.querySelector('[data-testid="silences-table"]')?.textContent.includes("KitchenHot")`,
        );
        assert.equal(srv.silences.length, 1);
        const m = srv.silences[0]!.matchers as { name: string; value: string }[];
        assert.ok(m.some((x) => x.name === "alertname" && x.value === "KitchenHot"));
        await shot("alerts");
      });

      await t.step("other pages load; phone width stacks panels", async () => {
        for (const path of ["/", "/dashboards", "/explore?q=temp_celsius", "/targets", "/status"]) {
          await b.goto(`${srv.url}${path}`);
          await b.waitFor(`document.readyState === "complete"`);
        }
        await b.waitFor(
          `document.querySelector('[data-testid="query-stats"]') || location.pathname !== "/explore"`,
        );
        await b.viewport(390, 800);
        await b.goto(`${srv.url}/d/rooms`);
        await b.waitFor(`document.querySelector('[data-panel-id="1"]').dataset.status === "ok"`);
        const widths = await b.eval<number[]>(
          `[...document.querySelectorAll('.panel')].map((p) => Math.round(p.getBoundingClientRect().width))`,
        );
        assert.ok(widths.every((w) => w === widths[0]), `stacked panels have one width: ${widths}`);
        const overflow = await b.eval<number>(`document.documentElement.scrollWidth - innerWidth`);
        assert.ok(overflow <= 1, `no horizontal scroll on a phone (${overflow}px)`);
        await shot("phone");
      });

      await t.step("nothing executed from labels and no console errors", async () => {
        assert.equal(await b.eval(`window.__xss`), undefined);
        // Expected failures: the deliberately broken panel's 422 and alerting APIs that this
        // test server does not have (the pages show "not available" for them).
        // The editor step types a broken query on purpose (preview, parse check, refused save).
        const expected =
          /Failed to load resource: .*(label_replace|sum%28temp_celsius&|sum%28temp_celsius$|\/api\/dashboards\/rooms$|\/api\/v1\/(rules|notifications|targets|status\/tsdb))/;
        const errors = b.errors.filter((e) => !expected.test(e));
        assert.deepEqual(errors, []);
      });
    } finally {
      await b.close();
      await srv.close();
    }
  },
});

if (!hasChromium()) console.warn("SKIPPED browser tests: /usr/bin/chromium is not installed");
