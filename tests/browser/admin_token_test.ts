/**
 * The UI and the generated admin token, in Chromium against a real Perch
 * child on a non-loopback listener: the first admin action asks for the
 * token (a prompt), succeeds with it, and the next action does not ask again.
 */
import assert from "node:assert/strict";
import { spawnPerch } from "../_perch.ts";
import { Browser, CHROMIUM } from "./_cdp.ts";
import { requireBinary } from "../_require.ts";

Deno.test({
  name: "the UI asks for the generated admin token once and then performs admin actions",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireBinary(CHROMIUM, "chromium");
    const perch = await spawnPerch({ args: ["--listen=0.0.0.0:0"] });
    const token = JSON.parse(
      await perch.waitForLog((l) => l.includes("generated an admin token")),
    ).token as string;
    const b = await Browser.launch();
    const prompts: string[] = [];
    b.on("Page.javascriptDialogOpening", (p) => {
      prompts.push(String(p.message));
      void b.send("Page.handleJavaScriptDialog", { accept: true, promptText: token });
    });
    const create = async (title: string) => {
      await b.goto(`${perch.url}/dashboards`);
      await b.waitFor(`!!document.querySelector('[data-testid="new-dash-title"]')`);
      await b.eval(`(() => { const el = document.querySelector('[data-testid="new-dash-title"]');
        el.value = ${JSON.stringify(title)};
        el.dispatchEvent(new Event("input", { bubbles: true }));
        setTimeout(() => el.form.requestSubmit(), 50); })()`);
      await b.waitFor(`location.pathname.startsWith("/d/")`, 20_000, `${title} created`);
    };
    try {
      await create("First");
      assert.equal(prompts.length, 1);
      assert.match(prompts[0]!, /admin token/);
      await create("Second");
      assert.equal(prompts.length, 1, "asked again");
      const list = await (await fetch(`${perch.url}/api/dashboards`)).json();
      const titles = JSON.stringify(list);
      assert.ok(titles.includes("First") && titles.includes("Second"), titles);
    } finally {
      await b.close();
      assert.equal(await perch.stop(), 0);
      await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
    }
  },
});
