/**
 * Differential test: the same data, sent by remote write to Debian's
 * `/usr/bin/prometheus` and to a Perch child process, then the same queries
 * against both `/api/v1/query` and `/api/v1/query_range`. The JSON answers
 * must be identical: result type, label sets, timestamps and value strings
 * (in Prometheus's order where it defines one — range results, `sort`,
 * `sort_desc`, `topk`, `bottomk` — else compared sorted by labels).
 * The dataset and why it avoids 2.42-vs-3 differences: _dataset.ts.
 * Annotations (warnings/infos) are not compared: 2.42 has few of them.
 *
 * Fails when /usr/bin/prometheus is missing (.ci/run installs it).
 */
import assert from "node:assert/strict";
import { spawnPerch } from "../_perch.ts";
import { requireBinary } from "../_require.ts";
import { PROM_BIN, startPrometheus } from "../remote/_peers.ts";
import {
  ask,
  buildDataset,
  firstDifference,
  MIN,
  nearFloats,
  normalise,
  queries,
  remoteWrite,
} from "./_dataset.ts";

function assertSameUpToRounding(got: unknown, want: unknown): void {
  // Everything but the value strings (labels, timestamps, lengths) must be identical.
  const strip = (k: string, v: unknown) =>
    k === "value"
      ? [(v as unknown[])[0], "?"]
      : k === "values"
      ? (v as unknown[][]).map((p) => [p[0], "?"])
      : v;
  assert.equal(JSON.stringify(got, strip), JSON.stringify(want, strip));
  const values = (x: unknown) => {
    const out: string[] = [];
    JSON.stringify(x, (k, v) => {
      if (k === "value") out.push(v[1]);
      if (k === "values") { for (const p of v) out.push(p[1]); }
      return v;
    });
    return out;
  };
  const g = values(got), w = values(want);
  assert.equal(g.length, w.length);
  for (let i = 0; i < g.length; i++) {
    // Within 2^-48 relative: a few ulps.
    assert.ok(nearFloats(g[i]!, w[i]!, 2 ** -48), `${g[i]} vs ${w[i]}`);
  }
}

Deno.test({
  name: "Perch answers ~100 PromQL queries exactly as Prometheus does over the same data",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireBinary(PROM_BIN, "prometheus");
    const started = Date.now();
    // Recent data, so both stores accept it without out-of-order settings.
    const t0 = Math.floor((Date.now() - 55 * MIN) / MIN) * MIN;
    const data = buildDataset(t0);
    const [prom, perch] = await Promise.all([startPrometheus(), spawnPerch()]);
    try {
      await Promise.all([remoteWrite(prom.url, data), remoteWrite(perch.url, data)]);
      const list = queries();
      assert.ok(list.length >= 60 && list.length <= 150, `${list.length} queries`);
      const failures: string[] = [];
      let nonEmpty = 0;
      for (const q of list) {
        const [a, b] = await Promise.all([ask(prom.url, q, t0), ask(perch.url, q, t0)]);
        const ordered = q.ordered ?? false;
        const want = normalise(a, ordered), got = normalise(b, ordered);
        if (a.status === "success" && Array.isArray(a.result) && a.result.length > 0) nonEmpty++;
        try {
          if (q.lastBits) assertSameUpToRounding(got, want);
          else assert.deepEqual(got, want);
        } catch {
          const where = q.range
            ? `range ${q.range.from / 1000}s..${q.range.to / 1000}s step ${q.range.step / 1000}s`
            : `instant at +${q.at! / 1000}s`;
          failures.push(
            `${q.q} (${where})\n  prometheus: ${JSON.stringify(want).slice(0, 1500)}\n` +
              `  perch:      ${JSON.stringify(got).slice(0, 1500)}\n  first difference: ` +
              firstDifference(got, want),
          );
        }
      }
      console.log(
        `differential: ${list.length - failures.length}/${list.length} identical ` +
          `(${nonEmpty} non-empty) in ${Date.now() - started} ms`,
      );
      // Most answers must carry data, or the comparison proves little.
      assert.ok(nonEmpty >= list.length * 0.8, `only ${nonEmpty} non-empty answers`);
      assert.equal(failures.length, 0, failures.join("\n"));
    } finally {
      await Promise.all([prom.stop(), perch.stop()]);
      await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
      await Deno.remove(prom.dataDir, { recursive: true }).catch(() => {});
    }
  },
});
