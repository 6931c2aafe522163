/**
 * Access control through a real Perch process: each scope refuses requests
 * without credentials (401), refuses another scope's credentials (403) and
 * accepts its own; probes stay public.
 */
import assert from "node:assert/strict";
import { spawnPerch } from "./_perch.ts";

const WRITE_TOKEN = "write-token-0123456789abcdef";
const READ_PASSWORD = "read-password-0123456789";

async function sha256Hex(s: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return Array.from(new Uint8Array(d)).map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("write, read and admin scopes each require their own credentials", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-auth-" });
  const config = `${dir}/perch.yml`;
  await Deno.writeTextFile(
    config,
    `auth:
  write:
    tokens: [{ token_sha256: "${await sha256Hex(WRITE_TOKEN)}" }]
  read:
    users: [{ username: grafana, password_sha256: "${await sha256Hex(READ_PASSWORD)}" }]
  admin:
    users: [{ username: admin, password: "admin-password-0123456789" }]
`,
  );
  const p = await spawnPerch({ args: [`--config=${config}`], dataDir: `${dir}/data` });
  const basic = (u: string, pw: string) => `Basic ${btoa(`${u}:${pw}`)}`;
  const status = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${p.url}${path}`, init);
    await res.body?.cancel();
    return res.status;
  };
  const push = (auth?: string) =>
    status("/api/v1/metrics", {
      method: "POST",
      headers: auth ? { authorization: auth } : {},
      body: '{"name":"door_open","value":1}',
    });
  try {
    // Probes stay public.
    assert.equal(await status("/health"), 200);
    assert.equal(await status("/-/ready"), 200);

    // Write scope.
    assert.equal(await push(), 401);
    assert.equal(await push("Bearer wrong-token-0123456789abcdef"), 401);
    assert.equal(await push(`Bearer ${WRITE_TOKEN}`), 200);

    // Read scope.
    const q = "/api/v1/query?query=door_open";
    assert.equal(await status(q), 401);
    assert.equal(await status(q, { headers: { authorization: `Bearer ${WRITE_TOKEN}` } }), 403);
    assert.equal(
      await status(q, { headers: { authorization: basic("grafana", READ_PASSWORD) } }),
      200,
    );
    assert.equal(await status("/", { headers: { authorization: basic("grafana", "nope") } }), 401);

    // Admin scope.
    assert.equal(await status("/-/reload", { method: "POST" }), 401);
    assert.equal(
      await status("/-/reload", {
        method: "POST",
        headers: { authorization: basic("grafana", READ_PASSWORD) },
      }),
      403,
    );
    assert.equal(
      await status("/-/reload", {
        method: "POST",
        headers: { authorization: basic("admin", "admin-password-0123456789") },
      }),
      200,
    );
  } finally {
    await p.stop();
  }
});
