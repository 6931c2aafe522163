/**
 * The dashboard editor and alerting actions in a real (headless, system)
 * Chromium against a real Perch child with a real webhook receiver: a test
 * notification sent from the Alerts page reaches the receiver.
 * Bounded: one Perch, one browser.
 */
import assert from "node:assert/strict";
import { Browser, CHROMIUM, hasChromium } from "./_cdp.ts";
import { startRealPerch } from "./_real_perch.ts";

const ARTIFACTS = new URL("../artifacts/", import.meta.url).pathname;

const q = (sel: string) => `document.querySelector(${JSON.stringify(sel)})`;

Deno.test({
  name: "editor and alerting actions in Chromium against a real Perch",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    // A missing browser is a broken test environment, not a pass.
    assert.ok(hasChromium(), `${CHROMIUM} is not installed (.ci/run installs chromium)`);
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const [perch, b] = await Promise.all([startRealPerch({}), Browser.launch()]);
    const shot = (name: string) => b.screenshot(`${ARTIFACTS}editor-${name}.png`);
    const url = perch.url;
    try {
      await t.step("a test notification from the Alerts page reaches the webhook", async () => {
        await b.goto(`${url}/alerts`);
        await b.waitFor(`${q('[data-receiver="hook"] [data-testid="test-receiver"]')}`);
        await b.eval(`${q('[data-receiver="hook"] [data-testid="test-receiver"]')}.click()`);
        const text = await b.waitFor<string>(
          `${q('[data-receiver="hook"] [data-testid="test-result"]')}?.textContent`,
        );
        assert.match(text, /webhook\[0\]: delivered/);
        // Sent at once, not after group_wait or a rule evaluation: it is there already.
        const hook = perch.hooks.find((h) =>
          h.alerts.some((a) => a.labels.alertname === "PerchTestNotification")
        );
        assert.ok(hook, JSON.stringify(perch.hooks));
        assert.equal(hook.status, "firing");
        assert.equal(hook.alerts[0]!.labels.test, "true");
        await shot("receivers");
      });
      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
      await perch.close();
    }
  },
});
