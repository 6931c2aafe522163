import assert from "node:assert/strict";
import { openStateKv, STATE_KV_FILE, STATE_SNAPSHOT_FILE } from "./state_kv.ts";
import { IncidentLog } from "./tsdb/mod.ts";

async function garble(path: string) {
  const data = await Deno.readFile(path);
  await Deno.writeFile(path, data.map((_, i) => (i * 7919) & 255));
  for (const s of ["-wal", "-shm"]) await Deno.remove(path + s).catch(() => {});
}

Deno.test("openStateKv restores a damaged state.kv from its snapshot and reports it", async () => {
  const dir = await Deno.makeTempDir();
  let incidents = await IncidentLog.open(dir);
  let st = await openStateKv({ dataDir: dir, incidents, snapshotIntervalMs: 0 });
  await st.kv.set(["dash", "a"], { title: "A" });
  await st.snapshot();
  await st.kv.set(["dash", "b"], { title: "B" }); // after the snapshot: in the final one at close
  await st.close();
  await garble(`${dir}/${STATE_KV_FILE}`);

  incidents = await IncidentLog.open(dir);
  st = await openStateKv({ dataDir: dir, incidents, snapshotIntervalMs: 0 });
  assert.deepEqual((await st.kv.get(["dash", "a"])).value, { title: "A" });
  assert.deepEqual((await st.kv.get(["dash", "b"])).value, { title: "B" });
  assert.deepEqual(incidents.list().map((i) => i.kind), ["kv_quarantined", "state_restored"]);
  await st.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openStateKv starts empty when state.kv and its snapshot are both unreadable", async () => {
  const dir = await Deno.makeTempDir();
  let incidents = await IncidentLog.open(dir);
  let st = await openStateKv({ dataDir: dir, incidents, snapshotIntervalMs: 0 });
  await st.kv.set(["dash", "a"], { title: "A" });
  await st.close();
  await garble(`${dir}/${STATE_KV_FILE}`);
  await garble(`${dir}/${STATE_SNAPSHOT_FILE}`);
  incidents = await IncidentLog.open(dir);
  st = await openStateKv({ dataDir: dir, incidents, snapshotIntervalMs: 0 });
  assert.equal((await st.kv.get(["dash", "a"])).value, null);
  assert.deepEqual(incidents.list().map((i) => i.kind), ["kv_quarantined", "state_emptied"]);
  await st.kv.set(["dash", "c"], 1); // usable
  await st.close();
  await Deno.remove(dir, { recursive: true });
});
