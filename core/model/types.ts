/**
 * Metric types and per-metric metadata.
 *
 * @module
 */

/** Metric types as Prometheus and OpenMetrics name them. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export const METRIC_TYPES: readonly MetricType[] = [
  "counter",
  "gauge",
  "histogram",
  "summary",
  "untyped",
];

/** Metadata kept per metric name. */
export interface MetricMetadata {
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string;
}

/**
 * The staleness marker: a NaN with a special bit pattern (0x7ff0000000000002)
 * that ends a series for instant selectors, as in Prometheus.
 */
export const STALE_NAN: number = /* @__PURE__ */ (() => {
  const b = new DataView(new ArrayBuffer(8));
  b.setUint32(0, 0x7ff00000);
  b.setUint32(4, 0x00000002);
  return b.getFloat64(0);
})();

const staleView = /* @__PURE__ */ new DataView(new ArrayBuffer(8));

/**
 * True when `v` is the staleness marker (not just any NaN). The marker is a
 * signaling NaN; V8 may quiet it (set bit 51, giving 0x7ff8000000000002) when
 * it is stored in an array or passes through a DataView, so both forms count.
 */
export function isStaleNaN(v: number): boolean {
  if (v === v) return false;
  staleView.setFloat64(0, v);
  const hi = staleView.getUint32(0);
  return (hi === 0x7ff00000 || hi === 0x7ff80000) && staleView.getUint32(4) === 2;
}
