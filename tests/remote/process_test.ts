/**
 * Edge to core through real Perch processes: a Perch forwards what it
 * ingests to a real VictoriaMetrics with remote write, and exports its data
 * to a second, fresh Perch that imports it and answers the same queries.
 */
import assert from "node:assert/strict";
import { spawnPerch, spawnWithConfig } from "../_perch.ts";
import { requireBinary } from "../_require.ts";
import { startVM, VM_BIN, vmExport } from "./_peers.ts";

async function waitUntil(pred: () => Promise<boolean>, what: string, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

Deno.test({
  name: "a Perch process remote-writes what it ingests to a real VictoriaMetrics",
  async fn() {
    requireBinary(VM_BIN, "victoria-metrics");
    const vm = await startVM();
    const p = await spawnWithConfig(
      `self_scrape:
  enabled: false
host_metrics:
  enabled: false
global:
  external_labels: { site: edge1 }
remote_write:
  - url: ${vm.url}/api/v1/write
    queue_config: { batch_send_deadline: 200ms }
`,
    );
    try {
      const now = Math.floor(Date.now() / 1000) * 1000;
      const lines: string[] = [];
      for (let i = 0; i < 30; i++) {
        lines.push(`pump,unit=p${i % 3} rpm=${1000 + i} ${now - 60_000 + i * 1000}`);
      }
      const res = await fetch(`${p.url}/write?precision=ms`, {
        method: "POST",
        body: lines.join("\n"),
      });
      assert.equal(res.status, 204, await res.text());
      await waitUntil(async () => {
        const got = await vmExport(vm.url, "pump_rpm");
        let n = 0;
        for (const s of got.values()) n += s.t.length;
        return n >= 30;
      }, "30 samples on VictoriaMetrics");
      const got = await vmExport(vm.url, "pump_rpm");
      assert.equal(got.size, 3);
      const p0 = got.get('pump_rpm{site="edge1",unit="p0"}');
      assert.ok(p0, [...got.keys()].join(" "));
      assert.equal(p0.t.length, 10);
      assert.deepEqual(p0.v.slice(0, 3), [1000, 1003, 1006]);
      const metrics = await (await fetch(`${p.url}/metrics`)).text();
      assert.match(metrics, /perch_remote_write_samples_sent_total\{[^}]*\} 30/);
    } finally {
      await p.stop();
      await vm.stop();
    }
  },
});

Deno.test("export from one Perch and import into a fresh one gives identical answers", async () => {
  const a = await spawnPerch({ env: { PERCH_SELF_SCRAPE__ENABLED: "false" } });
  const b = await spawnPerch({ env: { PERCH_SELF_SCRAPE__ENABLED: "false" } });
  try {
    const now = Math.floor(Date.now() / 1000) * 1000;
    const text: string[] = ["# TYPE temp gauge"];
    for (let i = 0; i < 20; i++) {
      text.push(`temp{room="a"} ${20 + i / 4} ${now - 120_000 + i * 5000}`);
      text.push(`temp{room="b"} ${i % 2 === 0 ? "NaN" : "+Inf"} ${now - 120_000 + i * 5000}`);
    }
    let res = await fetch(`${a.url}/api/v1/import/prometheus`, {
      method: "POST",
      body: text.join("\n"),
    });
    assert.equal(res.status, 204, await res.text());
    const exported = await (await fetch(`${a.url}/api/v1/export?match[]=temp`)).text();
    assert.equal(exported.trim().split("\n").length, 2);
    res = await fetch(`${b.url}/api/v1/import`, { method: "POST", body: exported });
    assert.ok(res.ok, await res.text());
    for (const q of ["temp", "sum_over_time(temp[3m])", "count_over_time(temp[3m])"]) {
      const url = `/api/v1/query?query=${encodeURIComponent(q)}&time=${now / 1000}`;
      const ra = await (await fetch(a.url + url)).json();
      const rb = await (await fetch(b.url + url)).json();
      assert.deepEqual(rb.data, ra.data, q);
    }
    const again = await (await fetch(`${b.url}/api/v1/export?match[]=temp`)).text();
    assert.equal(again, exported);
  } finally {
    await a.stop();
    await b.stop();
  }
});
