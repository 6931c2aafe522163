/**
 * The built-in "Perch overview" dashboard, provisioned on every start so a
 * fresh Perch shows its own health from the first minute (it scrapes
 * itself), and below it a host row: CPU, memory, disk, network and
 * temperature of the box, from the built-in host collector (core/hostmetrics)
 * or any node_exporter Perch scrapes.
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
  /** Gauge: resident memory of Perch itself (its self-scrape job), not of scraped processes. */
  memory: 'process_resident_memory_bytes{job="perch"}',
} as const;

/**
 * node_exporter metrics the host row reads: Perch's built-in host collector
 * writes them (job `node`), and so does any node_exporter Perch scrapes.
 */
export const HOST_METRICS = {
  cpu: "node_cpu_seconds_total",
  memTotal: "node_memory_MemTotal_bytes",
  memAvailable: "node_memory_MemAvailable_bytes",
  fsSize: "node_filesystem_size_bytes",
  fsAvail: "node_filesystem_avail_bytes",
  bootTime: "node_boot_time_seconds",
  time: "node_time_seconds",
  thermal: "node_thermal_zone_temp",
  hwmonTemp: "node_hwmon_temp_celsius",
  load1: "node_load1",
  diskRead: "node_disk_read_bytes_total",
  diskWritten: "node_disk_written_bytes_total",
  netRx: "node_network_receive_bytes_total",
  netTx: "node_network_transmit_bytes_total",
} as const;

/** The id of the built-in dashboard. */
export const OVERVIEW_ID = "perch-overview";

const M = OVERVIEW_METRICS;
const H = HOST_METRICS;
/** Top of the host row (below Perch's own panels). */
const HY = 28;
/** Filesystems worth a panel: not in-memory ones. */
const FS = `fstype!~"tmpfs|ramfs"`;

/** The built-in dashboard document. */
/** A 0-100 % gauge: green, orange from `warn`, red from 90. */
function percentGauge(warn: number) {
  return {
    unit: "percent",
    min: 0,
    max: 100,
    thresholds: [
      { value: 0, color: "green" },
      { value: warn, color: "orange" },
      { value: 90, color: "red" },
    ],
  };
}

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
        { expr: 'perch_heap_used_bytes{job="perch"}', legendFormat: "heap used", refId: "B" },
      ],
      options: { unit: "bytes" },
    },
    {
      id: 11,
      type: "gauge",
      title: "Host CPU busy",
      description: "Share of CPU time not idle, per host (node_cpu_seconds_total).",
      gridPos: { x: 0, y: HY, w: 5, h: 5 },
      targets: [{
        expr: `100 * (1 - avg by (instance) (rate(${H.cpu}{mode="idle"}[5m])))`,
        legendFormat: "{{instance}}",
        refId: "A",
      }],
      options: percentGauge(70),
    },
    {
      id: 12,
      type: "gauge",
      title: "Host memory used",
      gridPos: { x: 5, y: HY, w: 5, h: 5 },
      targets: [{
        expr: `100 * (1 - ${H.memAvailable} / ${H.memTotal})`,
        legendFormat: "{{instance}}",
        refId: "A",
      }],
      options: percentGauge(80),
    },
    {
      id: 13,
      type: "gauge",
      title: "Root disk used",
      gridPos: { x: 10, y: HY, w: 5, h: 5 },
      targets: [{
        expr: `100 * (1 - ${H.fsAvail}{mountpoint="/"} / ${H.fsSize}{mountpoint="/"})`,
        legendFormat: "{{instance}}",
        refId: "A",
      }],
      options: percentGauge(80),
    },
    {
      id: 14,
      type: "stat",
      title: "SoC temperature",
      description: "Hottest thermal zone (a Raspberry Pi's SoC), else the hottest hwmon sensor.",
      gridPos: { x: 15, y: HY, w: 4, h: 5 },
      targets: [{
        expr: `max by (instance) (${H.thermal}) or max by (instance) (${H.hwmonTemp})`,
        legendFormat: "{{instance}}",
        refId: "A",
      }],
      options: {
        unit: "celsius",
        decimals: 1,
        thresholds: [{ value: 0, color: "green" }, { value: 70, color: "orange" }, {
          value: 80,
          color: "red",
        }],
      },
    },
    {
      id: 15,
      type: "stat",
      title: "Host uptime",
      gridPos: { x: 19, y: HY, w: 5, h: 5 },
      targets: [{
        expr: `${H.time} - ${H.bootTime}`,
        legendFormat: "{{instance}}",
        refId: "A",
      }],
      options: { unit: "seconds" },
    },
    {
      id: 16,
      type: "line",
      title: "Host CPU by mode",
      gridPos: { x: 0, y: HY + 5, w: 12, h: 8 },
      targets: [{
        expr: `100 * sum by (instance, mode) (rate(${H.cpu}{mode!="idle"}[$__rate_interval]))` +
          ` / on (instance) group_left () count by (instance) (${H.cpu}{mode="idle"})`,
        legendFormat: "{{instance}} {{mode}}",
        refId: "A",
      }],
      options: { unit: "percent", stacked: true },
    },
    {
      id: 17,
      type: "line",
      title: "Host load and memory",
      gridPos: { x: 12, y: HY + 5, w: 12, h: 8 },
      targets: [
        { expr: H.load1, legendFormat: "{{instance}} load1", refId: "A" },
        {
          expr: `100 * (1 - ${H.memAvailable} / ${H.memTotal})`,
          legendFormat: "{{instance}} memory used %",
          refId: "B",
        },
      ],
    },
    {
      id: 18,
      type: "line",
      title: "Disk I/O",
      gridPos: { x: 0, y: HY + 13, w: 12, h: 8 },
      targets: [
        {
          expr: `rate(${H.diskRead}[$__rate_interval])`,
          legendFormat: "{{instance}} {{device}} read",
          refId: "A",
        },
        {
          expr: `rate(${H.diskWritten}[$__rate_interval])`,
          legendFormat: "{{instance}} {{device}} written",
          refId: "B",
        },
      ],
      options: { unit: "bytes_per_second" },
    },
    {
      id: 19,
      type: "line",
      title: "Network traffic",
      gridPos: { x: 12, y: HY + 13, w: 12, h: 8 },
      targets: [
        {
          expr: `rate(${H.netRx}{device!="lo"}[$__rate_interval])`,
          legendFormat: "{{instance}} {{device}} in",
          refId: "A",
        },
        {
          expr: `rate(${H.netTx}{device!="lo"}[$__rate_interval])`,
          legendFormat: "{{instance}} {{device}} out",
          refId: "B",
        },
      ],
      options: { unit: "bytes_per_second" },
    },
    {
      id: 20,
      type: "line",
      title: "Filesystem space used",
      gridPos: { x: 0, y: HY + 21, w: 12, h: 8 },
      targets: [{
        expr: `100 * (1 - ${H.fsAvail}{${FS}} / ${H.fsSize}{${FS}})`,
        legendFormat: "{{instance}} {{mountpoint}}",
        refId: "A",
      }],
      options: { unit: "percent", min: 0, max: 100 },
    },
    {
      id: 21,
      type: "line",
      title: "Temperatures",
      gridPos: { x: 12, y: HY + 21, w: 12, h: 8 },
      targets: [
        { expr: H.thermal, legendFormat: "{{instance}} {{type}}", refId: "A" },
        { expr: H.hwmonTemp, legendFormat: "{{instance}} {{chip}} {{sensor}}", refId: "B" },
      ],
      options: { unit: "celsius" },
    },
  ],
};
