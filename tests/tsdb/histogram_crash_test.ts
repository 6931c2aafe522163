/**
 * Native histograms survive SIGKILL: a Perch child with 10 s block windows
 * takes remote-write batches of histograms (integer, float, custom buckets)
 * whose timestamps run ahead of the clock, so windows are flushed into
 * histogram files and compacted while batches arrive; it is killed with
 * SIGKILL at random points, several times. After each restart, the export
 * holds every acknowledged histogram exactly as sent (sample by sample, in
 * the export's lossless form), and no batch is half present.
 */
import assert from "node:assert/strict";
import { encodeRemoteWriteBody } from "../../core/ingest/mod.ts";
import type { NativeHistogram } from "../../core/model/mod.ts";
import { histogramToJson } from "../../core/remote/mod.ts";
import { type KillRounds, spawnPerch, writeUntilSigkill } from "../_perch.ts";
import { postRemoteWrite } from "../_remote_write.ts";
import { customHistogram, testHistogram } from "../remote/_histograms.ts";

const KINDS = ["int", "float", "custom"] as const;

function histogramOf(kind: (typeof KINDS)[number], id: number): NativeHistogram {
  return kind === "int"
    ? testHistogram(id % 40)
    : kind === "float"
    ? testHistogram(id % 40, true)
    : customHistogram(id);
}

/** Batch `id`: one histogram of each kind at `t`. */
function body(id: number, t: number): Uint8Array {
  return encodeRemoteWriteBody({
    series: KINDS.map((kind) => ({
      labels: [{ name: "__name__", value: "crash_hist" }, { name: "kind", value: kind }],
      t: [],
      v: [],
      histograms: [{ t, h: histogramOf(kind, id) }],
    })),
  });
}

/** Exported histograms per `kind`, by timestamp, in the export's JSON form. */
async function exported(url: string, start: number) {
  const end = (start + 3_600_000) / 1000; // batches run ahead of the clock
  const res = await fetch(
    `${url}/api/v1/export?match[]=crash_hist&start=${start / 1000}&end=${end}`,
  );
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const out = new Map<string, Map<number, unknown>>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as {
      metric: Record<string, string>;
      histograms?: unknown[];
      timestamps: number[];
    };
    assert.ok(o.histograms, `a histogram line: ${line.slice(0, 200)}`);
    const m = out.get(o.metric.kind!) ?? new Map<number, unknown>();
    o.timestamps.forEach((t, i) => {
      assert.ok(!m.has(t), `one sample per timestamp (${o.metric.kind} @${t})`);
      m.set(t, o.histograms![i]);
    });
    out.set(o.metric.kind!, m);
  }
  return out;
}

Deno.test("SIGKILL while histograms are flushed and compacted loses no acknowledged one", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "perch-hist-crash-" });
  const config = `${dataDir}/perch.yml`;
  await Deno.writeTextFile(
    config,
    "storage:\n  block_range: 10s\n  downsampling: []\nself_scrape:\n  enabled: false\n",
  );
  const args = [`--config=${config}`];
  const env = { PERCH_SELF_MONITORING_RULES: "false", PERCH_HOST_METRICS__ENABLED: "false" };
  // Batch id's timestamp: one second apart, from 10 minutes ago (ahead of the clock by the end).
  const base = Date.now() - 600_000;
  const tOf = (id: number) => base + id * 1000;
  const sent: KillRounds = { attempted: new Set(), acked: new Set(), next: 0 };
  const { acked, attempted } = sent;
  let seed = 4242;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

  const check = async (url: string, round: number) => {
    const got = await exported(url, base);
    const ids = new Set<number>();
    for (const kind of KINDS) {
      for (const [t, h] of got.get(kind) ?? []) {
        const id = (t - base) / 1000;
        assert.ok(attempted.has(id), `batch ${id} was never sent`);
        assert.deepEqual(h, histogramToJson(histogramOf(kind, id)), `${kind} of batch ${id}`);
        ids.add(id);
      }
    }
    for (const id of ids) {
      for (const kind of KINDS) {
        assert.ok(got.get(kind)?.has(tOf(id)), `batch ${id} is half present (no ${kind})`);
      }
    }
    for (const id of acked) assert.ok(ids.has(id), `acknowledged batch ${id} after round ${round}`);
  };

  for (let round = 0; round < 4; round++) {
    const p = await spawnPerch({ dataDir, env, args });
    await check(p.url, round);
    // A throw is the process gone or an error answer: not acknowledged.
    await writeUntilSigkill(p, sent, async (url, id) => {
      await postRemoteWrite(url, body(id, tOf(id)));
      return true;
    }, 1500 + random() * 2500);
  }
  // A last, clean start: everything acknowledged is there, and the files were compacted.
  const p = await spawnPerch({ dataDir, env, args });
  try {
    await check(p.url, 4);
    assert.ok(acked.size > 50, `enough batches acknowledged: ${acked.size}`);
    const files = [...Deno.readDirSync(`${dataDir}/hist`)].map((e) => e.name);
    const spans = files.map((f) => {
      const [lo, hi] = f.split(".")[0]!.split("_").map(Number);
      return hi! - lo!;
    });
    assert.ok(spans.some((s) => s > 10_000), `a compacted histogram file among ${files}`);
  } finally {
    await p.stop();
  }
  await Deno.remove(dataDir, { recursive: true });
});
