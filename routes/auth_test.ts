import assert from "node:assert/strict";
import { Hono } from "hono";
import { Authenticator, authSchema } from "../core/auth/mod.ts";
import { authMiddleware } from "./auth.ts";

function app() {
  const a = new Authenticator(authSchema.parse({
    read: { tokens: [{ token: "read-token-0123456789" }] },
    write: { users: [{ username: "sensor", password: "s3cret-pass" }] },
    admin: { tokens: [{ token: "admin-token-0123456789" }] },
  }));
  const h = new Hono();
  h.use("*", authMiddleware(() => a));
  h.get("/api/v1/query", (c) => c.text("read ok"));
  h.post("/api/v1/write", (c) => c.text("write ok"));
  h.post("/api/v1/admin/tsdb/snapshot", (c) => c.text("admin ok"));
  h.get("/health", (c) => c.text("healthy"));
  return h;
}

Deno.test("authMiddleware() answers 401 with a challenge when credentials are missing", async () => {
  const h = app();
  for (
    const [method, path] of [["GET", "/api/v1/query"], ["POST", "/api/v1/write"], [
      "POST",
      "/api/v1/admin/tsdb/snapshot",
    ]]
  ) {
    const res = await h.request(path, { method });
    assert.equal(res.status, 401, path);
    assert.ok(res.headers.get("www-authenticate"), path);
    assert.equal((await res.json()).errorType, "unauthorized");
  }
  assert.equal((await h.request("/health")).status, 200);
});

Deno.test("authMiddleware() lets each scope's credentials through and refuses others with 403", async () => {
  const h = app();
  const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
  const r1 = await h.request("/api/v1/query", { headers: bearer("read-token-0123456789") });
  assert.equal(await r1.text(), "read ok");
  const r2 = await h.request("/api/v1/write", {
    method: "POST",
    headers: { Authorization: "Basic " + btoa("sensor:s3cret-pass") },
  });
  assert.equal(await r2.text(), "write ok");
  const r3 = await h.request("/api/v1/admin/tsdb/snapshot", {
    method: "POST",
    headers: bearer("admin-token-0123456789"),
  });
  assert.equal(await r3.text(), "admin ok");
  const r4 = await h.request("/api/v1/admin/tsdb/snapshot", {
    method: "POST",
    headers: bearer("read-token-0123456789"),
  });
  assert.equal(r4.status, 403);
});

Deno.test("every mutating route mounted by main.ts needs write or admin credentials", async () => {
  const { scopeOf } = await import("../core/auth/mod.ts");
  const mods = await Promise.all([
    import("./admin.ts").then((m) => m.adminRoutes),
    import("./api.ts").then((m) => m.apiRoutes),
    import("./dashboards.ts").then((m) => m.dashboardRoutes),
    import("./ingest.ts").then((m) => m.ingestRoutes),
    import("./notify.ts").then((m) => m.notifyRoutes),
    import("./remote.ts").then((m) => m.remoteRoutes),
    import("./rules.ts").then((m) => m.rulesRoutes),
    import("./scrape.ts").then((m) => m.scrapeRoutes),
    import("./system.ts").then((m) => m.systemRoutes),
    import("./ws.ts").then((m) => m.wsRoutes),
  ]);
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
  // Routers read their deps only when a request comes in.
  const deps = { notifier: {}, config: () => ({}) } as never;
  let checked = 0;
  for (const make of mods) {
    for (const r of (make as (d: never) => Hono)(deps).routes) {
      if (!["POST", "PUT", "PATCH", "DELETE"].includes(r.method)) continue;
      if (readOnlyPosts.has(r.path)) continue;
      const path = r.path.replace(/:[a-z]+/gi, "x").replace("*", "job/x");
      const scope = scopeOf(r.method, path);
      assert.ok(scope === "write" || scope === "admin", `${r.method} ${r.path} is ${scope}`);
      checked++;
    }
  }
  assert.ok(checked > 20, `only ${checked} routes checked`);
});
