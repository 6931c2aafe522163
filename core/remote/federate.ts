/**
 * Federation: the latest sample of every series matching any of the
 * `match[]` selectors, as Prometheus's `/federate` serves it, in the
 * Prometheus text format (0.0.4) or, when the scraper asks for it, the
 * length-delimited protobuf format:
 *
 * - a series is included when it has a sample in [now - lookback, now]; its
 *   newest one (a float or a native histogram) is written with its
 *   timestamp; a series whose newest sample is a staleness marker is left
 *   out (it has ended);
 * - external labels are added to series that do not have them;
 * - series are grouped by metric name and kind, each group one family:
 *   floats typed by the metric's metadata for counters and gauges, `untyped`
 *   otherwise; native histograms `histogram` (`gauge_histogram` for gauge
 *   histograms);
 * - native histograms with exponential buckets exist only in the protobuf
 *   format; in the text format they are left out, as Prometheus does.
 *   Histograms with custom buckets (schema -53) are written as classic
 *   histograms (`_bucket{le}`, `_sum`, `_count`) in both formats.
 *
 * @module
 */
import {
  cumulativeCustomBuckets,
  encodeMetricFamily,
  type ExpositionMetric,
  type ExpositionType,
} from "../ingest/mod.ts";
import {
  CUSTOM_BUCKETS_SCHEMA,
  isStaleNaN,
  type Labels,
  labelsKey,
  type Matcher,
  METRIC_NAME,
  type NativeHistogram,
  type Querier,
} from "../model/mod.ts";
import { escapeLabelValue, formatSampleValue } from "../selfmon/mod.ts";

/** Options of {@linkcode federate}. */
export interface FederateOptions {
  /** Evaluation time, ms. */
  readonly now: number;
  /** How far back a sample still counts, ms. @default 5 min */
  readonly lookbackMs?: number;
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** @default "text" */
  readonly format?: "text" | "protobuf";
}

interface Latest {
  labels: Labels;
  name: string;
  t: number;
  v: number;
  h?: NativeHistogram;
  type: ExpositionType;
}

/**
 * The format to answer a scraper with, from its Accept header (as
 * Prometheus's `expfmt.Negotiate`): the length-delimited protobuf format
 * when that is the most preferred media type it names, else text.
 */
export function negotiateFederate(accept: string | null): "text" | "protobuf" {
  const ranges = (accept ?? "").split(",").map((part, i) => {
    const [type = "", ...params] = part.split(";").map((x) => x.trim());
    const p = new Map(params.map((x) => {
      const eq = x.indexOf("=");
      return [x.slice(0, eq).trim().toLowerCase(), x.slice(eq + 1).trim().replace(/^"|"$/g, "")];
    }));
    const q = p.has("q") ? Number(p.get("q")) : 1;
    return { type: type.toLowerCase(), p, q: Number.isFinite(q) ? q : 0, i };
  }).filter((r) => r.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranges) {
    if (r.type === "application/vnd.google.protobuf") {
      if (
        r.p.get("proto") === "io.prometheus.client.MetricFamily" &&
        r.p.get("encoding") === "delimited"
      ) return "protobuf";
    } else if (r.type === "text/plain" || r.type === "*/*") return "text";
  }
  return "text";
}

/**
 * Yields the federation answer in chunks (one per metric family): strings
 * in the text format, bytes in the protobuf format. `selectors` holds one
 * matcher list per `match[]`; a series matching several is written once.
 */
export async function* federate(
  querier: Querier,
  selectors: readonly (readonly Matcher[])[],
  options: FederateOptions,
): AsyncGenerator<string | Uint8Array> {
  const lookback = options.lookbackMs ?? 300_000;
  const proto = options.format === "protobuf";
  const hints = { minT: options.now - lookback, maxT: options.now };
  const seen = new Map<string, Latest>();
  const meta = await querier.metadata();
  for (const matchers of selectors) {
    for (const s of await querier.select(matchers, hints)) {
      const key = labelsKey(s.labels);
      if (seen.has(key)) continue;
      const n = s.t.length, hs = s.histograms;
      const nh = hs?.t.length ?? 0;
      if (n === 0 && nh === 0) continue;
      const labels = withExternal(s.labels, options.externalLabels);
      const name = labels.find((l) => l.name === METRIC_NAME)?.value ?? "";
      if (nh > 0 && (n === 0 || hs!.t[nh - 1]! >= s.t[n - 1]!)) {
        const h = hs!.h[nh - 1]!;
        if (isStaleNaN(h.sum)) continue;
        // No exponential native histograms in the text format (as Prometheus).
        if (!proto && h.schema !== CUSTOM_BUCKETS_SCHEMA) continue;
        const type = h.counterResetHint === "gauge" ? "gauge_histogram" : "histogram";
        seen.set(key, { labels, name, t: hs!.t[nh - 1]!, v: 0, h, type });
        continue;
      }
      const v = s.v[n - 1]!;
      if (isStaleNaN(v)) continue;
      const mt = meta.get(name)?.type;
      const type = mt === "counter" || mt === "gauge" ? mt : "untyped";
      seen.set(key, { labels, name, t: s.t[n - 1]!, v, type });
    }
  }
  const all = [...seen.values()].sort((a, b) =>
    order(a.name, b.name) || order(a.type, b.type) ||
    order(labelsKey(a.labels), labelsKey(b.labels))
  );
  let i = 0;
  while (i < all.length) {
    const { name, type } = all[i]!;
    const group: Latest[] = [];
    for (; i < all.length && all[i]!.name === name && all[i]!.type === type; i++) {
      group.push(all[i]!);
    }
    yield proto ? protoFamily(name, type, group) : textFamily(name, type, group);
  }
}

function protoFamily(name: string, type: ExpositionType, group: readonly Latest[]): Uint8Array {
  const metrics: ExpositionMetric[] = group.map((s) => ({
    labels: s.labels.filter((l) => l.name !== METRIC_NAME),
    timestampMs: s.t,
    ...(s.h ? { histogram: s.h } : { value: s.v }),
  }));
  return encodeMetricFamily({ name, type, metrics });
}

function textFamily(name: string, type: ExpositionType, group: readonly Latest[]): string {
  const lines = [`# TYPE ${name} ${type === "gauge_histogram" ? "histogram" : type}`];
  for (const s of group) {
    const ts = Math.round(s.t);
    if (!s.h) {
      lines.push(`${name}${labelText(s.labels)} ${formatSampleValue(s.v)} ${ts}`);
      continue;
    }
    // A custom-bucket histogram as a classic one: cumulative buckets, +Inf, sum, count.
    const cumulative = cumulativeCustomBuckets(s.h);
    (s.h.customValues ?? []).forEach((le, k) => {
      const l = labelText(s.labels, `le="${formatSampleValue(le)}"`);
      lines.push(`${name}_bucket${l} ${formatSampleValue(cumulative[k]!)} ${ts}`);
    });
    lines.push(
      `${name}_bucket${labelText(s.labels, 'le="+Inf"')} ${formatSampleValue(s.h.count)} ${ts}`,
    );
    lines.push(`${name}_sum${labelText(s.labels)} ${formatSampleValue(s.h.sum)} ${ts}`);
    lines.push(`${name}_count${labelText(s.labels)} ${formatSampleValue(s.h.count)} ${ts}`);
  }
  return lines.join("\n") + "\n";
}

function withExternal(labels: Labels, ext: Readonly<Record<string, string>> | undefined): Labels {
  if (!ext) return labels;
  const missing = Object.entries(ext).filter(([k, v]) =>
    v !== "" && !labels.some((l) => l.name === k)
  );
  if (missing.length === 0) return labels;
  return [...labels, ...missing.map(([name, value]) => ({ name, value }))]
    .sort((a, b) => order(a.name, b.name));
}

function order(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function labelText(labels: Labels, extra?: string): string {
  const parts: string[] = [];
  for (const l of labels) {
    if (l.name !== METRIC_NAME) parts.push(`${l.name}="${escapeLabelValue(l.value)}"`);
  }
  if (extra) parts.push(extra);
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}
