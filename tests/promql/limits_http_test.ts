/**
 * Query limits through a running Perch: a query over the sample limit gets
 * Prometheus's 422 `execution` error, and the process stays healthy and
 * keeps answering.
 */
import assert from "node:assert/strict";
import { encodeRemoteWriteBody } from "../../core/ingest/mod.ts";
import { spawnPerch } from "../_perch.ts";

Deno.test("a query over max_samples gets a clear 422 and Perch stays healthy", async () => {
  const perch = await spawnPerch({ env: { PERCH_QUERY__MAX_SAMPLES: "5000" } });
  try {
    const end = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const start = end - 20 * 60_000;
    const series = [];
    for (let i = 0; i < 200; i++) {
      const t: number[] = [], v: number[] = [];
      for (let k = 0; k <= 80; k++) {
        t.push(start + k * 15_000);
        v.push(i + k);
      }
      series.push({
        labels: [{ name: "__name__", value: "load" }, { name: "i", value: `${i}` }],
        t,
        v,
      });
    }
    const w = await fetch(`${perch.url}/api/v1/write`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy" },
      body: encodeRemoteWriteBody({ series }) as Uint8Array<ArrayBuffer>,
    });
    assert.equal(w.status, 204, await w.text());

    // 200 series × 1201 steps: far over 5000 samples.
    const huge = new URLSearchParams({
      query: "load * 2",
      start: String(start / 1000),
      end: String(end / 1000),
      step: "1",
    });
    let res = await fetch(`${perch.url}/api/v1/query_range?${huge}`);
    assert.equal(res.status, 422);
    assert.deepEqual(await res.json(), {
      status: "error",
      errorType: "execution",
      error:
        "query processing would load too many samples into memory in query execution (query.max_samples: 5000)",
    });

    res = await fetch(`${perch.url}/-/healthy`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const small = new URLSearchParams({ query: 'sum(load{i=~"1|2"})', time: String(end / 1000) });
    res = await fetch(`${perch.url}/api/v1/query?${small}`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.data.result[0].value[1], String(1 + 80 + 2 + 80));
  } finally {
    assert.equal(await perch.stop(), 0);
    await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
  }
});
