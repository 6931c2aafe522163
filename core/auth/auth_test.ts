import assert from "node:assert/strict";
import { authSchema } from "../config/mod.ts";
import { sha256Hex } from "../model/mod.ts";
import { Authenticator, constantTimeEqual } from "./auth.ts";

const basic = (u: string, p: string) => "Basic " + btoa(`${u}:${p}`);

function auth() {
  return new Authenticator(authSchema.parse({
    read: { users: [{ username: "viewer", password_sha256: sha256Hex("view-pass") }] },
    write: { tokens: [{ token: "write-token-0123456789" }] },
    admin: { users: [{ username: "root", password: "admin-pass" }] },
  }));
}

Deno.test("Authenticator refuses missing or wrong credentials with 401", () => {
  const a = auth();
  for (const scope of ["read", "write", "admin"] as const) {
    const r = a.check(scope, undefined);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.status, 401);
  }
  assert.equal(a.check("read", basic("viewer", "wrong")).ok, false);
  assert.equal(a.check("read", basic("nobody", "view-pass")).ok, false);
  assert.equal(a.check("write", "Bearer nope").ok, false);
});

Deno.test("Authenticator accepts each scope's credentials, hashed or plain, and admin everywhere", () => {
  const a = auth();
  assert.deepEqual(a.check("read", basic("viewer", "view-pass")), {
    ok: true,
    principal: "viewer",
  });
  assert.equal(a.check("write", "Bearer write-token-0123456789").ok, true);
  assert.equal(a.check("admin", basic("root", "admin-pass")).ok, true);
  assert.equal(a.check("read", basic("root", "admin-pass")).ok, true);
  assert.equal(a.check("write", basic("root", "admin-pass")).ok, true);
});

Deno.test("Authenticator answers 403 for credentials of another scope", () => {
  const a = auth();
  const r = a.check("admin", basic("viewer", "view-pass"));
  assert.equal(!r.ok && r.status, 403);
  const w = a.check("read", "Bearer write-token-0123456789");
  assert.equal(!w.ok && w.status, 403);
});

Deno.test("Authenticator is open by default; once a scope has credentials the others close unless open: true", () => {
  assert.equal(new Authenticator(authSchema.parse(undefined)).open, true);
  assert.deepEqual(new Authenticator(authSchema.parse(undefined)).openScopes(), [
    "write",
    "read",
    "admin",
  ]);
  const token = "x".repeat(20);
  // Only admin configured: read and write are closed too, admin credentials pass everywhere.
  const a = new Authenticator(authSchema.parse({ admin: { tokens: [{ token }] } }));
  assert.deepEqual(a.openScopes(), []);
  for (const scope of ["read", "write", "admin"] as const) {
    const r = a.check(scope, undefined);
    assert.equal(!r.ok && r.status, 401, scope);
    assert.equal(a.check(scope, `Bearer ${token}`).ok, true, scope);
  }
  // open: true keeps a scope without credentials open.
  const b = new Authenticator(authSchema.parse({
    admin: { tokens: [{ token }] },
    read: { open: true },
  }));
  assert.deepEqual(b.openScopes(), ["read"]);
  assert.equal(b.check("read", undefined).ok, true);
  assert.equal(b.check("write", undefined).ok, false);
});

Deno.test("authSchema names the path of bad entries", () => {
  const r = authSchema.safeParse({
    read: { users: [{ username: "a" }], tokens: [{ token_sha256: "xyz" }] },
    tls: { cert_file: "c.pem" },
  });
  assert.equal(r.success, false);
  const paths = r.error!.issues.map((i) => i.path.join("."));
  assert.ok(paths.includes("read.users.0"), paths.join());
  assert.ok(paths.includes("read.tokens.0.token_sha256"), paths.join());
  assert.ok(paths.includes("tls.key_file"), paths.join());
});

Deno.test("constantTimeEqual() compares contents and lengths", () => {
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0)), false);
});
