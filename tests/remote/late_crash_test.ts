/**
 * SIGKILL in the worst moment for late data: storage has made a late batch
 * durable (it is replayed at restart) and the process dies before anything
 * else runs. After the restart, remote write still sends every sample of it.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../core/logging/mod.ts";
import { newMatcher } from "../../core/model/mod.ts";
import { RemoteWriteManager } from "../../core/remote/mod.ts";
import { fakeReceiver, peerConfigs, waitFor } from "../../core/remote/_test_util.ts";
import { tempDB } from "../../core/tsdb/mod_testing.ts";

Deno.test("a late batch durable in storage when Perch is SIGKILLed is still sent after the restart", async () => {
  const peer = await fakeReceiver();
  const dir = await Deno.makeTempDir({ prefix: "perch-late-crash-" });
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_late_crash_child.ts", import.meta.url).pathname],
    env: { DIR: dir, URL: peer.url },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.signal, "SIGKILL", text + new TextDecoder().decode(out.stderr));
  assert.match(text, /^late \d+$/m);

  const { db } = await tempDB(dir);
  const stored = await db.select([newMatcher("=", "__name__", "buffered")], {
    minT: 0,
    maxT: Date.now(),
  });
  let n = 0;
  for (const s of stored) n += s.t.length;
  assert.equal(n, 200, "storage replayed the batch from its WAL");

  const m = await RemoteWriteManager.open({
    querier: db,
    kv: `${dir}/remote.kv`,
    logger: silentLogger(),
  });
  m.appender(db);
  await m.apply(peerConfigs(peer.url, { queue_config: { batch_send_deadline: "100ms" } }));
  await waitFor(() => peer.total() >= 200, 10_000, "the late batch downstream").catch((e) => {
    throw new Error(`${e.message}: ${peer.total()} of 200 samples arrived`);
  });
  assert.equal(peer.total(), 200);
  await m.close();
  await db.close();
  await peer.close();
});
