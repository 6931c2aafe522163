/**
 * OTLP metrics request decoding (pure: bytes or JSON text -> a plain
 * {@linkcode OtlpRequest}). Both encodings of
 * `opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest`
 * are read: protobuf (`application/x-protobuf`) and OTLP/JSON
 * (`application/json`, lowerCamelCase or original field names, 64-bit
 * integers as strings or numbers).
 *
 * ```proto
 * ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
 * ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
 * Resource        { repeated KeyValue attributes = 1; }
 * ScopeMetrics    { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
 * InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
 * Metric { string name = 1; string description = 2; string unit = 3;
 *          oneof { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9;
 *                  ExponentialHistogram exponential_histogram = 10; Summary summary = 11; } }
 * Gauge { repeated NumberDataPoint data_points = 1; }
 * Sum   { repeated NumberDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2;
 *         bool is_monotonic = 3; }
 * Histogram / ExponentialHistogram { repeated ...DataPoint data_points = 1; AggregationTemporality ... = 2; }
 * Summary { repeated SummaryDataPoint data_points = 1; }
 * NumberDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2;
 *   fixed64 time_unix_nano = 3; double as_double = 4; sfixed64 as_int = 6; uint32 flags = 8; }
 * HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2;
 *   fixed64 time_unix_nano = 3; fixed64 count = 4; optional double sum = 5;
 *   repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7; uint32 flags = 10; }
 * ExponentialHistogramDataPoint { repeated KeyValue attributes = 1; fixed64 start_time_unix_nano = 2;
 *   fixed64 time_unix_nano = 3; fixed64 count = 4; ... uint32 flags = 10; }
 * SummaryDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2;
 *   fixed64 time_unix_nano = 3; fixed64 count = 4; double sum = 5;
 *   repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8; }
 * ValueAtQuantile { double quantile = 1; double value = 2; }
 * KeyValue { string key = 1; AnyValue value = 2; }
 * AnyValue { oneof { string string_value = 1; bool bool_value = 2; int64 int_value = 3;
 *   double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6;
 *   bytes bytes_value = 7; } }
 * ```
 *
 * Attribute values are kept as text the way the OpenTelemetry Collector's
 * `Value.AsString()` renders them (numbers as ECMAScript does, bytes as
 * base64, arrays and maps as JSON), which is what Prometheus puts in labels.
 * Timestamps become milliseconds, truncated as Prometheus does.
 *
 * @module
 */
import type { OtlpExpBuckets } from "./otlp_exp_histogram.ts";
import { decodeUtf8, FIXED64, LEN, ProtoError, ProtoReader, unzigzag, VARINT } from "./_proto.ts";

/** Kinds of OTLP metric data. */
export type OtlpKind = "gauge" | "sum" | "histogram" | "exponential_histogram" | "summary" | "none";

/** `AggregationTemporality`: 0 unspecified, 1 delta, 2 cumulative. */
export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;
/** `DataPointFlags.FLAG_NO_RECORDED_VALUE`. */
export const FLAG_NO_RECORDED_VALUE = 1;

/** An attribute with its value as text. */
export interface OtlpAttr {
  readonly key: string;
  readonly value: string;
}

/** One data point of any kind; the fields that do not apply are absent. */
export interface OtlpPoint {
  readonly attributes: OtlpAttr[];
  /** `start_time_unix_nano` in ms (0 when unset). */
  start: number;
  /** `time_unix_nano` in ms. */
  time: number;
  flags: number;
  /** Gauge and sum value. */
  value?: number;
  /** Histogram and summary count. */
  count?: number;
  /** Histogram (when set) and summary sum. */
  sum?: number;
  /** Explicit-bucket histogram: counts per bucket (not cumulative), bounds. */
  bucketCounts?: number[];
  bounds?: number[];
  /** Exponential histogram buckets. */
  exp?: OtlpExpBuckets;
  /** Summary quantiles as `[quantile, value]`. */
  quantiles?: [number, number][];
}

/** One metric with its points. */
export interface OtlpMetric {
  name: string;
  description: string;
  unit: string;
  kind: OtlpKind;
  temporality: number;
  monotonic: boolean;
  readonly points: OtlpPoint[];
}

/** The metrics of one instrumentation scope. */
export interface OtlpScopeMetrics {
  name: string;
  version: string;
  schemaUrl: string;
  readonly attributes: OtlpAttr[];
  readonly metrics: OtlpMetric[];
}

/** The metrics of one resource. */
export interface OtlpResourceMetrics {
  readonly attributes: OtlpAttr[];
  readonly scopes: OtlpScopeMetrics[];
}

/** A decoded `ExportMetricsServiceRequest`. */
export interface OtlpRequest {
  readonly resources: OtlpResourceMetrics[];
}

// ---------------------------------------------------------------------------
// Protobuf
// ---------------------------------------------------------------------------

/** Unsigned 64-bit little-endian integer of nanoseconds -> ms, exact (truncated). */
function nanosToMs(lo: number, hi: number): number {
  // hi·2^32 = hi·4294·10^6 + hi·967296, so the quotient needs no 64-bit math.
  return hi * 4294 + Math.floor((hi * 967296 + lo) / 1e6);
}

function fixed64Parts(r: ProtoReader): [number, number] {
  if (r.pos + 8 > r.end) throw new ProtoError("truncated fixed64");
  const lo = r.view.getUint32(r.pos, true), hi = r.view.getUint32(r.pos + 4, true);
  r.pos += 8;
  return [lo, hi];
}

function fixed64Ms(r: ProtoReader): number {
  const [lo, hi] = fixed64Parts(r);
  return nanosToMs(lo, hi);
}

function fixed64Num(r: ProtoReader): number {
  const [lo, hi] = fixed64Parts(r);
  return hi * 0x100000000 + lo;
}

function sfixed64Num(r: ProtoReader): number {
  const [lo, hi] = fixed64Parts(r);
  return (hi | 0) * 0x100000000 + lo;
}

function expect(wire: number, want: number, what: string): void {
  if (wire !== want) throw new ProtoError(`${what} has wire type ${wire}, want ${want}`);
}

/** Runs `each(field, wire)` for every field of the message in [r.pos, end). */
function fields(r: ProtoReader, end: number, each: (field: number, wire: number) => void): void {
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.uint32();
    each(tag >>> 3, tag & 7);
  }
  r.end = outer;
}

function str(r: ProtoReader): string {
  const [s, e] = r.bytes();
  return decodeUtf8(r.buf, s, e);
}

/** Reads a length-delimited field at `r.pos` with `read(end)`, then moves past it. */
function nested<T>(r: ProtoReader, read: (end: number) => T): T {
  const [s, e] = r.bytes();
  r.pos = s;
  const v = read(e);
  r.pos = e;
  return v;
}

/** Runs `each(field, wire)` over the fields of the nested message at `r.pos`. */
function eachNested(r: ProtoReader, each: (field: number, wire: number) => void): void {
  nested(r, (end) => fields(r, end, each));
}

/**
 * Reads a repeated scalar field, packed (`LEN`) or one value of wire type
 * `wire`, with `read`, into `out`.
 */
function repeated(
  r: ProtoReader,
  w: number,
  wire: number,
  out: number[],
  read: () => number,
): void {
  if (w !== LEN) {
    expect(w, wire, "repeated field");
    out.push(read());
    return;
  }
  nested(r, (end) => {
    if (wire === FIXED64 && (end - r.pos) % 8 !== 0) {
      throw new ProtoError("packed 64-bit field has a partial value");
    }
    const outer = r.end;
    r.end = end;
    while (r.pos < end) out.push(read());
    r.end = outer;
  });
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s);
}

/** Decodes an `AnyValue` into its JSON-like value (for arrays and maps) or text. */
function anyValueProto(r: ProtoReader, end: number): unknown {
  let v: unknown = "";
  fields(r, end, (f, w) => {
    if (f === 1 && w === LEN) v = str(r);
    else if (f === 2 && w === VARINT) v = r.int64() !== 0;
    else if (f === 3 && w === VARINT) v = r.int64();
    else if (f === 4 && w === FIXED64) v = r.double();
    else if (f === 5 && w === LEN) {
      const items: unknown[] = [];
      eachNested(r, (ff, ww) => {
        if (ff === 1 && ww === LEN) items.push(nested(r, (e) => anyValueProto(r, e)));
        else r.skip(ww);
      });
      v = items;
    } else if (f === 6 && w === LEN) {
      const o: Record<string, unknown> = {};
      eachNested(r, (ff, ww) => {
        if (ff === 1 && ww === LEN) {
          const [k, val] = keyValueRaw(r);
          o[k] = val;
        } else r.skip(ww);
      });
      v = o;
    } else if (f === 7 && w === LEN) {
      const [s, e] = r.bytes();
      v = { bytes: base64(r.buf.subarray(s, e)) };
    } else r.skip(w);
  });
  return v;
}

/** Reads a length-delimited `KeyValue` at `r.pos` -> [key, raw value]. */
function keyValueRaw(r: ProtoReader): [string, unknown] {
  let key = "";
  let value: unknown = "";
  eachNested(r, (f, w) => {
    if (f === 1 && w === LEN) key = str(r);
    else if (f === 2 && w === LEN) value = nested(r, (e) => anyValueProto(r, e));
    else r.skip(w);
  });
  return [key, value];
}

/**
 * Text of an attribute value as the Collector's `Value.AsString()` gives it:
 * strings as they are, booleans and numbers as ECMAScript prints them,
 * bytes as base64, arrays and maps as JSON.
 */
export function attrText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    return Number.isFinite(v) ? String(v) : `json: unsupported value: ${v}`;
  }
  if (v && typeof v === "object" && "bytes" in v && Object.keys(v).length === 1) {
    return String((v as { bytes: string }).bytes);
  }
  return JSON.stringify(
    v,
    (_k, x) =>
      x && typeof x === "object" && "bytes" in x && Object.keys(x).length === 1 ? x.bytes : x,
  );
}

function attrsProto(r: ProtoReader, out: OtlpAttr[]): void {
  const [key, value] = keyValueRaw(r);
  out.push({ key, value: attrText(value) });
}

/**
 * The fields every histogram and summary point shares: attributes (field
 * `attrs`), start (2), time (3), count (4), sum (5) and flags (field
 * `flags`). Returns false for any other field.
 */
function commonPointField(
  r: ProtoReader,
  p: OtlpPoint,
  f: number,
  w: number,
  attrs: number,
  flags: number,
): boolean {
  if (f === attrs && w === LEN) attrsProto(r, p.attributes);
  else if (f === 2 && w === FIXED64) p.start = fixed64Ms(r);
  else if (f === 3 && w === FIXED64) p.time = fixed64Ms(r);
  else if (f === 4 && w === FIXED64) p.count = fixed64Num(r);
  else if (f === 5 && w === FIXED64) p.sum = r.double();
  else if (f === flags && w === VARINT) p.flags = r.uint32();
  else return false;
  return true;
}

function numberPointProto(r: ProtoReader, end: number): OtlpPoint {
  const p: OtlpPoint = { attributes: [], start: 0, time: 0, flags: 0 };
  fields(r, end, (f, w) => {
    if (f === 7 && w === LEN) attrsProto(r, p.attributes);
    else if (f === 2 && w === FIXED64) p.start = fixed64Ms(r);
    else if (f === 3 && w === FIXED64) p.time = fixed64Ms(r);
    else if (f === 4 && w === FIXED64) p.value = r.double();
    else if (f === 6 && w === FIXED64) p.value = sfixed64Num(r);
    else if (f === 8 && w === VARINT) p.flags = r.uint32();
    else r.skip(w);
  });
  return p;
}

function histogramPointProto(r: ProtoReader, end: number): OtlpPoint {
  const p: OtlpPoint = {
    attributes: [],
    start: 0,
    time: 0,
    flags: 0,
    count: 0,
    bucketCounts: [],
    bounds: [],
  };
  fields(r, end, (f, w) => {
    if (commonPointField(r, p, f, w, 9, 10)) return;
    if (f === 6) repeated(r, w, FIXED64, p.bucketCounts!, () => fixed64Num(r));
    else if (f === 7) repeated(r, w, FIXED64, p.bounds!, () => r.double());
    else r.skip(w);
  });
  return p;
}

/** Reads an exponential histogram `Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; }`. */
function expBucketsProto(r: ProtoReader): { offset: number; counts: number[] } {
  let offset = 0;
  const counts: number[] = [];
  eachNested(r, (f, w) => {
    if (f === 1 && w === VARINT) offset = unzigzag(r.int64());
    else if (f === 2) repeated(r, w, VARINT, counts, () => r.int64());
    else r.skip(w);
  });
  return { offset, counts };
}

function expHistogramPointProto(r: ProtoReader, end: number): OtlpPoint {
  const p: OtlpPoint = { attributes: [], start: 0, time: 0, flags: 0, count: 0 };
  let scale = 0, zeroCount = 0;
  let pos = { offset: 0, counts: [] as number[] }, neg = { offset: 0, counts: [] as number[] };
  fields(r, end, (f, w) => {
    if (commonPointField(r, p, f, w, 1, 10)) return;
    if (f === 6 && w === VARINT) scale = unzigzag(r.int64());
    else if (f === 7 && w === FIXED64) zeroCount = fixed64Num(r);
    else if (f === 8 && w === LEN) pos = expBucketsProto(r);
    else if (f === 9 && w === LEN) neg = expBucketsProto(r);
    else r.skip(w);
  });
  p.exp = {
    scale,
    zeroCount,
    positiveOffset: pos.offset,
    positive: pos.counts,
    negativeOffset: neg.offset,
    negative: neg.counts,
  };
  return p;
}

function summaryPointProto(r: ProtoReader, end: number): OtlpPoint {
  const p: OtlpPoint = {
    attributes: [],
    start: 0,
    time: 0,
    flags: 0,
    count: 0,
    sum: 0,
    quantiles: [],
  };
  fields(r, end, (f, w) => {
    if (commonPointField(r, p, f, w, 7, 8)) return;
    if (f === 6 && w === LEN) {
      let q = 0, v = 0;
      eachNested(r, (ff, ww) => {
        if (ff === 1 && ww === FIXED64) q = r.double();
        else if (ff === 2 && ww === FIXED64) v = r.double();
        else r.skip(ww);
      });
      p.quantiles!.push([q, v]);
    } else r.skip(w);
  });
  return p;
}

const POINT_DECODERS: Record<OtlpKind, ((r: ProtoReader, end: number) => OtlpPoint) | undefined> = {
  gauge: numberPointProto,
  sum: numberPointProto,
  histogram: histogramPointProto,
  exponential_histogram: expHistogramPointProto,
  summary: summaryPointProto,
  none: undefined,
};

/** Reads the data message of a metric (Gauge, Sum, ...) into `m`. */
function metricDataProto(r: ProtoReader, end: number, m: OtlpMetric): void {
  const point = POINT_DECODERS[m.kind];
  fields(r, end, (f, w) => {
    if (f === 1 && w === LEN) {
      const p = nested(r, (e) => point?.(r, e));
      if (p) m.points.push(p);
    } else if (f === 2 && w === VARINT && m.kind !== "gauge" && m.kind !== "summary") {
      m.temporality = r.uint32();
    } else if (f === 3 && w === VARINT && m.kind === "sum") m.monotonic = r.int64() !== 0;
    else r.skip(w);
  });
}

const KIND_BY_FIELD: Record<number, OtlpKind> = {
  5: "gauge",
  7: "sum",
  9: "histogram",
  10: "exponential_histogram",
  11: "summary",
};

function metricProto(r: ProtoReader, end: number): OtlpMetric {
  const m: OtlpMetric = {
    name: "",
    description: "",
    unit: "",
    kind: "none",
    temporality: 0,
    monotonic: false,
    points: [],
  };
  fields(r, end, (f, w) => {
    if (f === 1 && w === LEN) m.name = str(r);
    else if (f === 2 && w === LEN) m.description = str(r);
    else if (f === 3 && w === LEN) m.unit = str(r);
    else if (KIND_BY_FIELD[f] && w === LEN) {
      m.kind = KIND_BY_FIELD[f]!;
      m.points.length = 0;
      nested(r, (e) => metricDataProto(r, e, m));
    } else r.skip(w);
  });
  return m;
}

function scopeProto(r: ProtoReader, end: number): OtlpScopeMetrics {
  const sm: OtlpScopeMetrics = {
    name: "",
    version: "",
    schemaUrl: "",
    attributes: [],
    metrics: [],
  };
  fields(r, end, (f, w) => {
    if (f === 1 && w === LEN) {
      eachNested(r, (ff, ww) => {
        if (ff === 1 && ww === LEN) sm.name = str(r);
        else if (ff === 2 && ww === LEN) sm.version = str(r);
        else if (ff === 3 && ww === LEN) attrsProto(r, sm.attributes);
        else r.skip(ww);
      });
    } else if (f === 2 && w === LEN) sm.metrics.push(nested(r, (e) => metricProto(r, e)));
    else if (f === 3 && w === LEN) sm.schemaUrl = str(r);
    else r.skip(w);
  });
  return sm;
}

function resourceProto(r: ProtoReader, end: number): OtlpResourceMetrics {
  const rm: OtlpResourceMetrics = { attributes: [], scopes: [] };
  fields(r, end, (f, w) => {
    if (f === 1 && w === LEN) {
      eachNested(r, (ff, ww) => {
        if (ff === 1 && ww === LEN) attrsProto(r, rm.attributes);
        else r.skip(ww);
      });
    } else if (f === 2 && w === LEN) rm.scopes.push(nested(r, (e) => scopeProto(r, e)));
    else r.skip(w);
  });
  return rm;
}

/** Decodes a protobuf `ExportMetricsServiceRequest`; throws {@linkcode ProtoError}. */
export function decodeOtlpProto(body: Uint8Array): OtlpRequest {
  const r = new ProtoReader(body);
  const req: OtlpRequest = { resources: [] };
  fields(r, body.length, (f, w) => {
    if (f === 1 && w === LEN) req.resources.push(nested(r, (e) => resourceProto(r, e)));
    else r.skip(w);
  });
  return req;
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

/** A malformed OTLP/JSON request; `field` is the path of the culprit. */
export class OtlpJsonError extends SyntaxError {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "OtlpJsonError";
  }
}

type Obj = Record<string, unknown>;

/** Field `camel` (or its original snake_case name) of `o`. */
function get(o: Obj, camel: string): unknown {
  if (camel in o) return o[camel];
  const snake = camel.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
  return o[snake];
}

function obj(v: unknown, path: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new OtlpJsonError(path, "must be an object");
  return v as Obj;
}

function arr(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpJsonError(path, "must be an array");
  return v;
}

function jstr(v: unknown, path: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new OtlpJsonError(path, "must be a string");
  return v;
}

/** A 64-bit integer given as a JSON number or a decimal string. */
function jint(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  throw new OtlpJsonError(path, "must be an integer (a number or a decimal string)");
}

/** Nanoseconds as a JSON number or decimal string -> ms, exact for strings. */
function jnanosMs(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "string" && /^\d+$/.test(v)) {
    return v.length > 6 ? Number(v.slice(0, -6)) : 0;
  }
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return Math.floor(v / 1e6);
  throw new OtlpJsonError(path, "must be unsigned nanoseconds (a number or a decimal string)");
}

/** A double: a JSON number or "NaN", "Infinity", "-Infinity" (proto3 JSON). */
function jdouble(v: unknown, path: string): number {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  if (typeof v === "string" && v.trim() !== "" && !isNaN(Number(v))) return Number(v);
  throw new OtlpJsonError(path, "must be a number");
}

function anyValueJson(v: unknown, path: string): unknown {
  const o = obj(v, path);
  if ("stringValue" in o || "string_value" in o) return jstr(get(o, "stringValue"), path);
  if ("boolValue" in o || "bool_value" in o) return get(o, "boolValue") === true;
  if ("intValue" in o || "int_value" in o) return jint(get(o, "intValue"), path + ".intValue");
  if ("doubleValue" in o || "double_value" in o) {
    return jdouble(get(o, "doubleValue"), path + ".doubleValue");
  }
  if ("arrayValue" in o || "array_value" in o) {
    const a = obj(get(o, "arrayValue"), path + ".arrayValue");
    return arr(a.values, path + ".arrayValue.values").map((x, i) =>
      anyValueJson(x, `${path}.arrayValue.values[${i}]`)
    );
  }
  if ("kvlistValue" in o || "kvlist_value" in o) {
    const kv = obj(get(o, "kvlistValue"), path + ".kvlistValue");
    const out: Record<string, unknown> = {};
    arr(kv.values, path + ".kvlistValue.values").forEach((x, i) => {
      const p = `${path}.kvlistValue.values[${i}]`;
      const e = obj(x, p);
      out[jstr(e.key, p + ".key")] = anyValueJson(e.value, p + ".value");
    });
    return out;
  }
  if ("bytesValue" in o || "bytes_value" in o) {
    return { bytes: jstr(get(o, "bytesValue"), path + ".bytesValue") };
  }
  return "";
}

function attrsJson(v: unknown, path: string): OtlpAttr[] {
  return arr(v, path).map((x, i) => {
    const p = `${path}[${i}]`;
    const o = obj(x, p);
    return { key: jstr(o.key, p + ".key"), value: attrText(anyValueJson(o.value, p + ".value")) };
  });
}

function pointJson(kind: OtlpKind, v: unknown, path: string): OtlpPoint {
  const o = obj(v, path);
  const p: OtlpPoint = {
    attributes: attrsJson(o.attributes, path + ".attributes"),
    start: jnanosMs(get(o, "startTimeUnixNano"), path + ".startTimeUnixNano"),
    time: jnanosMs(get(o, "timeUnixNano"), path + ".timeUnixNano"),
    flags: jint(o.flags, path + ".flags"),
  };
  switch (kind) {
    case "gauge":
    case "sum":
      if (get(o, "asDouble") !== undefined) {
        p.value = jdouble(get(o, "asDouble"), path + ".asDouble");
      } else if (get(o, "asInt") !== undefined) p.value = jint(get(o, "asInt"), path + ".asInt");
      break;
    case "histogram":
      p.count = jint(o.count, path + ".count");
      if (o.sum !== undefined && o.sum !== null) p.sum = jdouble(o.sum, path + ".sum");
      p.bucketCounts = arr(get(o, "bucketCounts"), path + ".bucketCounts").map((x, i) =>
        jint(x, `${path}.bucketCounts[${i}]`)
      );
      p.bounds = arr(get(o, "explicitBounds"), path + ".explicitBounds").map((x, i) =>
        jdouble(x, `${path}.explicitBounds[${i}]`)
      );
      break;
    case "exponential_histogram": {
      p.count = jint(o.count, path + ".count");
      if (o.sum !== undefined && o.sum !== null) p.sum = jdouble(o.sum, path + ".sum");
      const side = (name: string) => {
        const b = get(o, name);
        if (b === undefined || b === null) return { offset: 0, counts: [] };
        const bo = obj(b, `${path}.${name}`);
        return {
          offset: bo.offset === undefined ? 0 : jint(bo.offset, `${path}.${name}.offset`),
          counts: arr(get(bo, "bucketCounts"), `${path}.${name}.bucketCounts`).map((x, i) =>
            jint(x, `${path}.${name}.bucketCounts[${i}]`)
          ),
        };
      };
      const pos = side("positive"), neg = side("negative");
      p.exp = {
        scale: o.scale === undefined ? 0 : jint(o.scale, path + ".scale"),
        zeroCount: get(o, "zeroCount") === undefined
          ? 0
          : jint(get(o, "zeroCount"), path + ".zeroCount"),
        positiveOffset: pos.offset,
        positive: pos.counts,
        negativeOffset: neg.offset,
        negative: neg.counts,
      };
      break;
    }
    case "summary":
      p.count = jint(o.count, path + ".count");
      p.sum = o.sum === undefined ? 0 : jdouble(o.sum, path + ".sum");
      p.quantiles = arr(get(o, "quantileValues"), path + ".quantileValues").map((x, i) => {
        const q = obj(x, `${path}.quantileValues[${i}]`);
        return [
          q.quantile === undefined
            ? 0
            : jdouble(q.quantile, `${path}.quantileValues[${i}].quantile`),
          q.value === undefined ? 0 : jdouble(q.value, `${path}.quantileValues[${i}].value`),
        ];
      });
      break;
  }
  return p;
}

const JSON_KINDS: [string, OtlpKind][] = [
  ["gauge", "gauge"],
  ["sum", "sum"],
  ["histogram", "histogram"],
  ["exponentialHistogram", "exponential_histogram"],
  ["summary", "summary"],
];

function metricJson(v: unknown, path: string): OtlpMetric {
  const o = obj(v, path);
  const m: OtlpMetric = {
    name: jstr(o.name, path + ".name"),
    description: jstr(o.description, path + ".description"),
    unit: jstr(o.unit, path + ".unit"),
    kind: "none",
    temporality: 0,
    monotonic: false,
    points: [],
  };
  for (const [field, kind] of JSON_KINDS) {
    const d = get(o, field);
    if (d === undefined || d === null) continue;
    const dp = `${path}.${field}`;
    const data = obj(d, dp);
    m.kind = kind;
    m.temporality = jint(get(data, "aggregationTemporality"), dp + ".aggregationTemporality");
    m.monotonic = get(data, "isMonotonic") === true;
    arr(get(data, "dataPoints"), dp + ".dataPoints").forEach((x, i) =>
      m.points.push(pointJson(kind, x, `${dp}.dataPoints[${i}]`))
    );
    break;
  }
  return m;
}

/** Decodes an OTLP/JSON `ExportMetricsServiceRequest`; throws {@linkcode OtlpJsonError}. */
export function decodeOtlpJson(text: string): OtlpRequest {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new OtlpJsonError("body", `is not valid JSON: ${(e as Error).message}`);
  }
  const o = obj(root, "body");
  const req: OtlpRequest = { resources: [] };
  arr(get(o, "resourceMetrics"), "resourceMetrics").forEach((x, i) => {
    const path = `resourceMetrics[${i}]`;
    const rm = obj(x, path);
    const res = obj(rm.resource, path + ".resource");
    const out: OtlpResourceMetrics = {
      attributes: attrsJson(res.attributes, path + ".resource.attributes"),
      scopes: [],
    };
    arr(get(rm, "scopeMetrics"), path + ".scopeMetrics").forEach((y, j) => {
      const sp = `${path}.scopeMetrics[${j}]`;
      const sm = obj(y, sp);
      const scope = obj(sm.scope, sp + ".scope");
      out.scopes.push({
        name: jstr(scope.name, sp + ".scope.name"),
        version: jstr(scope.version, sp + ".scope.version"),
        schemaUrl: jstr(get(sm, "schemaUrl"), sp + ".schemaUrl"),
        attributes: attrsJson(scope.attributes, sp + ".scope.attributes"),
        metrics: arr(sm.metrics, sp + ".metrics").map((z, k) =>
          metricJson(z, `${sp}.metrics[${k}]`)
        ),
      });
    });
    req.resources.push(out);
  });
  return req;
}
