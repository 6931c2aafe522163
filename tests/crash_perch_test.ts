/**
 * Crash safety of the whole process: a Perch child ingests batches over HTTP
 * and is killed with SIGKILL at random points, several times. After each
 * restart every acknowledged batch is fully present, and no batch is half
 * present (a batch is one request, all of it or nothing).
 */
import assert from "node:assert/strict";
import { type KillRounds, spawnPerch, writeUntilSigkill } from "./_perch.ts";

const SERIES_PER_BATCH = 40;

function batchBody(id: number, t: number): string {
  const lines: string[] = [];
  for (let s = 0; s < SERIES_PER_BATCH; s++) {
    lines.push(`crash_sample{batch="${id}",s="${s}"} ${id} ${t}`);
  }
  return lines.join("\n") + "\n";
}

/** Samples of each batch id found in storage. */
async function storedBatches(url: string, start: number): Promise<Map<number, number>> {
  const res = await fetch(`${url}/api/v1/export?match[]=crash_sample&start=${start / 1000}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const counts = new Map<number, number>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { metric: Record<string, string>; values: number[] };
    const id = Number(o.metric.batch);
    assert.deepEqual(o.values, [id], `batch ${id} holds its own value once`);
    counts.set(id, (counts.get(id) ?? 0) + o.values.length);
  }
  return counts;
}

Deno.test("SIGKILL during HTTP ingestion loses no acknowledged batch and leaves none half-written", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "perch-crash-" });
  const env = { PERCH_SELF_SCRAPE__ENABLED: "false", PERCH_SELF_MONITORING_RULES: "false" };
  const sent: KillRounds = { attempted: new Set(), acked: new Set(), next: 0 };
  const { acked, attempted } = sent;
  const base = Date.now() - 60_000;
  let seed = 12345;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

  for (let round = 0; round < 4; round++) {
    const p = await spawnPerch({ dataDir, env });
    // Check what survived the previous kill.
    const stored = await storedBatches(p.url, base);
    for (const id of acked) {
      assert.equal(
        stored.get(id),
        SERIES_PER_BATCH,
        `acknowledged batch ${id} after round ${round}`,
      );
    }
    for (const [id, n] of stored) {
      assert.ok(attempted.has(id), `batch ${id} was never sent`);
      assert.equal(n, SERIES_PER_BATCH, `batch ${id} is half present (${n} samples)`);
    }

    // Ingest from two concurrent writers until the kill.
    await writeUntilSigkill(p, sent, async (url, id) => {
      const res = await fetch(`${url}/api/v1/import/prometheus`, {
        method: "POST",
        body: batchBody(id, base + id),
      });
      await res.body?.cancel();
      return res.status === 204;
    }, 200 + Math.floor(random() * 800));
  }

  const p = await spawnPerch({ dataDir, env });
  try {
    const stored = await storedBatches(p.url, base);
    for (const id of acked) assert.equal(stored.get(id), SERIES_PER_BATCH, `batch ${id}`);
    for (const n of stored.values()) assert.equal(n, SERIES_PER_BATCH);
    assert.ok(acked.size > 20, `only ${acked.size} batches acknowledged`);
  } finally {
    await p.stop();
  }
});
