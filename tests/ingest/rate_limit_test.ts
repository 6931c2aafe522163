/**
 * Per-source ingest rate limits through a real Perch child: two sources
 * (two write tokens) push; the one over its rate gets 429 with Retry-After,
 * the other is untouched, and exactly what was acknowledged is stored.
 */
import assert from "node:assert/strict";
import { spawnWithConfig } from "../_perch.ts";

const TOKEN_A = "source-a-token-0123456789";
const TOKEN_B = "source-b-token-0123456789";

Deno.test("a source over its ingest rate gets 429 + Retry-After; another source is untouched", async () => {
  const perch = await spawnWithConfig(
    `auth:
  write: { tokens: [{ token: ${TOKEN_A} }, { token: ${TOKEN_B} }] }
  read: { open: true }
limits:
  ingest_rate_per_source: 100
  ingest_burst_per_source: 200
`,
  );
  const t0 = Date.now() - 3_000_000;
  let next = 0;
  const push = async (token: string, source: string) => {
    const samples = Array.from(
      { length: 150 },
      () => ({ value: 1, timestamp: t0 + 1000 * next++ }),
    );
    const res = await fetch(`${perch.url}/api/v1/metrics`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: "pushed", labels: { source }, samples }),
    });
    return {
      status: res.status,
      retryAfter: res.headers.get("retry-after"),
      body: await res.json(),
    };
  };
  try {
    const a: number[] = [], b: number[] = [];
    let refusal;
    for (let i = 0; i < 4; i++) {
      const r = await push(TOKEN_A, "a");
      a.push(r.status);
      if (r.status === 429) refusal = r;
    }
    for (let i = 0; i < 2; i++) b.push((await push(TOKEN_B, "b")).status);
    // A: 200 in the bucket, 150 + 150 accepted (the second goes into debt), then refused.
    assert.deepEqual(a.slice(0, 3), [200, 200, 429]);
    assert.equal(a[3], 429);
    assert.ok(Number(refusal!.retryAfter) >= 1, `Retry-After ${refusal!.retryAfter}`);
    assert.match(refusal!.body.errors[0].message, /limits\.ingest_rate_per_source/);
    assert.deepEqual(b, [200, 200]);
    // Exactly what was acknowledged is stored.
    const q = await (await fetch(
      `${perch.url}/api/v1/query?${new URLSearchParams({
        query: "sum by (source) (count_over_time(pushed[1h]))",
      })}`,
    )).json();
    const stored = Object.fromEntries(
      q.data.result.map((r: { metric: { source: string }; value: [number, string] }) => [
        r.metric.source,
        Number(r.value[1]),
      ]),
    );
    assert.deepEqual(stored, { a: 300, b: 300 });
    const metrics = await (await fetch(`${perch.url}/metrics`)).text();
    assert.match(metrics, /perch_ingest_rate_limited_requests_total 2/);
  } finally {
    assert.equal(await perch.stop(), 0);
    await Deno.remove(perch.dir, { recursive: true }).catch(() => {});
  }
});
