/**
 * Native histograms in the dashboard, in a real (headless, system) Chromium
 * against a real Perch child process: a heatmap panel draws the buckets of
 * `rate()` over remote-written native histograms, a cell's tooltip gives the
 * bucket and value the HTTP API gives at that time, a new bucket pushed now
 * arrives over /ws without a reload, and Explore shows a heatmap and the
 * last histogram's count, sum and buckets. No console errors. Bounded: one
 * Perch, one browser, about 30 s.
 */
import assert from "node:assert/strict";
import { formatValue, resolveUnit } from "../../core/dashboards/format.ts";
import { encodeRemoteWriteBody } from "../../core/ingest/mod.ts";
import type { NativeHistogram } from "../../core/model/mod.ts";
import { Browser, CHROMIUM, inkedPixels } from "./_cdp.ts";
import { requireBinary } from "../_require.ts";
import { postRemoteWrite } from "../_remote_write.ts";
import { testHistogram } from "../remote/_histograms.ts";
import { startRealPerch } from "./_real_perch.ts";

const ARTIFACTS = new URL("../artifacts/", import.meta.url).pathname;
const EXPR = "rate(rpc_latency[2m])";

const LAT = {
  id: "lat",
  title: "Latency",
  time: { from: "now-30m", to: "now" },
  panels: [{
    id: 1,
    type: "heatmap",
    title: "RPC latency",
    gridPos: { x: 0, y: 0, w: 24, h: 10 },
    targets: [{ expr: EXPR, refId: "A" }],
  }],
};

type Wire = { count: string; sum: string; buckets?: [number, string, string, string][] };

/**
 * The counter histogram sent now: the history's last one plus bucket 40,
 * (2^(39/8), 32] (the history's last positive bucket is 8).
 */
function withFarBucket(h: NativeHistogram): NativeHistogram {
  return {
    ...h,
    count: h.count + 5,
    positiveSpans: [...h.positiveSpans, { offset: 40 - 9, length: 1 }],
    positiveBuckets: [...h.positiveBuckets, 5],
  };
}

function send(url: string, points: { t: number; h: NativeHistogram }[]): Promise<void> {
  return postRemoteWrite(
    url,
    encodeRemoteWriteBody({
      series: [{
        labels: [{ name: "__name__", value: "rpc_latency" }, { name: "job", value: "api" }],
        t: [],
        v: [],
        histograms: points,
      }],
    }),
  );
}

/** The tooltip text of the heatmap cell under (fx, fy), fractions of the plot area. */
const HOVER = (fx: number, fy: number) =>
  `(() => {
  const o = document.querySelector('[data-panel-id="1"] .u-over');
  if (!o) return null;
  const r = o.getBoundingClientRect();
  const opts = { bubbles: true, clientX: r.x + r.width * ${fx}, clientY: r.y + r.height * ${fy} };
  o.dispatchEvent(new MouseEvent("mouseenter", opts));
  o.dispatchEvent(new MouseEvent("mousemove", opts));
  const tip = document.querySelector('[data-panel-id="1"] .chart-tooltip');
  if (!tip || tip.hidden) return null;
  return { t: Number(tip.dataset.t), name: tip.querySelector('.tt-name')?.textContent,
    value: tip.querySelector('.tt-val')?.textContent };
})()`;

Deno.test({
  name: "native histograms in Chromium: heatmap panel, tooltip = API, live bucket, Explore",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    requireBinary(CHROMIUM, "chromium");
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const [perch, b] = await Promise.all([startRealPerch({ "lat.json": LAT }), Browser.launch()]);
    const url = perch.url;
    const unit = resolveUnit(undefined, EXPR);
    const instant = async (q: string, at: number) => {
      const j = await perch.getJson<{ data: { result: { histogram?: [number, Wire] }[] } }>(
        `/api/v1/query?query=${encodeURIComponent(q)}&time=${at}`,
      );
      return j.data.result[0]?.histogram?.[1];
    };
    const bucketName = (lo: string, hi: string) =>
      `${formatValue(Number(lo), unit)} – ${
        hi === "+Inf" ? "+Inf" : formatValue(Number(hi), unit)
      }`;
    try {
      // 30 minutes of a growing counter histogram every 15 s; the last 3 minutes unchanged.
      const now = Date.now();
      const points = [];
      for (let k = 0; k <= 120; k++) {
        points.push({ t: now - (120 - k) * 15_000 - 1000, h: testHistogram(Math.min(k, 108)) });
      }
      await send(url, points);

      await t.step(
        "the heatmap panel draws the buckets; a cell's tooltip is the API's bucket",
        async () => {
          await b.goto(`${url}/d/lat?refresh=1s`);
          await b.waitFor(`document.querySelector('[data-panel-id="1"]').dataset.status === "ok"`);
          await b.waitFor(
            `${inkedPixels('[data-panel-id="1"]')} > 200`,
            10_000,
            "the heatmap to draw",
          );
          for (const [fx, fy] of [[0.5, 0.5], [0.3, 0.8], [0.7, 0.2]]) {
            const tip = await b.waitFor<{ t: number; name: string; value: string }>(
              HOVER(fx!, fy!),
              5000,
              "a tooltip",
            );
            const h = await instant(EXPR, tip.t);
            assert.ok(h, `a histogram at ${tip.t}`);
            const row = (h.buckets ?? []).find(([, lo, hi]) => bucketName(lo, hi) === tip.name);
            assert.equal(tip.value, formatValue(row ? Number(row[3]) : 0, "", 2), tip.name);
          }
          await b.screenshot(`${ARTIFACTS}perch-native-heatmap.png`);
        },
      );

      await t.step(
        "a bucket pushed now reaches the heatmap over /ws without a reload",
        async () => {
          await b.eval(`window.__marker = 7`);
          await b.waitFor(
            `document.querySelector('[data-testid="live-state"]').textContent.includes("live")`,
          );
          await send(url, [{ t: Date.now(), h: withFarBucket(testHistogram(108)) }]);
          const far = bucketName(String(2 ** (39 / 8)), "32");
          await b.waitFor(
            `(${HOVER(0.995, 0.01)})?.name === ${JSON.stringify(far)}`,
            15_000,
            `the top row to be ${far}`,
          );
          assert.equal(await b.eval(`window.__marker`), 7, "the page was not reloaded");
        },
      );

      await t.step("Explore draws a heatmap and lists count, sum and buckets", async () => {
        await b.goto(`${url}/explore?q=rpc_latency&from=now-30m&to=now`);
        await b.waitFor(
          `${inkedPixels('[data-testid="explore-heatmap"]')} > 200`,
          10_000,
          "a heatmap",
        );
        // Only histograms: a heatmap and no empty line chart.
        assert.equal(await b.eval(`document.querySelectorAll(".explore-chart").length`), 1);
        const last = await instant("rpc_latency", Date.now() / 1000);
        assert.ok(last);
        const exploreUnit = resolveUnit("", "rpc_latency");
        assert.equal(
          await b.eval(`document.querySelector('[data-testid="histogram-last"]').textContent`),
          `count ${formatValue(Number(last.count), "")} · sum ${
            formatValue(Number(last.sum), exploreUnit)
          }`,
        );
        const n = last.buckets!.length;
        assert.equal(
          await b.eval(`document.querySelector('.hist-buckets summary').textContent`),
          `${n} buckets`,
        );
        assert.equal(
          await b.eval(`document.querySelectorAll('[data-testid="histogram-buckets"] tr').length`),
          n,
        );
        await b.screenshot(`${ARTIFACTS}perch-native-explore.png`);
      });

      await t.step("no console errors", () => {
        assert.deepEqual(b.errors, []);
      });
    } finally {
      await b.close();
      await perch.close();
    }
  },
});
