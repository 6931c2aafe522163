import assert from "node:assert/strict";
import { displayLayout, overrideFor } from "./display.ts";
import type { Panel } from "./schema.ts";

const opts = { unit: "", thresholds: [], legend: { show: true, calcs: ["last" as const] } };
const panel = (id: number, x: number, y: number, w = 12, h = 4, extra: Partial<Panel> = {}) =>
  ({
    id,
    type: "line",
    title: `p${id}`,
    gridPos: { x, y, w, h },
    targets: [],
    options: opts,
    ...extra,
  }) as Panel;
const row = (id: number, y: number, extra: Partial<Panel> = {}) =>
  ({
    id,
    type: "row",
    title: `row${id}`,
    gridPos: { x: 0, y, w: 24, h: 1 },
    targets: [],
    options: opts,
    ...extra,
  }) as Panel;

const at = (l: ReturnType<typeof displayLayout>) =>
  l.map((d) =>
    `${d.key}@${d.gridPos.x},${d.gridPos.y},${d.gridPos.w}${d.collapsed ? " folded" : ""}`
  );

Deno.test("displayLayout() stacks sections, hides folded rows' panels and packs what follows", () => {
  const panels = [
    panel(1, 0, 0),
    row(2, 4, { collapsed: true, panels: [panel(3, 0, 50), panel(4, 12, 50)] }),
    row(5, 5),
    panel(6, 0, 6),
    panel(7, 12, 6),
  ];
  const none = { repeatValues: () => [] };
  assert.deepEqual(at(displayLayout(panels, none)), [
    "1@0,0,12",
    "2@0,4,24 folded",
    "5@0,5,24",
    "6@0,6,12",
    "7@12,6,12",
  ]);
  // Unfolding row 2 places its panels under it (not at their saved y of 50) and pushes row 5 down.
  const open = displayLayout(panels, { ...none, folded: (k) => (k === "2" ? false : undefined) });
  assert.deepEqual(at(open), [
    "1@0,0,12",
    "2@0,4,24",
    "3@0,5,12",
    "4@12,5,12",
    "5@0,9,24",
    "6@0,10,12",
    "7@12,10,12",
  ]);
});

Deno.test("displayLayout() repeats panels per value (side by side or stacked) and rows per value", () => {
  const values = (n: string) => (n === "cpu" ? ["0", "1", "2"] : n === "host" ? ["a", "b"] : []);
  const h = displayLayout([panel(1, 0, 0, 12, 4, { repeat: "cpu" }), panel(2, 0, 4)], {
    repeatValues: values,
  });
  assert.deepEqual(at(h), ["1@0,0,8", "1-r1@8,0,8", "1-r2@16,0,8", "2@0,4,12"]);
  assert.deepEqual(h.map((d) => d.scoped.cpu), [["0"], ["1"], ["2"], undefined]);

  const v = displayLayout([
    panel(1, 0, 0, 12, 4, { repeat: "cpu", repeatDirection: "v" }),
    panel(2, 12, 0),
  ], {
    repeatValues: values,
  });
  assert.deepEqual(at(v), ["1@0,0,12", "1-r1@0,4,12", "1-r2@0,8,12", "2@12,0,12"]);

  const maxed = displayLayout([
    panel(1, 0, 0, 12, 4, { repeat: "cpu", maxPerRow: 2 }),
    panel(2, 0, 4),
  ], {
    repeatValues: values,
  });
  assert.deepEqual(at(maxed), ["1@0,0,12", "1-r1@12,0,12", "1-r2@0,4,12", "2@0,8,12"]);

  const rows = displayLayout([row(1, 0, { repeat: "host" }), panel(2, 0, 1)], {
    repeatValues: values,
  });
  assert.deepEqual(at(rows), ["1@0,0,24", "2@0,1,12", "1-r1@0,5,24", "2@1-r1@0,6,12"]);
  assert.deepEqual(rows.map((d) => d.scoped.host), [["a"], ["a"], ["b"], ["b"]]);
});

Deno.test("overrideFor() applies matching overrides in order; regexes in Grafana's /…/ form", () => {
  const ov = [
    { matcher: { type: "regex" as const, value: "/.*Tx.*/" }, negativeY: true },
    { matcher: { type: "name" as const, value: "eth0 Tx" }, color: "red" },
  ];
  assert.deepEqual(overrideFor("eth0 Tx", ov), { negativeY: true, color: "red" });
  assert.deepEqual(overrideFor("eth0 Rx", ov), {});
});
