import assert from "node:assert/strict";
import { labelsKey, newMatcher, SampleBatch, toLabels } from "../model/mod.ts";
import { openDB } from "./mod.ts";

Deno.test("select() running while a flush moves windows from the head into blocks returns every sample", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-read-flush-" });
  const db = await openDB({ dir, useWorker: false, backgroundIntervalMs: 0 });
  const H = 3_600_000;
  const base = Math.floor(Date.now() / (2 * H)) * 2 * H - 20 * H;
  let total = 0;
  const short: string[] = [];
  // Each round adds samples to one of three windows, then reads everything
  // while a flush writes the head out: the read loads blocks (awaits) while
  // the flush adds a block it did not list and empties the head.
  for (let round = 0; round < 60; round++) {
    const b = new SampleBatch();
    for (let k = 0; k < 50; k++) {
      const l = toLabels("m", { k: String(k) });
      const ref = b.addSeries(l, labelsKey(l));
      for (let i = 0; i < 20; i++) {
        b.add(ref, base + (round % 3) * 2 * H + i * 100_000 + round * 1000, i);
      }
    }
    await db.append(b);
    total += b.length;
    const read = db.select([newMatcher("=", "__name__", "m")], { minT: 0, maxT: Date.now() });
    const flush = db.flush();
    const got = await read;
    await flush;
    let n = 0;
    for (const s of got) n += s.t.length;
    if (n !== total) short.push(`round ${round}: ${n} of ${total}`);
  }
  assert.deepEqual(short, []);
  await db.close();
});
