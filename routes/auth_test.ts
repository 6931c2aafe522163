import assert from "node:assert/strict";
import { Hono } from "hono";
import { Authenticator } from "../core/auth/mod.ts";
import { authSchema } from "../core/config/mod.ts";
import { authMiddleware } from "./auth.ts";
import { ADMIN, PUBLIC, READ, RouteScopes, WRITE } from "./scope.ts";

function app() {
  const a = new Authenticator(authSchema.parse({
    read: { tokens: [{ token: "read-token-0123456789" }] },
    write: { users: [{ username: "sensor", password: "s3cret-pass" }] },
    admin: { tokens: [{ token: "admin-token-0123456789" }] },
  }));
  const scopes = new RouteScopes();
  const h = new Hono();
  h.use("*", authMiddleware(() => a, (method, path) => scopes.of(method, path)));
  const r = new Hono();
  r.get("/api/v1/query", READ, (c) => c.text("read ok"));
  r.post("/api/v1/write", WRITE, (c) => c.text("write ok"));
  r.post("/api/v1/admin/tsdb/snapshot", ADMIN, (c) => c.text("admin ok"));
  r.get("/health", PUBLIC, (c) => c.text("healthy"));
  scopes.mount(h, r);
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
