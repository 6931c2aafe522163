import assert from "node:assert/strict";
import { Hono } from "hono";
import { adminRoutes } from "./admin.ts";
import { apiRoutes } from "./api.ts";
import { dashboardRoutes } from "./dashboards.ts";
import { ingestRoutes } from "./ingest.ts";
import { notifyRoutes } from "./notify.ts";
import { remoteRoutes } from "./remote.ts";
import { rulesRoutes } from "./rules.ts";
import { ADMIN, READ, RouteScopes, WRITE } from "./scope.ts";
import { scrapeRoutes } from "./scrape.ts";
import { systemRoutes } from "./system.ts";
import { wsRoutes } from "./ws.ts";

/** Every router main.ts mounts, in one table (routers read their deps only per request). */
function perchScopes(): RouteScopes {
  const deps = { notifier: {}, config: () => ({}) } as never;
  const scopes = new RouteScopes();
  const app = new Hono();
  for (
    const make of [
      systemRoutes,
      ingestRoutes,
      apiRoutes,
      adminRoutes,
      scrapeRoutes,
      rulesRoutes,
      notifyRoutes,
      dashboardRoutes,
      wsRoutes,
      remoteRoutes,
    ]
  ) {
    scopes.mount(app, (make as (d: never) => Hono)(deps));
  }
  return scopes;
}

Deno.test("RouteScopes.mount() refuses a route without a declared scope", () => {
  const r = new Hono();
  r.get("/api/v1/things", READ, (c) => c.text("ok"));
  r.post("/api/v1/things", (c) => c.text("changed"));
  const app = new Hono();
  assert.throws(
    () => new RouteScopes().mount(app, r),
    /^Error: Route POST \/api\/v1\/things has no declared access scope/,
  );
  assert.equal(app.routes.length, 0, "nothing of the router is mounted");
});

Deno.test("RouteScopes.mount() wants the scope first and only one scope per route", () => {
  const late = new Hono();
  late.post("/x", async (_c, next) => await next(), ADMIN, (c) => c.text("x"));
  assert.throws(() => new RouteScopes().mount(new Hono(), late), /Route POST \/x has no declared/);
  const twice = new Hono();
  twice.get("/x", READ, (c) => c.text("x"));
  twice.get("/x", ADMIN, (c) => c.text("y"));
  assert.throws(() => new RouteScopes().mount(new Hono(), twice), /declared both read and admin/);
});

Deno.test("RouteScopes.mount() refuses a router with its own onError (Hono would wrap its declarations)", () => {
  const r = new Hono();
  r.get("/x", READ, (c) => c.text("x"));
  r.onError((_e, c) => c.text("oops", 500));
  assert.throws(() => new RouteScopes().mount(new Hono(), r), /scope declarations did not reach/);
});

Deno.test("RouteScopes.of() finds the declared scope by method and path pattern", async () => {
  const scopes = new RouteScopes();
  const app = new Hono();
  const r = new Hono();
  r.get("/api/v1/items/:id", READ, (c) => c.text(`item ${c.req.param("id")}`));
  r.delete("/api/v1/items/:id", ADMIN, (c) => c.text("deleted"));
  r.put("/push/*", WRITE, (c) => c.text("pushed"));
  scopes.mount(app, r);
  assert.equal(scopes.of("GET", "/api/v1/items/7"), "read");
  assert.equal(scopes.of("HEAD", "/api/v1/items/7"), "read");
  assert.equal(scopes.of("delete", "/api/v1/items/7"), "admin");
  assert.equal(scopes.of("PUT", "/push/job/a/instance/b"), "write");
  assert.equal(scopes.of("OPTIONS", "/push/job/a"), "public");
  // No route: the request is answered 404 and needs what a read needs.
  assert.equal(scopes.of("POST", "/api/v1/items/7"), "read");
  assert.equal(scopes.of("GET", "/nowhere"), "read");
  // The routes still answer through the mounted router.
  assert.equal(await (await app.request("/api/v1/items/7")).text(), "item 7");
  assert.equal(await (await app.request("/push/job/a", { method: "PUT" })).text(), "pushed");
});

Deno.test("Perch's routes declare ingest, admin, public and read scopes", () => {
  const scopes = perchScopes();
  const f = (m: string, p: string, want: string) =>
    assert.equal(scopes.of(m, p), want, `${m} ${p}`);
  f("POST", "/api/v1/write", "write");
  f("POST", "/api/v1/import", "write");
  f("POST", "/api/v1/import/prometheus", "write");
  f("PUT", "/metrics/job/x", "write");
  f("DELETE", "/metrics/job/x", "write");
  f("POST", "/api/v1/collectd", "write");
  f("PUT", "/api/v1/admin/wipe", "admin");
  f("POST", "/api/v2/write", "write");
  f("POST", "/-/reload", "admin");
  f("POST", "/api/v1/admin/tsdb/snapshot", "admin");
  f("POST", "/api/v1/silences", "admin");
  f("POST", "/api/v1/receivers/hook/test", "admin");
  f("GET", "/api/v1/receivers", "read");
  f("DELETE", "/api/dashboards/abc", "admin");
  f("POST", "/api/dashboards/validate", "read");
  f("GET", "/api/v1/query", "read");
  f("POST", "/api/v1/query", "read");
  f("GET", "/metrics", "read");
  f("GET", "/federate", "read");
  f("GET", "/ws", "read");
  f("GET", "/health", "public");
  f("OPTIONS", "/api/v1/write", "public");
  // InfluxQL: GET reads, POST (CREATE DATABASE) writes.
  f("GET", "/query", "read");
  f("POST", "/query", "write");
});

Deno.test("Perch's routes need admin to expire a silence through Alertmanager's singular path", () => {
  const scopes = perchScopes();
  // Alertmanager v2 deletes silences at /api/v2/silence/{id}; a read token must not.
  assert.equal(scopes.of("DELETE", "/api/v2/silence/abc"), "admin");
  assert.equal(scopes.of("GET", "/api/v2/silence/abc"), "read");
});

Deno.test("every mutating route mounted by main.ts needs write or admin credentials", () => {
  // POST forms of read-only endpoints (queries, export, validation).
  const readOnlyPosts = new Set([
    "/api/v1/query",
    "/api/v1/query_range",
    "/api/v1/query_exemplars",
    "/api/v1/series",
    "/api/v1/labels",
    "/api/v1/format_query",
    "/api/v1/parse_query",
    "/api/v1/export",
    "/api/dashboards/validate",
  ]);
  let checked = 0;
  for (const [method, path, scope] of perchScopes().routes) {
    if (!["POST", "PUT", "PATCH", "DELETE"].includes(method)) continue;
    if (readOnlyPosts.has(path)) continue;
    assert.ok(scope === "write" || scope === "admin", `${method} ${path} is ${scope}`);
    checked++;
  }
  assert.ok(checked > 20, `only ${checked} routes checked`);
});
