/**
 * Self-monitoring: the metric registry and process metrics.
 *
 * @module
 */
export {
  type CollectedSample,
  Counter,
  CounterChild,
  DEFAULT_BUCKETS,
  escapeLabelValue,
  formatSampleValue,
  Gauge,
  GaugeChild,
  Histogram,
  HistogramChild,
  type MetricOptions,
  Registry,
} from "./registry.ts";
export { processCpuSeconds, registerProcessMetrics } from "./process.ts";
export { MemoryGuard } from "./memory_guard.ts";
export {
  type CheckReport,
  type CheckResult,
  HealthChecks,
  type HealthReport,
  type HealthStatus,
  worstStatus,
} from "./health.ts";
export {
  registerIngestMetrics,
  registerStorageMetrics,
  type StorageStats,
} from "./storage_metrics.ts";
export { type MemoryGuardComponent, memoryGuardComponent } from "./component.ts";
