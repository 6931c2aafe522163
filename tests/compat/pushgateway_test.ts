/**
 * Perch's Pushgateway paths against the real Pushgateway (Debian's
 * prometheus-pushgateway): the same PUT, POST, syntax-error push, DELETE and
 * admin wipe go to both, and after each step the status codes and the
 * metrics a scrape of the Pushgateway would give (its `/metrics`, pushed
 * families plus push_time_seconds/push_failure_time_seconds) must equal what
 * Perch answers to an instant query. Fails when the Pushgateway is missing.
 */
import assert from "node:assert/strict";
import { freePort, spawnPerch } from "../_perch.ts";
import { requireBinary } from "../_require.ts";

const PUSHGATEWAY = "/usr/bin/prometheus-pushgateway";
const FAMILIES = /^(rows_[a-z]+|push_time_seconds|push_failure_time_seconds)$/;

/** `name{labels}` → value from the Pushgateway's exposition, `instance=""` left out as Prometheus does. */
function fromExposition(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!m || !FAMILIES.test(m[1]!)) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) {
      if (v !== "") labels[k!] = v!;
    }
    out.set(key(m[1]!, labels), m[1] === "push_time_seconds" ? "set" : String(Number(m[3])));
  }
  return out;
}

function key(name: string, labels: Record<string, string>): string {
  const rest = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`);
  return `${name}{${rest.join(",")}}`;
}

async function fromPerch(url: string): Promise<Map<string, string>> {
  const q = '{__name__=~"rows_[a-z]+|push_time_seconds|push_failure_time_seconds"}';
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`).then((x) => x.json());
  const out = new Map<string, string>();
  for (const s of r.data.result as { metric: Record<string, string>; value: [number, string] }[]) {
    const { __name__: name, ...labels } = s.metric;
    out.set(key(name!, labels), name === "push_time_seconds" ? "set" : String(Number(s.value[1])));
  }
  return out;
}

Deno.test("Pushgateway paths: PUT, POST, a broken push, DELETE and wipe end as in the real Pushgateway", async () => {
  requireBinary(PUSHGATEWAY, "prometheus-pushgateway");
  const port = freePort();
  const pgw = new Deno.Command(PUSHGATEWAY, {
    args: [`--web.listen-address=127.0.0.1:${port}`, "--web.enable-admin-api"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const pgwUrl = `http://127.0.0.1:${port}`;
  const perch = await spawnPerch();
  try {
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`${pgwUrl}/-/ready`).then(
        (r) => r.body?.cancel().then(() => r.ok),
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const steps: [string, string, string?][] = [
      ["PUT", "/metrics/job/etl", "# TYPE rows_loaded gauge\nrows_loaded 10\nrows_failed 1\n"],
      ["POST", "/metrics/job/etl", "rows_loaded 20\n"],
      ["PUT", "/metrics/job/etl/instance/b", "rows_loaded 1\nrows_skipped 4\n"],
      ["PUT", "/metrics/job/etl", "rows_loaded 30\n"],
      ["PUT", "/metrics/job/etl", "rows_loaded 40\nbroken{ 3\n"],
      ["DELETE", "/metrics/job/etl"],
      ["POST", "/metrics/job/nightly@base64/YmFja3VwL2Z1bGw", "rows_copied 7\n"],
      ["PUT", "/api/v1/admin/wipe"],
    ];
    for (const [method, path, body] of steps) {
      const send = (base: string) =>
        fetch(base + path, { method, body }).then(async (r) => {
          await r.body?.cancel();
          return r.status;
        });
      const [want, got] = await Promise.all([send(pgwUrl), send(perch.url)]);
      assert.equal(got, want, `${method} ${path}: status`);
      const expected = fromExposition(await fetch(`${pgwUrl}/metrics`).then((r) => r.text()));
      assert.deepEqual(
        Object.fromEntries([...(await fromPerch(perch.url))].sort()),
        Object.fromEntries([...expected].sort()),
        `after ${method} ${path}`,
      );
    }
  } finally {
    try {
      pgw.kill("SIGTERM");
    } catch { /* gone */ }
    await pgw.status;
    await perch.stop();
  }
});
