import assert from "node:assert/strict";
import { labelsKey, newMatcher, SampleBatch, toLabels } from "../core/model/mod.ts";
import { adminRoutes } from "./admin.ts";
import { tempDB } from "../core/tsdb/mod_testing.ts";
import { loadSamples as load, NOW, sameSeries } from "./_test_storage.ts";

async function setup(dir?: string) {
  const { db, dir: d } = await tempDB(dir);
  const app = adminRoutes({ storage: db, querier: db, dataDir: d, now: () => NOW });
  return { db, app, dir: d };
}

Deno.test("POST /api/v1/admin/tsdb/snapshot makes a copy that opens with the same data", async () => {
  const { db, app, dir } = await setup();
  await load(db);
  const res = await app.request("/api/v1/admin/tsdb/snapshot", { method: "POST" });
  assert.equal(res.status, 200);
  const { data } = await res.json();
  assert.match(data.name, /^\d{8}T\d{6}Z-[0-9a-f]{16}$/);
  assert.ok(data.blocks >= 1);
  assert.equal(data.linked, data.blocks, "blocks are hard links on one filesystem");
  // Writes after the snapshot do not show in it.
  await load(db);
  const b = new SampleBatch();
  const l = toLabels("after", {});
  b.add(b.addSeries(l, labelsKey(l)), NOW, 1);
  await db.append(b);
  const all = [newMatcher("=~", "__name__", ".+")];
  const hints = { minT: 0, maxT: NOW };
  const live = (await db.select(all, hints)).filter((s) => s.labels[0]!.value !== "after");
  await db.close();
  const restored = await setup(`${dir}/snapshots/${data.name}`);
  sameSeries(await restored.db.select(all, hints), live);
  await restored.db.close();
});
