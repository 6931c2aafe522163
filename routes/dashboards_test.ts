import assert from "node:assert/strict";
import { DashboardStore } from "../core/dashboards/mod.ts";
import { dashboardRoutes } from "./dashboards.ts";

const doc = {
  id: "rooms",
  title: "Rooms",
  panels: [{
    id: 1,
    type: "line",
    gridPos: { x: 0, y: 0, w: 12, h: 8 },
    targets: [{ expr: "temp" }],
  }],
};

function json(method: string, body: unknown): RequestInit {
  return { method, body: JSON.stringify(body), headers: { "content-type": "application/json" } };
}

Deno.test("dashboard API: create, get, update, list, delete", async () => {
  using kv = await Deno.openKv(":memory:");
  const app = dashboardRoutes({ store: new DashboardStore(kv) });
  let r = await app.request("/api/dashboards", json("POST", doc));
  assert.equal(r.status, 201);
  const created = await r.json();
  assert.equal(created.version, 1);
  assert.equal((await app.request("/api/dashboards", json("POST", doc))).status, 409);

  r = await app.request("/api/dashboards/rooms", json("PUT", { ...created, title: "Rooms!" }));
  assert.equal(r.status, 200);
  assert.equal((await r.json()).version, 2);
  // A stale version is refused.
  assert.equal((await app.request("/api/dashboards/rooms", json("PUT", created))).status, 409);

  r = await app.request("/api/dashboards");
  assert.deepEqual((await r.json()).dashboards.map((d: { title: string }) => d.title), ["Rooms!"]);
  assert.equal((await app.request("/api/dashboards/rooms", { method: "DELETE" })).status, 204);
  assert.equal((await app.request("/api/dashboards/rooms")).status, 404);
});

Deno.test("dashboard API: invalid documents get field errors", async () => {
  using kv = await Deno.openKv(":memory:");
  const app = dashboardRoutes({ store: new DashboardStore(kv) });
  const bad = { ...doc, panels: [{ ...doc.panels[0], targets: [{ expr: "rate(x[5m]" }] }] };
  const r = await app.request("/api/dashboards", json("POST", bad));
  assert.equal(r.status, 400);
  const b = await r.json();
  assert.equal(b.errors[0].field, "panels.0.targets.0.expr");
  const v = await (await app.request("/api/dashboards/validate", json("POST", bad))).json();
  assert.equal(v.ok, false);
  assert.equal(v.errors[0].field, "panels.0.targets.0.expr");
  assert.equal((await app.request("/api/dashboards", { method: "POST", body: "{" })).status, 400);
});

Deno.test("dashboard API: Grafana import saves and lists what was not supported", async () => {
  using kv = await Deno.openKv(":memory:");
  const app = dashboardRoutes({ store: new DashboardStore(kv) });
  const g = {
    dashboard: {
      title: "Node",
      uid: "node",
      panels: [
        { id: 2, type: "stat", gridPos: { x: 0, y: 0, w: 6, h: 4 }, targets: [{ expr: "up" }] },
        { id: 3, type: "piechart", gridPos: { x: 6, y: 0, w: 6, h: 4 } },
      ],
    },
  };
  const r = await app.request("/api/dashboards/import/grafana", json("POST", g));
  assert.equal(r.status, 201);
  const b = await r.json();
  assert.equal(b.saved, true);
  assert.match(b.unsupported.join("\n"), /piechart/);
  assert.equal((await app.request("/api/dashboards/node")).status, 200);
});
