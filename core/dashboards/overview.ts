/**
 * The built-in "Perch overview" dashboard, provisioned on every start so a
 * fresh Perch shows its own health from the first minute (it scrapes
 * itself).
 *
 * The self-metric names it reads are the contract with core/selfmon and the
 * storage and ingest components: see {@linkcode OVERVIEW_METRICS}.
 *
 * @module
 */
import type { DashboardInput } from "./schema.ts";

/** Self-metrics the overview (and the home page) read, by role. */
export const OVERVIEW_METRICS = {
  /** Counter of samples accepted by ingestion (all protocols and scrapes). */
  ingested: "perch_ingest_samples_accepted_total",
  /** Gauge: series in storage. */
  series: "perch_tsdb_series",
  /** Gauge: bytes used on disk by the data directory. */
  disk: "perch_tsdb_disk_bytes",
  /** Counter of HTTP requests by handler and code. */
  httpRequests: "perch_http_requests_total",
  /** Histogram of HTTP request latency. */
  httpLatency: "perch_http_request_duration_seconds",
  /** Gauge: resident memory. */
  memory: "process_resident_memory_bytes",
} as const;

/** The id of the built-in dashboard. */
export const OVERVIEW_ID = "perch-overview";

const M = OVERVIEW_METRICS;

/** The built-in dashboard document. */
export const OVERVIEW_DASHBOARD: DashboardInput = {
  id: OVERVIEW_ID,
  title: "Perch overview",
  tags: ["perch", "builtin"],
  time: { from: "now-1h", to: "now" },
  refresh: "30s",
  panels: [
    {
      id: 1,
      type: "stat",
      title: "Ingestion rate",
      gridPos: { x: 0, y: 0, w: 6, h: 4 },
      targets: [{ expr: `sum(rate(${M.ingested}[5m]))`, refId: "A" }],
      options: { unit: "samples/s", decimals: 1 },
    },
    {
      id: 2,
      type: "stat",
      title: "Series",
      gridPos: { x: 6, y: 0, w: 6, h: 4 },
      targets: [{ expr: `sum(${M.series})`, refId: "A" }],
    },
    {
      id: 3,
      type: "stat",
      title: "Disk use",
      gridPos: { x: 12, y: 0, w: 6, h: 4 },
      targets: [{ expr: `sum(${M.disk})`, refId: "A" }],
      options: { unit: "bytes" },
    },
    {
      id: 4,
      type: "gauge",
      title: "Memory (RSS)",
      gridPos: { x: 18, y: 0, w: 6, h: 4 },
      targets: [{ expr: M.memory, refId: "A" }],
      options: {
        unit: "bytes",
        min: 0,
        max: 1073741824,
        thresholds: [{ value: 0, color: "green" }, { value: 536870912, color: "orange" }, {
          value: 858993459,
          color: "red",
        }],
      },
    },
    {
      id: 5,
      type: "line",
      title: "Samples ingested per second",
      gridPos: { x: 0, y: 4, w: 12, h: 8 },
      targets: [{
        expr: `sum(rate(${M.ingested}[$__rate_interval]))`,
        legendFormat: "samples/s",
        refId: "A",
      }],
      options: { legend: { show: true, calcs: ["min", "max", "avg", "last"] } },
    },
    {
      id: 6,
      type: "line",
      title: "Series",
      gridPos: { x: 12, y: 4, w: 12, h: 8 },
      targets: [{ expr: `sum(${M.series})`, legendFormat: "series", refId: "A" }],
    },
    {
      id: 7,
      type: "line",
      title: "HTTP requests per second",
      gridPos: { x: 0, y: 12, w: 12, h: 8 },
      targets: [{
        expr: `sum by (code) (rate(${M.httpRequests}[$__rate_interval]))`,
        legendFormat: "{{code}}",
        refId: "A",
      }],
      options: { unit: "reqps" },
    },
    {
      id: 8,
      type: "line",
      title: "HTTP latency p50 / p99",
      gridPos: { x: 12, y: 12, w: 12, h: 8 },
      targets: [
        {
          expr:
            `histogram_quantile(0.5, sum by (le) (rate(${M.httpLatency}_bucket[$__rate_interval])))`,
          legendFormat: "p50",
          refId: "A",
        },
        {
          expr:
            `histogram_quantile(0.99, sum by (le) (rate(${M.httpLatency}_bucket[$__rate_interval])))`,
          legendFormat: "p99",
          refId: "B",
        },
      ],
      options: { unit: "seconds" },
    },
    {
      id: 9,
      type: "heatmap",
      title: "HTTP latency distribution",
      gridPos: { x: 0, y: 20, w: 12, h: 8 },
      targets: [{
        expr: `sum by (le) (rate(${M.httpLatency}_bucket[$__rate_interval]))`,
        legendFormat: "{{le}}",
        refId: "A",
      }],
      options: { unit: "seconds" },
    },
    {
      id: 10,
      type: "line",
      title: "Process memory",
      gridPos: { x: 12, y: 20, w: 12, h: 8 },
      targets: [
        { expr: M.memory, legendFormat: "resident", refId: "A" },
        { expr: "perch_heap_used_bytes", legendFormat: "heap used", refId: "B" },
      ],
      options: { unit: "bytes" },
    },
  ],
};
