/**
 * Secure defaults of access control, through real Perch children: a first
 * start beyond loopback without `auth` generates an admin token (file mode
 * 0600, printed once, kept across restarts) that admin actions need while
 * reads and writes stay open; once a scope has credentials the others are
 * closed unless `open: true`, and the start-up log says which scopes are open.
 */
import assert from "node:assert/strict";
import { spawnPerch } from "./_perch.ts";

const sha256Hex = async (s: string) =>
  Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s))),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");

Deno.test("first start on a non-loopback listener: admin needs the generated token, reads and writes stay open", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "perch-token-" });
  // 0.0.0.0 is not loopback; the test still talks to it over 127.0.0.1.
  const start = () => spawnPerch({ dataDir, args: ["--listen=0.0.0.0:0"] });
  let perch = await start();
  try {
    const line = await perch.waitForLog((l) => l.includes("generated an admin token"));
    const token = JSON.parse(line).token as string;
    assert.match(token, /^[0-9a-f]{64}$/);
    const st = await Deno.stat(`${dataDir}/admin_token`);
    assert.equal(st.mode! & 0o777, 0o600);
    assert.equal((await Deno.readTextFile(`${dataDir}/admin_token`)).trim(), token);
    assert.ok(
      perch.logs.some((l) => l.includes('"open_scopes":["write","read"]')),
      "open scopes logged",
    );

    const reload = (auth?: string) =>
      fetch(`${perch.url}/-/reload`, {
        method: "POST",
        headers: auth ? { authorization: auth } : {},
      }).then(async (r) => {
        await r.body?.cancel();
        return r;
      });
    const denied = await reload();
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.equal((await reload("Bearer wrong-token-0123456789")).status, 401);
    assert.equal((await reload(`Bearer ${token}`)).status, 200);
    // Reads and writes stay open, as in Prometheus.
    const push = await fetch(`${perch.url}/api/v1/metrics`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "door_open", value: 1 }),
    });
    assert.equal(push.status, 200, await push.text());
    const q = await fetch(`${perch.url}/api/v1/query?query=door_open`);
    assert.equal((await q.json()).data.result.length, 1);
    assert.equal(await perch.stop(), 0);

    // A restart keeps the token and does not print it again.
    perch = await start();
    assert.ok(!perch.logs.some((l) => l.includes(token)), "token printed again");
    assert.equal((await reload(`Bearer ${token}`)).status, 200);
    assert.equal((await reload()).status, 401);
    assert.equal(await perch.stop(), 0);

    // Rotate: delete the file and restart.
    await Deno.remove(`${dataDir}/admin_token`);
    perch = await start();
    const rotated = JSON.parse(
      await perch.waitForLog((l) => l.includes("generated an admin token")),
    ).token;
    assert.notEqual(rotated, token);
    assert.equal((await reload(`Bearer ${token}`)).status, 401);
    assert.equal((await reload(`Bearer ${rotated}`)).status, 200);
  } finally {
    await perch.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a loopback listener gets no generated token: everything stays open", async () => {
  const perch = await spawnPerch();
  try {
    const r = await fetch(`${perch.url}/-/reload`, { method: "POST" });
    await r.body?.cancel();
    assert.equal(r.status, 200);
    assert.ok(!perch.logs.some((l) => l.includes("generated an admin token")));
    assert.equal(await Deno.stat(`${perch.dataDir}/admin_token`).then(() => 1, () => 0), 0);
    assert.ok(perch.logs.some((l) => l.includes("every scope is open")));
  } finally {
    assert.equal(await perch.stop(), 0);
    await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("with admin credentials only, read and write are closed unless open: true", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-open-" });
  const admin = "admin-token-0123456789abcdef";
  const config = async (extra: string) =>
    await Deno.writeTextFile(
      `${dir}/perch.yml`,
      `auth:\n  admin:\n    tokens: [{ token_sha256: "${await sha256Hex(admin)}" }]\n${extra}`,
    );
  await config("");
  const perch = await spawnPerch({ args: [`--config=${dir}/perch.yml`], dataDir: `${dir}/data` });
  const status = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(`${perch.url}${path}`, init);
    await r.body?.cancel();
    return r.status;
  };
  const push = (auth?: string) =>
    status("/api/v1/metrics", {
      method: "POST",
      headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify({ name: "door_open", value: 1 }),
    });
  try {
    assert.ok(perch.logs.some((l) => l.includes('"open_scopes":[]')), "open scopes logged");
    assert.equal(await status("/api/v1/query?query=1"), 401);
    assert.equal(await push(), 401);
    assert.equal(
      await status("/api/v1/query?query=1", { headers: { authorization: `Bearer ${admin}` } }),
      200,
    );
    assert.equal(await push(`Bearer ${admin}`), 200);
    assert.equal(await status("/health"), 200);

    // open: true for read (reload applies it): reads open, writes still closed.
    await config("  read: { open: true }\n");
    assert.equal(
      await status("/-/reload", { method: "POST", headers: { authorization: `Bearer ${admin}` } }),
      200,
    );
    assert.equal(await status("/api/v1/query?query=1"), 200);
    assert.equal(await push(), 401);
    assert.ok(perch.logs.some((l) => l.includes('"open_scopes":["read"]')), "open scopes logged");
  } finally {
    assert.equal(await perch.stop(), 0);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
