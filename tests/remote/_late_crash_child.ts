/**
 * Child process for the late-sample crash test: opens the DB and remote
 * write in $DIR (endpoint "peer" → $URL, cursor at now), then appends a late
 * batch (60 s behind the cursor) and SIGKILLs itself the moment storage has
 * made it durable, before anything else runs.
 */
import { silentLogger } from "../../core/logging/mod.ts";
import { labelsKey, SampleBatch, toLabels } from "../../core/model/mod.ts";
import type { Appender } from "../../core/model/mod.ts";
import { RemoteWriteManager } from "../../core/remote/mod.ts";
import { peerConfigs } from "../../core/remote/_test_util.ts";
import { openDB } from "../../core/tsdb/mod.ts";

const dir = Deno.env.get("DIR")!;
const db = await openDB({ dir, useWorker: false, backgroundIntervalMs: 0 });
const m = await RemoteWriteManager.open({
  querier: db,
  kv: `${dir}/remote.kv`,
  logger: silentLogger(),
});
const crashing: Appender = {
  async append(b) {
    const res = await db.append(b);
    Deno.kill(Deno.pid, "SIGKILL");
    return res;
  },
  setMetadata: (n, meta) => db.setMetadata(n, meta),
};
const app = m.appender(crashing);
// As the test configures it after the restart.
await m.apply(
  peerConfigs(Deno.env.get("URL")!, { queue_config: { batch_send_deadline: "100ms" } }),
);
const now = Date.now();
const batch = new SampleBatch();
for (let k = 0; k < 20; k++) {
  const labels = toLabels("buffered", { sensor: `s${k}` });
  const ref = batch.addSeries(labels, labelsKey(labels));
  for (let i = 0; i < 10; i++) batch.add(ref, now - 60_000 + i * 1000, k * 100 + i);
}
console.log(`late ${now - 60_000}`);
await app.append(batch);
console.log("BUG: not killed");
