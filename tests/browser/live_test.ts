/**
 * Live mode in a real Chromium against a real Perch: one WebSocket carries
 * every panel's updates (no HTTP query per tick), an absolute range is not
 * live, panels off-screen are paused, and a page with more than 100 panel
 * queries subscribes them all. Requests are counted with the DevTools
 * protocol's network events. Bounded: one Perch, one browser, about 30 s.
 */
import assert from "node:assert/strict";
import { Browser, CHROMIUM } from "./_cdp.ts";
import { requireBinary } from "../_require.ts";
import { line, startRealPerch, thirtyPanels } from "./_real_perch.ts";

/** 30 panels, 4 targets each (120 queries), on a 1 s refresh. */
const BIG = thirtyPanels({ from: "now-5m", refresh: "1s" }, (k) => `sensor_value{k="${k}"}`);

/** Waits (bounded) until `f()` is true on the test side. */
async function until(f: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test({
  name:
    "live mode: one socket, no HTTP per tick, absolute ranges not live, off-screen panels paused",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    requireBinary(CHROMIUM, "chromium");
    const [perch, b] = await Promise.all([
      startRealPerch({ "big.json": BIG }),
      Browser.launch({ width: 1280, height: 900 }),
    ]);
    const http: string[] = [];
    const frames: string[] = [];
    /** Panels that received a live message. */
    const liveIds = new Set<string>();
    let sockets = 0;
    try {
      const now = Date.now();
      const lines: string[] = [];
      for (let t = now - 5 * 60_000; t <= now; t += 5_000) {
        for (const k of [0, 1, 2, 3]) lines.push(line("sensor_value", { k: String(k) }, k + 1, t));
      }
      await perch.importText(lines);
      await b.send("Network.enable");
      b.on("Network.requestWillBeSent", (p) => {
        const url = String((p.request as { url: string }).url);
        if (url.includes("/api/v1/query")) http.push(url);
      });
      b.on("Network.webSocketCreated", () => sockets++);
      b.on("Network.webSocketFrameReceived", (p) => {
        const f = String((p.response as { payloadData: string }).payloadData);
        frames.push(f);
        const id = /"panelId":"(\d+):/.exec(f)?.[1];
        if (id) liveIds.add(id);
      });

      await t.step(
        "the page loads visible panels over HTTP, then only the socket updates them",
        async () => {
          await b.goto(`${perch.url}/d/big?refresh=1s`);
          await b.waitFor(`document.querySelector('[data-panel-id="1"]')?.dataset.status === "ok"`);
          await b.waitFor(
            `document.querySelector('[data-testid="live-state"]').textContent.includes("live")`,
            10_000,
            "the live socket to open",
          );
          // Let the first round of results arrive.
          await until(
            () => frames.some((f) => f.includes('"type":"result"')),
            10_000,
            "a first result",
          );
          await new Promise((r) => setTimeout(r, 1500));
          const httpBefore = http.length, framesBefore = frames.length;
          // Keep pushing so every tick has something new.
          for (let i = 0; i < 5; i++) {
            await perch.importText(
              [0, 1, 2, 3].map((k) => line("sensor_value", { k: String(k) }, 10 + i, Date.now())),
            );
            await new Promise((r) => setTimeout(r, 1000));
          }
          const ticks = frames.length - framesBefore;
          assert.ok(ticks >= 5, `socket messages in 5 s: ${ticks}`);
          assert.equal(
            http.length - httpBefore,
            0,
            `HTTP queries during live ticks: ${http.slice(httpBefore).join(" ")}`,
          );
          assert.equal(sockets, 1, "one WebSocket for the page");
          assert.equal(b.errors.length, 0, b.errors.join("\n"));
          const errors = frames.filter((f) => f.includes('"type":"error"'));
          assert.deepEqual(errors, [], "no subscription refused (120 queries on one page)");
        },
      );

      await t.step("panels below the fold are paused until scrolled into view", async () => {
        // Panel 30 is far below a 900 px viewport: not subscribed, not loaded.
        const subscribedIds = () =>
          new Set(
            frames.filter((f) => f.includes('"panelId"')).map((f) =>
              JSON.parse(f).panelId?.split(":")[0]
            ),
          );
        assert.ok(subscribedIds().has("1"));
        assert.ok(!subscribedIds().has("30"), "panel 30 is paused off-screen");
        assert.notEqual(
          await b.eval(`document.querySelector('[data-panel-id="30"]').dataset.status`),
          "ok",
        );
        await b.eval(`document.querySelector('[data-panel-id="30"]').scrollIntoView()`);
        await b.waitFor(`document.querySelector('[data-panel-id="30"]').dataset.status === "ok"`);
        await until(() => liveIds.has("30"), 10_000, "panel 30 to go live");
      });

      await t.step("after zooming to an absolute range no more updates arrive", async () => {
        const end = Date.now() - 60_000;
        await b.goto(`${perch.url}/d/big?refresh=1s&from=${end - 120_000}&to=${end}`);
        await b.waitFor(`document.querySelector('[data-panel-id="1"]')?.dataset.status === "ok"`);
        await new Promise((r) => setTimeout(r, 500));
        const before = frames.length, httpBefore = http.length;
        await new Promise((r) => setTimeout(r, 3000));
        assert.equal(frames.length - before, 0, "no live messages for an absolute range");
        assert.equal(http.length - httpBefore, 0, "no polling for an absolute range");
        assert.equal(
          await b.eval(`document.querySelector('[data-testid="live-state"]').textContent`),
          "",
        );
      });
    } finally {
      await b.close();
      await perch.close();
    }
  },
});
