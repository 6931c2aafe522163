/**
 * Ingestion: pure parsers for every push protocol (JSON, Prometheus text /
 * OpenMetrics, InfluxDB line protocol, remote write), the remote write
 * encoder, body decoding with limits, and the one append pipeline
 * (validation, cardinality limits, backpressure, counters) shared by push
 * and scrape.
 *
 * @module
 */
export {
  BodyEncodingError,
  BodyTooLargeError,
  readBody,
  type ReadBodyOptions,
  UnsupportedEncodingError,
} from "./body.ts";
export {
  type InfluxParseOptions,
  type InfluxPrecision,
  influxPrecision,
  parseInfluxLines,
} from "./influx.ts";
export { type CollectdParseOptions, parseCollectdJson } from "./collectd.ts";
export { type GraphiteParseOptions, parseGraphiteLines } from "./graphite.ts";
export { GraphiteListener, type GraphiteListenerOptions } from "./graphite_listener.ts";
export {
  answerInfluxQuery,
  type InfluxDatabaseStore,
  InfluxQueryError,
  type InfluxStatementResult,
  KvInfluxDatabases,
  MemInfluxDatabases,
  SELECT_MESSAGE,
} from "./influx_query.ts";
export { type JsonParseOptions, parseJsonMetrics, parseJsonTimestamp } from "./json.ts";
export {
  type Admission,
  CardinalityLimiter,
  type CardinalityLimits,
  type LimitReason,
  type SeriesIndex,
} from "./limiter.ts";
export {
  type CardinalityRefusal,
  type IngestOptions,
  IngestPipeline,
  type IngestPipelineOptions,
  type IngestResult,
  type IngestStatsSink,
  OverloadedError,
  type RejectionReason,
} from "./pipeline.ts";
export { RateLimitedError, SourceRateLimiter } from "./rate_limit.ts";
export { endsWithEof, parsePrometheusText, type PrometheusTextOptions } from "./prometheus_text.ts";
export { PushRegistry, type PushRegistryOptions } from "./push_registry.ts";
export { parseRemoteWrite } from "./remote_write.ts";
export {
  encodeRemoteWriteBody,
  encodeWriteRequest,
  type WriteMetadata,
  type WriteRequestInput,
  type WriteSeries,
} from "./remote_write_codec.ts";
export {
  encodeOtlpResponse,
  encodeRpcStatus,
  OtlpDeltaState,
  type OtlpSettings,
  type OtlpTranslation,
  translateOtlp,
} from "./otlp.ts";
export { decodeOtlpJson, decodeOtlpProto, OtlpJsonError, type OtlpRequest } from "./otlp_decode.ts";
export { ProtoError } from "./_proto.ts";
export {
  cumulativeCustomBuckets,
  encodeMetricFamily,
  type ExpositionFamily,
  type ExpositionMetric,
  type ExpositionType,
  PROTOBUF_EXPOSITION_TYPE,
} from "./exposition_proto.ts";
export { type IngestProblem, ParsedRows, ParsedRowsPool } from "./rows.ts";
export {
  snappyDecode,
  snappyEncode,
  SnappyError,
  SnappyTooLargeError,
  snappyUncompressedLength,
} from "./snappy.ts";
export { decodeBase64Text, sanitizeLabelName, sanitizeMetricName } from "./_util.ts";
export {
  graphiteComponent,
  type PipelineComponent,
  pipelineComponent,
  type PushComponent,
  pushComponent,
} from "./component.ts";
