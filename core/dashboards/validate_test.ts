import assert from "node:assert/strict";
import { validateDashboard } from "./validate.ts";

const panel = (id: number, x: number, y: number, w: number, h: number, expr = "up") => ({
  id,
  type: "line",
  title: `p${id}`,
  gridPos: { x, y, w, h },
  targets: [{ expr, refId: "A" }],
});

Deno.test("validateDashboard() fills defaults for a minimal dashboard", () => {
  const r = validateDashboard({ id: "home", title: "Home", panels: [panel(1, 0, 0, 12, 8)] });
  assert.ok(r.ok);
  assert.deepEqual(r.dashboard.time, { from: "now-6h", to: "now" });
  assert.deepEqual(r.dashboard.panels[0]!.options.legend, { show: true, calcs: ["last"] });
});

Deno.test("validateDashboard() reports every cross-field problem with its path", () => {
  const r = validateDashboard({
    id: "x",
    title: "X",
    time: { from: "yesterday", to: "now" },
    variables: [
      { type: "query", name: "host", query: "label_values(host)" },
      { type: "query", name: "host", query: "values(host)" },
    ],
    panels: [
      panel(1, 0, 0, 12, 8),
      panel(1, 20, 0, 6, 4),
      panel(3, 6, 4, 12, 8, "rate(x[5m]"),
      panel(4, 18, 20, 6, 4, 'rate(x{h=~"$host"}[$__rate_interval])'),
    ],
  });
  assert.ok(!r.ok);
  const paths = r.errors.map((e) => e.path).sort();
  assert.deepEqual(paths, [
    "panels.1.gridPos", // Beyond 24 columns.
    "panels.1.id",
    "panels.2.gridPos", // Overlaps panel 1.
    "panels.2.targets.0.expr",
    "time.from",
    "variables.1.name",
    "variables.1.query",
  ]);
  assert.match(r.errors.find((e) => e.path === "panels.2.gridPos")!.message, /overlaps panel 1/);
});

Deno.test("validateDashboard() names schema errors by field", () => {
  const r = validateDashboard({
    id: "Bad Id",
    title: "",
    panels: [{ id: 1, type: "pie", gridPos: { x: 0, y: 0, w: 30, h: 1 } }],
  });
  assert.ok(!r.ok);
  const paths = r.errors.map((e) => e.path).sort();
  assert.deepEqual(paths, ["id", "panels.0.gridPos.w", "panels.0.type", "title"]);
});
