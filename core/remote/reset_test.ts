import { batchOf, peerConfigs, runRemoteWrite, waitFor } from "./_test_util.ts";

Deno.test("remote write with a replaced remote.kv re-sends from the oldest stored sample (missingCursorFrom)", async () => {
  const now = Date.now();
  // Three hours back: older than the default backfill, so only missingCursorFrom reaches it.
  const ts = Array.from({ length: 30 }, (_, i) => now - 3 * 3_600_000 + i * 60_000);
  const { peer, m, close } = await runRemoteWrite(peerConfigs, {
    seed: (db) => db.append(batchOf("old", 2, ts)),
    manager: (db) => ({ missingCursorFrom: () => db.minTime() ?? 0 }),
  });
  await waitFor(() => peer.total() === 60, 15_000, "everything stored is sent").catch((e) => {
    throw new Error(`${e.message}: got ${peer.total()}, ${JSON.stringify(m.stats())}`);
  });
  await close();
});
