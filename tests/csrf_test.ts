/**
 * CSRF through plain HTTP against a real Perch child: every admin endpoint
 * refuses what a web page on another origin can send without a CORS
 * preflight (text/plain, form and multipart bodies) and any request whose
 * Origin is not Perch's own or listed in `server.cors_origins`; nothing
 * changes. The same requests as JSON from Perch's own origin, from a listed
 * origin or from a non-browser client (no Origin) still work. CORS on admin
 * endpoints is never `*`.
 */
import assert from "node:assert/strict";
import { spawnWithConfig } from "./_perch.ts";

const EVIL = "http://evil.example:8666";
const FRIEND = "http://grafana.example:3000";

/** One admin action with a valid JSON body and the status it answers when allowed. */
interface Action {
  readonly path: string;
  readonly body: unknown;
  readonly ok: number;
}

function actions(now: number): Action[] {
  const silence = {
    matchers: [{ name: "alertname", value: "CsrfTest", isRegex: false, isEqual: true }],
    startsAt: new Date(now).toISOString(),
    endsAt: new Date(now + 3_600_000).toISOString(),
    createdBy: "csrf",
    comment: "csrf",
  };
  return [
    { path: "/api/v2/silences", body: silence, ok: 200 },
    { path: "/api/v1/silences", body: silence, ok: 200 },
    {
      path: "/api/v1/alerts",
      body: { name: "CsrfRule", expression: "up", operator: "lt", threshold: 1 },
      ok: 201,
    },
    { path: "/api/v1/scrape", body: { url: "http://127.0.0.1:9/metrics", job: "csrf" }, ok: 201 },
    { path: "/api/dashboards", body: { id: "csrf", title: "CSRF" }, ok: 201 },
    { path: "/-/reload", body: {}, ok: 200 },
    { path: "/api/v1/admin/tsdb/flush", body: {}, ok: 200 },
    { path: "/api/v1/admin/tsdb/snapshot", body: {}, ok: 200 },
    { path: "/api/v1/admin/health/ack", body: {}, ok: 200 },
  ];
}

Deno.test("admin endpoints refuse cross-origin and non-JSON requests and change nothing", async () => {
  const perch = await spawnWithConfig(`server:\n  cors_origins: ["${FRIEND}"]\n`);
  const state = async () => ({
    silences: (await (await fetch(`${perch.url}/api/v2/silences`)).json()).length,
    rules: JSON.stringify(await (await fetch(`${perch.url}/api/v1/rules`)).json()).includes(
      "CsrfRule",
    ),
    targets: (await (await fetch(`${perch.url}/api/v1/scrape`)).json()).targets.length,
    dashboards: JSON.stringify(await (await fetch(`${perch.url}/api/dashboards`)).json())
      .includes('"csrf"'),
    reloads: /perch_config_reloads_total\{result="success"\} [1-9]/.test(
      await (await fetch(`${perch.url}/metrics`)).text(),
    ),
    snapshots: await Deno.stat(`${perch.dataDir}/snapshots`).then(() => true, () => false),
  });
  try {
    const before = await state();
    assert.deepEqual(before, {
      silences: 0,
      rules: false,
      targets: 0,
      dashboards: false,
      reloads: false,
      snapshots: false,
    });
    for (const a of actions(Date.now())) {
      const json = JSON.stringify(a.body);
      const form = new FormData();
      form.set("body", json);
      const attempts: [string, RequestInit, number][] = [
        ["text/plain", { body: json, headers: { "content-type": "text/plain" } }, 415],
        [
          "form",
          {
            body: new URLSearchParams({ json }),
            headers: { "content-type": "application/x-www-form-urlencoded" },
          },
          415,
        ],
        ["multipart", { body: form }, 415],
        [
          "text/plain from another origin",
          { body: json, headers: { "content-type": "text/plain", origin: EVIL } },
          403,
        ],
        [
          "JSON from another origin",
          { body: json, headers: { "content-type": "application/json", origin: EVIL } },
          403,
        ],
        [
          "JSON from a sandboxed page",
          { body: json, headers: { "content-type": "application/json", origin: "null" } },
          403,
        ],
      ];
      for (const [what, init, want] of attempts) {
        const res = await fetch(`${perch.url}${a.path}`, { method: "POST", ...init });
        const body = await res.json();
        assert.equal(res.status, want, `${what} to ${a.path}: ${JSON.stringify(body)}`);
        assert.match(body.error, want === 415 ? /application\/json/ : /server\.cors_origins/);
      }
      // A preflight from another origin gets no CORS grant for admin endpoints.
      const pre = await fetch(`${perch.url}${a.path}`, {
        method: "OPTIONS",
        headers: {
          origin: EVIL,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      await pre.body?.cancel();
      assert.equal(pre.headers.get("access-control-allow-origin"), null, a.path);
    }
    assert.deepEqual(await state(), before);

    // Reads and ingest still allow any origin.
    const read = await fetch(`${perch.url}/api/v1/query?query=1`, { headers: { origin: EVIL } });
    await read.body?.cancel();
    assert.equal(read.status, 200);
    assert.equal(read.headers.get("access-control-allow-origin"), "*");

    // The same actions as JSON: from Perch's own origin, from a listed origin,
    // and from a client that sends no Origin (curl, amtool).
    const origins = [perch.url, FRIEND, undefined];
    let k = 0;
    for (const a of actions(Date.now())) {
      const origin = origins[k++ % origins.length];
      const res = await fetch(`${perch.url}${a.path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(origin ? { origin } : {}) },
        body: JSON.stringify(a.body),
      });
      const text = await res.text();
      assert.equal(res.status, a.ok, `${a.path} from ${origin}: ${text}`);
      if (origin === FRIEND) {
        assert.equal(res.headers.get("access-control-allow-origin"), FRIEND, a.path);
      }
    }
    // Bodyless admin calls (curl -X POST …/-/reload) need no content type.
    const bare = await fetch(`${perch.url}/-/reload`, { method: "POST" });
    await bare.body?.cancel();
    assert.equal(bare.status, 200);
    const after = await state();
    assert.equal(after.silences, 2);
    assert.equal(after.rules, true);
    assert.equal(after.targets, 1);
    assert.equal(after.dashboards, true);
    assert.equal(after.reloads, true);
    assert.equal(after.snapshots, true);
  } finally {
    assert.equal(await perch.stop(), 0);
    await Deno.remove(perch.dir, { recursive: true }).catch(() => {});
  }
});
