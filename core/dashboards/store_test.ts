import assert from "node:assert/strict";
import { OVERVIEW_ID } from "./overview.ts";
import { provisionDashboards, type ProvisionSource } from "./provision.ts";
import {
  DashboardConflictError,
  DashboardNotFoundError,
  DashboardStore,
  DashboardValidationError,
} from "./store.ts";
import { validateDashboard } from "./validate.ts";
import { OVERVIEW_DASHBOARD } from "./overview.ts";

const doc = (id: string, title = id) => ({
  id,
  title,
  panels: [{ id: 1, type: "stat", gridPos: { x: 0, y: 0, w: 6, h: 4 }, targets: [{ expr: "up" }] }],
});

Deno.test("DashboardStore creates, lists, updates by version and deletes", async () => {
  using kv = await Deno.openKv(":memory:");
  const s = new DashboardStore(kv);
  const a = await s.create(doc("b-dash", "Beta"));
  await s.create(doc("a-dash", "Alpha"));
  assert.equal(a.version, 1);
  await assert.rejects(s.create(doc("b-dash")), DashboardConflictError);
  assert.deepEqual((await s.list()).map((d) => d.title), ["Alpha", "Beta"]);

  const v2 = await s.put("b-dash", { ...a, title: "Beta 2" });
  assert.equal(v2.version, 2);
  // An editor still holding version 1 is refused.
  await assert.rejects(s.put("b-dash", { ...a, title: "stale" }), DashboardConflictError);
  assert.equal((await s.get("b-dash")).title, "Beta 2");

  await assert.rejects(s.put("b-dash", { ...doc("other") }), DashboardValidationError);
  await s.delete("b-dash");
  await assert.rejects(s.get("b-dash"), DashboardNotFoundError);
  await assert.rejects(s.delete("b-dash"), DashboardNotFoundError);
});

Deno.test("DashboardStore rejects invalid documents with field errors", async () => {
  using kv = await Deno.openKv(":memory:");
  const s = new DashboardStore(kv);
  const err = await s.create({
    ...doc("x"),
    panels: [{ ...doc("x").panels[0], targets: [{ expr: "sum(" }] }],
  })
    .catch((e) => e);
  assert.ok(err instanceof DashboardValidationError);
  assert.equal(err.errors[0].path, "panels.0.targets.0.expr");
});

Deno.test("the built-in overview dashboard is valid", () => {
  const r = validateDashboard(OVERVIEW_DASHBOARD);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
});

Deno.test("provisionDashboards() loads files, reports bad ones and keeps user edits", async () => {
  using kv = await Deno.openKv(":memory:");
  const s = new DashboardStore(kv);
  const files: Record<string, string> = {
    "a.json": JSON.stringify(doc("room", "Rooms")),
    "b.json": "{ not json",
    "c.json": JSON.stringify({ ...doc("bad"), panels: [{ id: 1, type: "pie" }] }),
  };
  const src: ProvisionSource = {
    list: () => Promise.resolve(Object.keys(files).sort()),
    read: (n) => Promise.resolve(files[n]!),
  };
  const r1 = await provisionDashboards(s, src);
  assert.deepEqual(r1.loaded.sort(), [OVERVIEW_ID, "room"].sort());
  assert.deepEqual([...new Set(r1.errors.map((e) => e.file))].sort(), ["b.json", "c.json"]);
  assert.ok(r1.errors.some((e) => e.file === "c.json" && e.message.startsWith("panels.0.type")));
  assert.equal((await s.getStored("room"))!.source, "provisioned");

  // A changed file replaces the provisioned copy.
  files["a.json"] = JSON.stringify(doc("room", "Rooms v2"));
  await provisionDashboards(s, src);
  assert.equal((await s.get("room")).title, "Rooms v2");

  // Once a user saves it, provisioning leaves it alone.
  const cur = await s.get("room");
  await s.put("room", { ...cur, title: "Mine" }, "user");
  files["a.json"] = JSON.stringify(doc("room", "Rooms v3"));
  const r3 = await provisionDashboards(s, src);
  assert.deepEqual(r3.kept, ["room"]);
  assert.equal((await s.get("room")).title, "Mine");
});
