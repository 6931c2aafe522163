/**
 * Child process for the SIGKILL test: opens the DB in $DIR and remote-writes
 * to $URL at $RATE samples/s (0 = unlimited), printing `start <cursor>` and
 * then `sent <n>` lines.
 */
import { silentLogger } from "../../core/logging/mod.ts";
import { parseRemoteWriteConfigs, RemoteWriteManager } from "../../core/remote/mod.ts";
import { openDB } from "../../core/tsdb/mod.ts";

const dir = Deno.env.get("DIR")!;
const db = await openDB({ dir, useWorker: false, backgroundIntervalMs: 0 });
const kv = await Deno.openKv(`${dir}/remote.kv`);
const cursor = (await kv.get<{ t: number }>(["remote", "cursor", "vm"])).value;
const r = parseRemoteWriteConfigs([{
  url: Deno.env.get("URL")!,
  name: "vm",
  backfill: "1h",
  metadata_config: { send: false },
  queue_config: {
    batch_send_deadline: "100ms",
    settle_delay: "0s",
    max_samples_per_send: 250,
    max_shards: 2,
    max_rate: Number(Deno.env.get("RATE") ?? "0"),
  },
}]);
if (!r.ok) throw new Error(r.errors.join("\n"));
const m = await RemoteWriteManager.open({ querier: db, kv, logger: silentLogger() });
m.appender(db);
await m.apply(r.configs);
console.log(`start ${cursor?.t ?? 0}`);
setInterval(() => console.log(`sent ${m.stats()[0]!.samplesSent}`), 100);
Deno.addSignalListener("SIGTERM", async () => {
  await m.close();
  kv.close();
  await db.close();
  Deno.exit(0);
});
