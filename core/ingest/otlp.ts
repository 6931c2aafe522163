/**
 * OpenTelemetry metrics -> Perch rows, translated as Prometheus 3 does with
 * its default settings (translation strategy `UnderscoreEscapingWithSuffixes`,
 * label-name underscore sanitisation, multiple underscores preserved):
 *
 * - Metric names: characters outside `[a-zA-Z0-9:]` split the name into
 *   tokens joined by `_`; the unit becomes a suffix (`s` -> `_seconds`,
 *   `By` -> `_bytes`, `1/s` -> `_per_second`, units in `{...}` are dropped);
 *   monotonic sums get `_total`, gauges with unit `1` get `_ratio`; a leading
 *   digit gets `_`. Without suffixes only the characters are replaced.
 * - Label names: characters outside `[a-zA-Z0-9]` become `_`; a leading digit
 *   gets `key_`, a single leading `_` gets `key`. Attributes that collide after
 *   this are joined with `;` in key order.
 * - Resource: `service.name` (prefixed by `service.namespace` and `/`) ->
 *   `job`, `service.instance.id` -> `instance`; the other resource attributes
 *   go to a `target_info` series (value 1, every lookback/2 over the
 *   request's time range and at its end) and, when listed in
 *   `promoteResourceAttributes`, onto every series.
 * - Scope: with `promoteScopeMetadata`, `otel_scope_name`,
 *   `otel_scope_version`, `otel_scope_schema_url` and `otel_scope_<attr>`.
 * - Gauges and non-monotonic sums -> gauges; monotonic sums -> counters;
 *   explicit-bucket histograms -> `_bucket{le}` (cumulative), `_sum` (when
 *   set), `_count`; summaries -> `{quantile}`, `_sum`, `_count`. A point with
 *   the "no recorded value" flag is a staleness marker.
 * - Delta temporality (sums and explicit-bucket histograms) is turned into
 *   cumulative per series by {@linkcode OtlpDeltaState} when points arrive in
 *   order; a point that overlaps or repeats the previous one is refused.
 * - Exponential histograms (cumulative) become native histograms as
 *   Prometheus 3 translates them (`otlp_exp_histogram.ts`); delta ones are
 *   refused per metric.
 *
 * Refused points are recorded in `rows.errors` with the path of the point
 * and counted in {@linkcode OtlpTranslation.rejectedPoints}.
 *
 * @module
 */
import {
  checkHistogram,
  formatFloat,
  type MetricMetadata,
  type MetricType,
  type NativeHistogram,
  STALE_NAN,
} from "../model/mod.ts";
import { exponentialToNative } from "./otlp_exp_histogram.ts";
import {
  FLAG_NO_RECORDED_VALUE,
  type OtlpAttr,
  type OtlpMetric,
  type OtlpPoint,
  type OtlpRequest,
  TEMPORALITY_CUMULATIVE,
  TEMPORALITY_DELTA,
} from "./otlp_decode.ts";
import { ParsedRows } from "./rows.ts";
import { ProtoWriter, VARINT } from "./_proto.ts";

/** How OTLP data is translated. */
export interface OtlpSettings {
  /** Resource attributes copied onto every series as labels. @default {[]} */
  readonly promoteResourceAttributes?: readonly string[];
  /** Add `otel_scope_*` labels. @default {false} */
  readonly promoteScopeMetadata?: boolean;
  /** Add unit and type suffixes to metric names. @default {true} */
  readonly addMetricSuffixes?: boolean;
  /** Keep service.* attributes on `target_info` too. @default {false} */
  readonly keepIdentifyingResourceAttributes?: boolean;
  /** Turn delta sums and histograms into cumulative ("convert") or refuse them. @default {"convert"} */
  readonly delta?: "convert" | "reject";
  /** Lookback delta (ms); `target_info` is written every half of it. @default {300000} */
  readonly lookbackMs?: number;
}

/** The outcome of {@linkcode translateOtlp}. */
export interface OtlpTranslation {
  readonly rows: ParsedRows;
  /** Data points refused by the translation (each named in `rows.errors`). */
  readonly rejectedPoints: number;
  /** Data points seen. */
  readonly points: number;
}

const UNIT_MAP: Record<string, string> = {
  d: "days",
  h: "hours",
  min: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  By: "bytes",
  KiBy: "kibibytes",
  MiBy: "mebibytes",
  GiBy: "gibibytes",
  TiBy: "tibibytes",
  KBy: "kilobytes",
  MBy: "megabytes",
  GBy: "gigabytes",
  TBy: "terabytes",
  m: "meters",
  V: "volts",
  A: "amperes",
  J: "joules",
  W: "watts",
  g: "grams",
  Cel: "celsius",
  Hz: "hertz",
  "1": "",
  "%": "percent",
};

const PER_UNIT_MAP: Record<string, string> = {
  s: "second",
  m: "minute",
  h: "hour",
  d: "day",
  w: "week",
  mo: "month",
  y: "year",
};

type NameType = "gauge" | "counter" | "updown" | "histogram" | "exponential_histogram" | "summary";

function isMetricChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 58;
}

function isLabelChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

/** Splits on runs of characters that `keep` refuses (Go's strings.FieldsFunc). */
function tokens(s: string, keep: (c: number) => boolean): string[] {
  const out: string[] = [];
  let cur = "";
  for (const ch of s) {
    if (ch.length === 1 && keep(ch.charCodeAt(0))) cur += ch;
    else if (cur !== "") {
      out.push(cur);
      cur = "";
    }
  }
  if (cur !== "") out.push(cur);
  return out;
}

function unitSuffixes(unit: string): [string, string] {
  const slash = unit.indexOf("/");
  const mainOtel = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  let main = "", per = "";
  if (mainOtel !== "" && !/[{}]/.test(mainOtel)) main = UNIT_MAP[mainOtel] ?? mainOtel;
  if (slash >= 0 && unit.slice(slash + 1) !== "") {
    const perOtel = unit.slice(slash + 1).trim();
    if (perOtel !== "" && !/[{}]/.test(perOtel)) per = PER_UNIT_MAP[perOtel] ?? perOtel;
    if (per !== "") per = "per_" + per;
  }
  return [main, per];
}

function cleanUpUnit(unit: string): string {
  let s = "";
  for (const ch of unit) s += ch.length === 1 && isMetricChar(ch.charCodeAt(0)) ? ch : "_";
  return s.replace(/_+/g, "_").replace(/^_/, "");
}

/** The unit text kept in metadata (Prometheus's UnitNamer). */
export function otlpUnit(unit: string): string {
  const [m, p] = unitSuffixes(unit);
  const main = cleanUpUnit(m), per = cleanUpUnit(p);
  let u = main !== "" && per !== "" ? main + "_" + per : main !== "" ? main : per;
  if (u.startsWith("_")) u = u.slice(1);
  if (u.endsWith("_")) u = u.slice(0, -1);
  return u;
}

/**
 * The Prometheus name of an OTLP metric, or "" when nothing valid remains.
 * `type` decides the `_total` and `_ratio` suffixes.
 */
export function otlpMetricName(
  name: string,
  unit: string,
  type: NameType,
  suffixes = true,
): string {
  let out: string;
  if (suffixes) {
    let toks = tokens(name, isMetricChar);
    const [m, p] = unitSuffixes(unit);
    let main = cleanUpUnit(m), per = cleanUpUnit(p);
    if (toks.includes(main)) main = "";
    if (per === "per_") per = "";
    else {
      per = per.replace(/_$/, "");
      if (toks.includes(per)) per = "";
    }
    if (per !== "") main = main.replace(/_$/, "");
    if (main !== "") toks.push(main);
    if (per !== "") toks.push(per);
    if (type === "counter") toks = [...toks.filter((t) => t !== "total"), "total"];
    if (unit === "1" && type === "gauge") toks = [...toks.filter((t) => t !== "ratio"), "ratio"];
    out = toks.join("_");
  } else {
    out = tokens(name, (c) => isMetricChar(c) || c === 95).join("_");
  }
  if (out !== "" && out.charCodeAt(0) >= 48 && out.charCodeAt(0) <= 57) out = "_" + out;
  if (out === "" || (out !== name && /^_*$/.test(out))) return "";
  return out;
}

/** The Prometheus label name of an attribute key, or "" when it cannot be one. */
export function otlpLabelName(key: string): string {
  if (key === "") return "";
  let s = "";
  for (const ch of key) s += ch.length === 1 && isLabelChar(ch.charCodeAt(0)) ? ch : "_";
  const c0 = s.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) s = "key_" + s;
  else if (s.startsWith("_") && !s.startsWith("__")) s = "key" + s;
  return /^_*$/.test(s) ? "" : s;
}

const IDENTIFYING = ["service.namespace", "service.name", "service.instance.id"];

/** Label pairs of a point: attributes (sanitised, collisions joined) + resource + scope. */
class LabelBuilder {
  readonly #m = new Map<string, string>();

  set(name: string, value: string): void {
    if (value === "") this.#m.delete(name);
    else this.#m.set(name, value);
  }

  get(name: string): string {
    return this.#m.get(name) ?? "";
  }

  pairs(): string[] {
    const out: string[] = [];
    for (const [k, v] of this.#m) out.push(k, v);
    return out;
  }
}

/** Adds sorted, sanitised attributes; returns the first key that cannot be a label name. */
function addAttributes(b: LabelBuilder, attrs: readonly OtlpAttr[], ignore?: string[]): string {
  const sorted = attrs.filter((a) => !ignore?.includes(a.key)).sort((x, y) =>
    x.key < y.key ? -1 : x.key > y.key ? 1 : 0
  );
  for (const a of sorted) {
    const name = otlpLabelName(a.key);
    if (name === "") return a.key;
    const existing = b.get(name);
    b.set(name, existing !== "" ? existing + ";" + a.value : a.value);
  }
  return "";
}

interface DeltaEntry {
  end: number;
  /** Sum: [value]; histogram: [count, sum, bucket counts...]. */
  values: number[];
  bounds: string;
}

/**
 * Running totals that turn delta points into cumulative ones, per series,
 * kept in memory (bounded; the oldest series are forgotten first). After a
 * restart or eviction a series starts again from its next delta, which
 * `rate()` reads as a counter reset.
 */
export class OtlpDeltaState {
  readonly #m = new Map<string, DeltaEntry>();

  constructor(readonly maxSeries = 100_000) {}

  /** Number of series tracked. */
  get size(): number {
    return this.#m.size;
  }

  /**
   * Adds a delta point to series `key`; returns the cumulative values, or a
   * reason to refuse the point.
   */
  add(key: string, p: OtlpPoint, values: number[], bounds = ""): number[] | string {
    const prev = this.#m.get(key);
    if (prev) {
      if (p.time <= prev.end) {
        return `delta point at ${p.time} ms is not after the previous one (${prev.end} ms) of the series; it cannot be added to the running total`;
      }
      if (p.start !== 0 && p.start < prev.end) {
        return `delta point starting at ${p.start} ms overlaps the previous one, which ended at ${prev.end} ms`;
      }
      if (prev.bounds !== bounds) {
        return "the histogram's bucket bounds changed between delta points";
      }
      const out = prev.values.map((v, i) => v + (values[i] ?? 0));
      this.#m.delete(key);
      this.#m.set(key, { end: p.time, values: out, bounds });
      return out;
    }
    if (this.#m.size >= this.maxSeries) {
      const oldest = this.#m.keys().next().value;
      if (oldest !== undefined) this.#m.delete(oldest);
    }
    this.#m.set(key, { end: p.time, values: values.slice(), bounds });
    return values;
  }
}

/**
 * Translates a decoded OTLP request into rows. `delta` carries running
 * totals between requests (required for delta temporality to be converted).
 */
export function translateOtlp(
  req: OtlpRequest,
  settings: OtlpSettings = {},
  delta?: OtlpDeltaState,
): OtlpTranslation {
  const rows = new ParsedRows();
  const suffixes = settings.addMetricSuffixes ?? true;
  const promote = settings.promoteResourceAttributes ?? [];
  const lookback = settings.lookbackMs ?? 300_000;
  const series = new Map<string, number>();
  let rejected = 0, points = 0;

  const refuse = (where: string, value: string, message: string, n = 1) => {
    rows.addError(where, value, message);
    rejected += n;
  };

  const seriesOf = (name: string, labels: string[]) => {
    const key = name + "\u0000" + labels.join("\u0000");
    let j = series.get(key);
    if (j === undefined) {
      j = rows.addSeries(name, labels, "otlp\u0000" + key, "");
      series.set(key, j);
    }
    return j;
  };
  const emit = (name: string, labels: string[], t: number, v: number) =>
    rows.addSample(seriesOf(name, labels), t, v);
  const emitHistogram = (name: string, labels: string[], t: number, h: NativeHistogram) =>
    rows.addHistogram(seriesOf(name, labels), t, h);

  req.resources.forEach((res, ri) => {
    const attr = (k: string) => res.attributes.find((a) => a.key === k)?.value;
    const serviceName = attr("service.name");
    const ns = attr("service.namespace");
    const job = serviceName !== undefined
      ? (ns !== undefined ? ns + "/" + serviceName : serviceName)
      : "";
    const instance = attr("service.instance.id") ?? "";
    const promoted: [string, string][] = [];
    for (const a of res.attributes) {
      if (!promote.includes(a.key)) continue;
      const name = otlpLabelName(a.key);
      if (name !== "") promoted.push([name, a.value]);
    }
    let minT = Infinity, maxT = -Infinity;

    res.scopes.forEach((scope, si) => {
      const scopeLabels: [string, string][] = [];
      if (settings.promoteScopeMetadata && scope.name !== "") {
        for (const a of scope.attributes) {
          const name = otlpLabelName("otel_scope_" + a.key);
          if (name !== "") scopeLabels.push([name, a.value]);
        }
        scopeLabels.push(["otel_scope_name", scope.name]);
        scopeLabels.push(["otel_scope_version", scope.version]);
        scopeLabels.push(["otel_scope_schema_url", scope.schemaUrl]);
      }

      scope.metrics.forEach((m, mi) => {
        const where = `resourceMetrics[${ri}].scopeMetrics[${si}].metrics[${mi}]`;
        points += m.points.length;
        for (const p of m.points) {
          if (p.time < minT) minT = p.time;
          if (p.time > maxT) maxT = p.time;
        }
        translateMetric(m, where);
      });

      function baseLabels(p: OtlpPoint, where: string): string[] | undefined {
        const b = new LabelBuilder();
        const bad = addAttributes(b, p.attributes);
        if (bad !== "") {
          refuse(
            where + ".attributes",
            bad,
            `attribute ${JSON.stringify(bad)} cannot be a label name (nothing but underscores)`,
          );
          return undefined;
        }
        for (const [k, v] of promoted) if (b.get(k) === "") b.set(k, v);
        if (job !== "") b.set("job", job);
        if (instance !== "") b.set("instance", instance);
        for (const [k, v] of scopeLabels) b.set(k, v);
        return b.pairs();
      }

      function translateMetric(m: OtlpMetric, where: string): void {
        const n = m.points.length;
        if (m.kind === "none") {
          if (n === 0) return;
          return refuse(where, m.name, "metric has no data (gauge, sum, histogram or summary)", n);
        }
        if (m.kind === "exponential_histogram" && m.temporality !== TEMPORALITY_CUMULATIVE) {
          return refuse(
            where + ".aggregationTemporality",
            m.temporality === TEMPORALITY_DELTA ? "delta" : String(m.temporality),
            "exponential histograms must be cumulative (delta ones are refused, as in Prometheus 3)",
            n,
          );
        }
        const temporal = m.kind === "sum" || m.kind === "histogram";
        const isDelta = temporal && m.temporality === TEMPORALITY_DELTA;
        if (temporal && m.temporality !== TEMPORALITY_CUMULATIVE && !isDelta) {
          return refuse(
            where + ".aggregationTemporality",
            String(m.temporality),
            `invalid temporality and type combination for metric ${JSON.stringify(m.name)}`,
            n,
          );
        }
        if (isDelta && (settings.delta === "reject" || !delta)) {
          return refuse(
            where + ".aggregationTemporality",
            "delta",
            "delta temporality is refused (set otlp.delta: convert, or export cumulative)",
            n,
          );
        }
        const nameType: NameType = m.kind === "sum"
          ? (m.monotonic ? "counter" : "updown")
          : m.kind === "gauge"
          ? "gauge"
          : m.kind;
        const name = otlpMetricName(m.name, m.unit, nameType, suffixes);
        if (name === "") {
          return refuse(
            where + ".name",
            m.name,
            `normalization for metric ${
              JSON.stringify(m.name)
            } resulted in an empty or invalid name`,
            n,
          );
        }
        const type: MetricType = nameType === "counter"
          ? "counter"
          : nameType === "histogram" || nameType === "exponential_histogram"
          ? "histogram"
          : nameType === "summary"
          ? "summary"
          : "gauge";
        const meta: MetricMetadata = { type, help: m.description, unit: otlpUnit(m.unit) };
        rows.metadata.set(name, meta);

        m.points.forEach((p, pi) => {
          const pw = `${where}.dataPoints[${pi}]`;
          const labels = baseLabels(p, pw);
          if (!labels) return;
          const stale = (p.flags & FLAG_NO_RECORDED_VALUE) !== 0;
          const val = (v: number) => stale ? STALE_NAN : v;
          if (m.kind === "gauge" || m.kind === "sum") {
            let v = p.value ?? 0;
            if (isDelta && !stale) {
              const got = delta!.add(name + "\u0000" + labels.join("\u0000"), p, [v]);
              if (typeof got === "string") return refuse(pw, name, got);
              v = got[0]!;
            }
            emit(name, labels, p.time, val(v));
          } else if (m.kind === "exponential_histogram") {
            if (stale) return emit(name, labels, p.time, STALE_NAN);
            const h = exponentialToNative(p.exp!, p.count ?? 0, p.sum, "unknown");
            if (typeof h === "string") return refuse(pw + ".scale", String(p.exp!.scale), h);
            const bad = checkHistogram(h);
            if (bad !== undefined) return refuse(pw, name, bad);
            emitHistogram(name, labels, p.time, h);
          } else if (m.kind === "histogram") {
            const counts = p.bucketCounts ?? [], bounds = p.bounds ?? [];
            let count = p.count ?? 0, sum = p.sum;
            let cum = counts;
            if (isDelta && !stale) {
              const got = delta!.add(
                name + "\u0000" + labels.join("\u0000"),
                p,
                [count, sum ?? 0, ...counts],
                bounds.join(","),
              );
              if (typeof got === "string") return refuse(pw, name, got);
              count = got[0]!;
              if (sum !== undefined) sum = got[1]!;
              cum = got.slice(2);
            }
            if (sum !== undefined) emit(name + "_sum", labels, p.time, val(sum));
            emit(name + "_count", labels, p.time, val(count));
            let c = 0;
            for (let i = 0; i < bounds.length && i < cum.length; i++) {
              c += cum[i]!;
              emit(
                name + "_bucket",
                withLabel(labels, "le", formatFloat(bounds[i]!)),
                p.time,
                val(c),
              );
            }
            emit(name + "_bucket", withLabel(labels, "le", "+Inf"), p.time, val(count));
          } else {
            emit(name + "_sum", labels, p.time, val(p.sum ?? 0));
            emit(name + "_count", labels, p.time, val(p.count ?? 0));
            for (const [q, v] of p.quantiles ?? []) {
              emit(name, withLabel(labels, "quantile", formatFloat(q)), p.time, val(v));
            }
          }
        });
      }
    });

    // target_info: the resource's other attributes, when it has an identity.
    if (maxT < minT) return;
    const ignore = settings.keepIdentifyingResourceAttributes ? [] : IDENTIFYING;
    if (!res.attributes.some((a) => !IDENTIFYING.includes(a.key))) return;
    const b = new LabelBuilder();
    if (addAttributes(b, res.attributes, ignore) !== "") return;
    if (job !== "") b.set("job", job);
    if (instance !== "") b.set("instance", instance);
    if (b.get("job") === "" && b.get("instance") === "") return;
    const labels = b.pairs();
    rows.metadata.set("target_info", { type: "gauge", help: "Target metadata", unit: "" });
    const step = Math.max(1, Math.floor(lookback / 2));
    for (let t = minT; t < maxT; t += step) emit("target_info", labels, t, 1);
    emit("target_info", labels, maxT, 1);
  });

  rows.invalidSamples += rejected;
  return { rows, rejectedPoints: rejected, points };
}

function withLabel(labels: string[], name: string, value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < labels.length; i += 2) {
    if (labels[i] !== name) out.push(labels[i]!, labels[i + 1]!);
  }
  out.push(name, value);
  return out;
}

/**
 * A protobuf `ExportMetricsServiceResponse`: empty when everything was
 * accepted, else with `partial_success { rejected_data_points, error_message }`.
 */
export function encodeOtlpResponse(rejected: number, errorMessage: string): Uint8Array {
  const out = new ProtoWriter(64);
  if (rejected > 0 || errorMessage !== "") {
    const ps = new ProtoWriter(64 + errorMessage.length * 3);
    if (rejected > 0) {
      ps.tag(1, VARINT);
      ps.uvarint(rejected);
    }
    if (errorMessage !== "") ps.string(2, errorMessage);
    out.message(1, ps.finish());
  }
  return out.finish();
}

/** A protobuf `google.rpc.Status` (the body of an OTLP error response). */
export function encodeRpcStatus(code: number, msg: string): Uint8Array {
  const out = new ProtoWriter(32 + msg.length * 3);
  out.tag(1, VARINT);
  out.uvarint(code);
  out.string(2, msg);
  return out.finish();
}
