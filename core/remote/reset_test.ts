import { silentLogger } from "../logging/mod.ts";
import { parseRemoteWriteConfigs } from "./config.ts";
import { RemoteWriteManager } from "./manager.ts";
import { batchOf, fakeReceiver, tempDB, waitFor } from "./_test_util.ts";

Deno.test("remote write with a replaced remote.kv re-sends from the oldest stored sample (missingCursorFrom)", async () => {
  const peer = await fakeReceiver();
  const { db, dir } = await tempDB();
  const now = Date.now();
  // Three hours back: older than the default backfill, so only missingCursorFrom reaches it.
  const ts = Array.from({ length: 30 }, (_, i) => now - 3 * 3_600_000 + i * 60_000);
  await db.append(batchOf("old", 2, ts));
  const r = parseRemoteWriteConfigs([{
    url: peer.url,
    name: "peer",
    metadata_config: { send: false },
    queue_config: { batch_send_deadline: "50ms", settle_delay: "0s", max_rate: 0 },
  }]);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  const m = await RemoteWriteManager.open({
    querier: db,
    kv: `${dir}/remote.kv`,
    logger: silentLogger(),
    missingCursorFrom: () => db.minTime() ?? 0,
  });
  m.appender(db);
  await m.apply(r.configs);
  await waitFor(() => peer.total() === 60, 15_000, "everything stored is sent").catch((e) => {
    throw new Error(`${e.message}: got ${peer.total()}, ${JSON.stringify(m.stats())}`);
  });
  await m.close();
  await db.close();
  await peer.close();
});
