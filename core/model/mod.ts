/**
 * The data model: labels, matchers, metric types.
 *
 * @module
 */
export {
  checkLabelName,
  checkLabelValue,
  checkMetricName,
  compareLabels,
  formatSeries,
  fromPairs,
  getLabel,
  type Label,
  LABEL_NAME_REGEXP,
  type LabelProblem,
  type Labels,
  labelsEqual,
  labelsKey,
  labelsToObject,
  LIMITS,
  METRIC_NAME,
  METRIC_NAME_REGEXP,
  metricName,
  seriesId,
  seriesIdInput,
  toLabels,
  validateSeries,
} from "./labels.ts";
export {
  compileAnchoredRegex,
  formatMatcher,
  type Matcher,
  MatcherRegexError,
  matchesAll,
  matchesEmpty,
  type MatchType,
  newMatcher,
} from "./matchers.ts";
export {
  isStaleNaN,
  METRIC_TYPES,
  type MetricMetadata,
  type MetricType,
  STALE_NAN,
} from "./types.ts";
export {
  type Appender,
  type AppendResult,
  type Querier,
  type RejectedSample,
  type RejectReason,
  SampleBatch,
  type SelectHints,
  type SeriesData,
  StorageFullError,
} from "./storage.ts";
export {
  SampleArena,
  type SampleArenaOptions,
  SampleArenaPool,
  type SampleViews,
} from "./sample_arena.ts";
export {
  durationFieldMs,
  formatBytes,
  formatDuration,
  parseBytes,
  parseDuration,
  readDuration,
} from "./units.ts";
export { formatFloat, goQuote, isGoPrint, jsonFloat, unquoteString } from "./strconv.ts";
export { formatE, formatF, formatG, formatHexFloat } from "./go_float.ts";
export { expandRegexp } from "./regexp_expand.ts";
export { loadYaml, type Yaml, yaml, YamlError } from "./yaml.ts";
export { md5, sha256, sha256Hex, toHex } from "./hash.ts";
export {
  configIssues,
  type FieldIssue,
  fieldIssues,
  formatPath,
  PARSE_ONCE,
} from "./zod_issues.ts";
export { parsedNumber, z } from "./zod.ts";
export { type AlertInstance, type AlertSink } from "./alert.ts";
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
export { authorizationHeader, type HttpAuth, resolveHttpAuth } from "./http_auth.ts";
