/**
 * The parts of core/model that need no dependency (no re2js): units, sample values, native
 * histograms and the sample arena type. For browser code (the
 * island bundles) and the block worker, which should not load the whole
 * model; other code imports `mod.ts`, which exports the same names.
 *
 * @module
 */
export type { Labels } from "./labels.ts";
export type { SampleArena } from "./sample_arena.ts";
export { formatBytes, formatDuration, parseBytes, parseDuration } from "./units.ts";
export {
  isStaleNaN,
  METRIC_TYPES,
  type MetricMetadata,
  type MetricType,
  STALE_NAN,
} from "./types.ts";
export {
  type BucketSpan,
  checkHistogram,
  COUNTER_RESET_HINTS,
  type CounterResetHint,
  countsFromDeltas,
  CUSTOM_BUCKETS_SCHEMA,
  deltasFromCounts,
  histogramsEqual,
  MAX_SCHEMA,
  MIN_SCHEMA,
  type NativeHistogram,
} from "./histogram.ts";
