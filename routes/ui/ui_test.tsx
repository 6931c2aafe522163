import assert from "node:assert/strict";
import { DashboardStore } from "../../core/dashboards/mod.ts";
import { uiRoutes } from "./mod.tsx";

const home = () =>
  Promise.resolve({
    health: { status: "healthy" as const, timestamp: new Date(0).toISOString(), checks: {} },
    startedAt: new Date(0),
    dataDir: "/tmp",
    listen: "x",
  });

Deno.test("dashboard page renders the grid on the server with text escaped", async () => {
  using kv = await Deno.openKv(":memory:");
  const dashboards = new DashboardStore(kv);
  await dashboards.create({
    id: "x",
    title: "<script>alert(1)</script>",
    panels: [{
      id: 1,
      type: "stat",
      title: "<img src=x onerror=alert(2)>",
      gridPos: { x: 2, y: 1, w: 6, h: 4 },
      targets: [{ expr: 'up{a="</script>"}' }],
    }],
  });
  const app = uiRoutes({ homeData: home, dashboards, now: () => 1_700_000_000_000 });
  const r = await app.request("/d/x?from=now-15m&var-x=1");
  assert.equal(r.status, 200);
  const html = await r.text();
  assert.doesNotMatch(html, /<script>alert/);
  assert.doesNotMatch(html, /<img src=x/);
  assert.match(html, /&lt;script>alert\(1\)&lt;\/script>|&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  // The panel sits on the grid already (no jump when the island hydrates).
  assert.match(html, /grid-column:\s*3 \/ span 6/);
  assert.match(html, /\/static\/dash\.js\?v=/);
  // The URL's range reaches the island's props.
  assert.match(html, /now-15m/);
  assert.equal((await app.request("/d/nope")).status, 404);
});

Deno.test("list pages render and load the light bundle", async () => {
  using kv = await Deno.openKv(":memory:");
  const app = uiRoutes({ homeData: home, dashboards: new DashboardStore(kv) });
  for (const path of ["/", "/dashboards", "/alerts", "/targets", "/status", "/explore?q=up"]) {
    const r = await app.request(path);
    assert.equal(r.status, 200, path);
    const html = await r.text();
    assert.match(
      html,
      path.startsWith("/explore") ? /\/static\/dash\.js/ : /\/static\/app\.js/,
      path,
    );
  }
  const js = await app.request("/static/dash.js", { headers: { "accept-encoding": "gzip" } });
  assert.equal(js.headers.get("content-encoding"), "gzip");
  // The dashboard page's JS budget: 120 KB gzip.
  assert.ok((await js.arrayBuffer()).byteLength < 120 * 1024);
});
