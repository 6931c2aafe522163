import assert from "node:assert/strict";
import { importGrafana } from "./grafana.ts";
import type { NestedPanel } from "./schema.ts";

// A trimmed dashboard in the shape of the community "Node Exporter Full".
const NODE = {
  __inputs: [{ name: "DS_PROMETHEUS", type: "datasource", pluginId: "prometheus" }],
  uid: "rYdddlPWk",
  title: "Node Exporter Full",
  tags: ["linux"],
  time: { from: "now-24h", to: "now" },
  refresh: "1m",
  templating: {
    list: [
      { name: "DS_PROMETHEUS", type: "datasource", query: "prometheus" },
      {
        name: "job",
        type: "query",
        query: { query: "label_values(node_uname_info, job)", refId: "A" },
        current: { value: "node" },
      },
      {
        name: "node",
        type: "query",
        query: 'label_values(node_uname_info{job="$job"}, instance)',
        multi: true,
        includeAll: true,
        current: { value: ["$__all"] },
      },
      { name: "diskdevices", type: "custom", query: "sda,sdb" },
      { name: "q", type: "query", query: "query_result(up)" },
    ],
  },
  panels: [
    {
      id: 20,
      type: "gauge",
      title: "CPU Busy",
      gridPos: { x: 0, y: 0, w: 6, h: 4 },
      datasource: { type: "prometheus", uid: "${DS_PROMETHEUS}" },
      fieldConfig: {
        defaults: {
          unit: "percent",
          decimals: 1,
          min: 0,
          max: 100,
          thresholds: {
            steps: [{ value: null, color: "green" }, {
              value: 85,
              color: "rgba(245, 54, 54, 0.9)",
            }],
          },
        },
      },
      targets: [{
        expr:
          '100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle",instance=~"$node"}[$__rate_interval])))',
        refId: "A",
      }],
    },
    {
      type: "row",
      title: "Memory",
      collapsed: true,
      gridPos: { x: 0, y: 4, w: 24, h: 1 },
      panels: [{
        id: 78,
        type: "timeseries",
        title: "Memory Basic",
        gridPos: { x: 0, y: 5, w: 12, h: 7 },
        fieldConfig: { defaults: { unit: "bytes" }, overrides: [{ matcher: {} }] },
        options: {
          legend: { calcs: ["mean", "max", "lastNotNull", "variance"], showLegend: true },
        },
        targets: [
          {
            expr: 'node_memory_MemTotal_bytes{instance=~"$node"}',
            legendFormat: "RAM Total",
            refId: "A",
          },
          { expr: "sum(", refId: "B" },
          { expr: "up", refId: "C", datasource: { type: "loki" } },
        ],
      }],
    },
    {
      id: 21,
      type: "graph",
      title: "Net",
      bars: true,
      lines: false,
      gridPos: { x: 6, y: 0, w: 18, h: 4 },
      yaxes: [{ format: "Bps" }],
      legend: { show: true, max: true, current: true },
      targets: [{ expr: "rate(node_network_receive_bytes_total[$__interval_ms])", refId: "A" }],
    },
    {
      id: 22,
      type: "text",
      title: "Notes",
      gridPos: { x: 0, y: 12, w: 6, h: 3 },
      options: { mode: "markdown", content: "# Runbook\nCall Bob." },
    },
  ],
};

Deno.test("importGrafana() maps a node_exporter-style dashboard onto Perch panels", () => {
  const r = importGrafana(NODE);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const d = r.dashboard;
  assert.equal(d.id, "rydddlpwk");
  assert.equal(d.refresh, "1m");
  assert.deepEqual(d.time, { from: "now-24h", to: "now" });
  assert.deepEqual(d.variables.map((v) => v.name), ["job", "node", "diskdevices"]);
  const node = d.variables[1]!;
  assert.equal(node.type, "query");
  assert.ok(node.multi && node.includeAll);
  assert.deepEqual(node.current, ["$__all"]);

  const byTitle: Record<string, NestedPanel> = Object.fromEntries(
    d.panels.flatMap((p): NestedPanel[] => [p, ...(p.panels ?? [])]).map((p) => [p.title, p]),
  );
  // The collapsed row keeps its panel inside it.
  const row = d.panels.find((p) => p.title === "Memory")!;
  assert.equal(row.type, "row");
  assert.equal(row.collapsed, true);
  assert.deepEqual(row.panels!.map((p) => p.title), ["Memory Basic"]);
  assert.ok(!d.panels.some((p) => p.title === "Memory Basic"), "not on the top level");
  const cpu = byTitle["CPU Busy"]!;
  assert.equal(cpu.type, "gauge");
  assert.equal(cpu.options.unit, "percent");
  assert.equal(cpu.options.decimals, 1);
  assert.deepEqual(cpu.options.thresholds, [{ value: 0, color: "green" }, {
    value: 85,
    color: "#f53636",
  }]);
  const mem = byTitle["Memory Basic"]!;
  assert.equal(mem.type, "line");
  assert.equal(mem.options.unit, "bytes");
  assert.deepEqual(mem.targets.map((t) => t.refId), ["A"]);
  assert.deepEqual(mem.options.legend.calcs, ["avg", "max", "last"]);
  assert.equal(byTitle["Net"]!.type, "bar");
  assert.equal(byTitle["Net"]!.options.unit, "bytes_per_second");
  assert.deepEqual(byTitle["Net"]!.options.legend.calcs, ["max", "last"]);
  assert.equal(byTitle["Notes"]!.type, "text");
  assert.equal(byTitle["Notes"]!.options.content, "# Runbook\nCall Bob.");

  const u = r.unsupported.join("\n");
  for (
    const want of [
      /variable "DS_PROMETHEUS": datasource/,
      /variable "q": query "query_result\(up\)"/,
      /panel "Memory Basic" target B: query does not parse/,
      /panel "Memory Basic" target C: non-Prometheus/,
      /legend calculation "variance"/,
      /override matcher "undefined" is not supported/,
    ]
  ) assert.match(u, want);
});

Deno.test("importGrafana() resolves overlaps and duplicate ids and rejects pre-5.0 rows", () => {
  const r = importGrafana({
    title: "Dup",
    panels: [
      { id: 1, type: "stat", gridPos: { x: 0, y: 0, w: 12, h: 4 }, targets: [{ expr: "up" }] },
      { id: 1, type: "stat", gridPos: { x: 6, y: 2, w: 30, h: 4 }, targets: [{ expr: "up" }] },
    ],
  });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.deepEqual(r.dashboard.panels.map((p) => p.id), [1, 2]);
  assert.deepEqual(r.dashboard.panels[1]!.gridPos, { x: 0, y: 4, w: 24, h: 4 });

  const old = importGrafana({ title: "Old", rows: [{ panels: [] }] });
  assert.ok(!old.ok);
  assert.equal(old.errors[0]!.path, "rows");
});
