/**
 * Child process of crash_test.ts: opens the database in `Deno.args[0]` and
 * appends batches forever, starting at batch id `Deno.args[1]`. Each batch
 * holds 50 samples of each of 3 series, all with value = batch id; after a
 * batch is acknowledged its id is printed as `ack <id>`. Small block windows
 * and a fast background loop make flushes, WAL checkpoints and compactions
 * happen while the parent kills the process.
 */
import { SampleBatch, toLabels } from "../../core/model/mod.ts";
import { openDB } from "../../core/tsdb/mod.ts";

export const T0 = 1_700_000_000_000;
export const PER_SERIES = 50;
export const HOSTS = ["a", "b", "c"];

/** Timestamp of sample j of batch `id`. */
export function tsOf(id: number, j: number): number {
  return T0 + id * 1000 + j * 10;
}

if (import.meta.main) {
  const [dir, startArg] = Deno.args;
  const db = await openDB({
    dir,
    blockRangeMs: 20_000,
    outOfOrderWindowMs: Infinity,
    futureToleranceMs: Infinity,
    backgroundIntervalMs: 50,
    deleteGraceMs: 0,
    downsampling: [], // the test checks every raw sample of old windows
  });
  const enc = new TextEncoder();
  for (let id = Number(startArg);; id++) {
    const b = new SampleBatch(PER_SERIES * HOSTS.length);
    for (const host of HOSTS) {
      const ref = b.addSeries(toLabels("crash", { host }), host);
      for (let j = 0; j < PER_SERIES; j++) b.add(ref, tsOf(id, j), id);
    }
    // Several appends in flight, acknowledged as each resolves.
    await db.append(b);
    Deno.stdout.writeSync(enc.encode(`ack ${id}\n`));
  }
}
