/**
 * Export and import of raw samples.
 *
 * JSON lines, as VictoriaMetrics's `/api/v1/export`: one object per series
 * and time chunk, `{"metric":{"__name__":"x","a":"b"},"values":[...],"timestamps":[...]}`
 * with timestamps in ms. A long range is read in chunks, so a series may
 * appear on several lines (ascending in time); import accepts that. Finite
 * values are JSON numbers; the others are strings: `"NaN"`, `"Inf"`,
 * `"-Inf"` and `"StaleNaN"` (Perch's staleness marker), so a round trip is
 * lossless. Import also accepts `"+Inf"` and `null` (NaN). Native histogram
 * samples are on lines of their own, `{"metric":{...},"histograms":[{...}],
 * "timestamps":[...]}`, each histogram in the lossless JSON form of
 * export_values.ts; a series holding floats and histograms has lines of both.
 *
 * CSV (`format=csv`), one row per sample, RFC 4180 quoting, with a header:
 *
 * ```
 * series,timestamp_ms,value
 * "temp{room=""a b""}",1700000000000,21.5
 * ```
 *
 * `series` is the Prometheus form `name{label="value",...}` (labels sorted);
 * `value` uses the same special words as JSON (`NaN`, `Inf`, `-Inf`,
 * `StaleNaN`); a native histogram's `value` is its JSON object (quoted).
 *
 * @module
 */
import {
  type Labels,
  labelsKey,
  labelsToObject,
  type Matcher,
  METRIC_NAME,
  type Querier,
  type SeriesData,
} from "../model/mod.ts";
import {
  formatExportValue,
  histogramFromJson,
  HistogramJsonError,
  histogramToJson,
  parseExportValue,
} from "./export_values.ts";
import { ParsedRows } from "../ingest/mod.ts";
import { escapeLabelValue } from "../selfmon/mod.ts";

/** Options of {@linkcode exportStream}. */
export interface ExportOptions {
  /** Inclusive bounds, ms. */
  readonly start: number;
  readonly end: number;
  readonly format: "json" | "csv";
  /** Width of the first read; it adapts after. @default 1 h */
  readonly chunkMs?: number;
}

function seriesText(labels: Labels): string {
  const name = labels.find((l) => l.name === METRIC_NAME)?.value ?? "";
  const rest = labels.filter((l) => l.name !== METRIC_NAME)
    .map((l) => `${l.name}="${escapeLabelValue(l.value)}"`);
  return `${name}{${rest.join(",")}}`;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function jsonLine(s: SeriesData): string {
  const metric = labelsToObject(s.labels);
  let out = "";
  if (s.t.length > 0) {
    const values: (string | number)[] = new Array(s.v.length);
    for (let i = 0; i < s.v.length; i++) values[i] = formatExportValue(s.v[i]!);
    out += JSON.stringify({ metric, values, timestamps: Array.from(s.t) }) + "\n";
  }
  const hs = s.histograms;
  if (hs && hs.t.length > 0) {
    const histograms = hs.h.map(histogramToJson);
    out += JSON.stringify({ metric, histograms, timestamps: Array.from(hs.t) }) + "\n";
  }
  return out;
}

function csvRows(s: SeriesData): string {
  const name = csvField(seriesText(s.labels));
  let out = "";
  for (let i = 0; i < s.t.length; i++) {
    out += `${name},${s.t[i]},${formatExportValue(s.v[i]!)}\n`;
  }
  const hs = s.histograms;
  for (let i = 0; i < (hs?.t.length ?? 0); i++) {
    out += `${name},${hs!.t[i]},${csvField(JSON.stringify(histogramToJson(hs!.h[i]!)))}\n`;
  }
  return out;
}

/**
 * Streams series matching any selector over [start, end], chunk by chunk,
 * as JSON lines or CSV. Reading happens as the consumer pulls. The chunk
 * width adapts: it doubles over empty ranges (up to 7 days, so a wide
 * default range is crossed quickly) and shrinks when a chunk held many
 * samples (down to 1 minute), so memory holds about one chunk of data.
 */
export function exportStream(
  querier: Querier,
  selectors: readonly (readonly Matcher[])[],
  o: ExportOptions,
): ReadableStream<Uint8Array> {
  let width = o.chunkMs ?? 3_600_000;
  const target = 200_000;
  const enc = new TextEncoder();
  let lo = o.start;
  let header = o.format === "csv";
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (header) {
        header = false;
        controller.enqueue(enc.encode("series,timestamp_ms,value\n"));
        return;
      }
      // Skip empty chunks without yielding an empty write.
      while (lo <= o.end) {
        const hi = Math.min(o.end, lo + width - 1);
        const minT = lo;
        lo = hi + 1;
        const seen = new Set<string>();
        let text = "";
        let n = 0;
        for (const m of selectors) {
          for (const s of await querier.select(m, { minT, maxT: hi })) {
            const key = labelsKey(s.labels);
            if (seen.has(key)) continue;
            seen.add(key);
            const c = clipSeries(s, minT, hi);
            const nh = c.histograms?.t.length ?? 0;
            if (c.t.length === 0 && nh === 0) continue;
            n += c.t.length + nh;
            text += o.format === "csv" ? csvRows(c) : jsonLine(c);
          }
        }
        if (n === 0) width = Math.min(width * 2, 7 * 86_400_000);
        else if (n > target) width = Math.max(60_000, Math.floor(width / 2));
        else if (n < target / 4) width = Math.min(width * 2, 86_400_000);
        if (text !== "") {
          controller.enqueue(enc.encode(text));
          return;
        }
      }
      controller.close();
    },
  });
}

/** Index range [a, b) of the ascending `t` within [lo, hi]. */
function within(t: Float64Array, lo: number, hi: number): [number, number] {
  let a = 0, b = t.length;
  while (a < b && t[a]! < lo) a++;
  while (b > a && t[b - 1]! > hi) b--;
  return [a, b];
}

function clipSeries(s: SeriesData, lo: number, hi: number): SeriesData {
  const [a, b] = within(s.t, lo, hi);
  const hs = s.histograms;
  const [ha, hb] = hs ? within(hs.t, lo, hi) : [0, 0];
  if (a === 0 && b === s.t.length && (!hs || (ha === 0 && hb === hs.t.length))) return s;
  const out = { labels: s.labels, t: s.t.subarray(a, b), v: s.v.subarray(a, b) };
  return hs && hb > ha
    ? { ...out, histograms: { t: hs.t.subarray(ha, hb), h: hs.h.slice(ha, hb) } }
    : out;
}

/**
 * Parses JSON lines of export into rows for the ingest pipeline. Bad lines
 * are reported (naming the line and field) and skipped; the rest is kept.
 */
export function parseImportLines(text: string, firstLine = 1): ParsedRows {
  const rows = new ParsedRows();
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === "") continue;
    const ln = firstLine + n;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      rows.addError(`line ${ln}`, line, `invalid JSON: ${(e as Error).message}`, ln);
      continue;
    }
    const o = obj as {
      metric?: unknown;
      values?: unknown;
      histograms?: unknown;
      timestamps?: unknown;
    };
    if (typeof o !== "object" || o === null || typeof o.metric !== "object" || !o.metric) {
      rows.addError(`line ${ln} metric`, line, "metric must be an object of labels", ln);
      continue;
    }
    const hist = o.histograms !== undefined;
    const items = hist ? o.histograms : o.values;
    const what = hist ? "histograms" : "values";
    if (!Array.isArray(items) || !Array.isArray(o.timestamps)) {
      rows.addError(`line ${ln} ${what}`, line, `${what} and timestamps must be arrays`, ln);
      continue;
    }
    if (items.length !== o.timestamps.length) {
      rows.addError(
        `line ${ln} timestamps`,
        line,
        `${what} (${items.length}) and timestamps (${o.timestamps.length}) differ in length`,
        ln,
      );
      continue;
    }
    const metric = o.metric as Record<string, unknown>;
    let name = "";
    const labels: string[] = [];
    let bad = false;
    for (const [k, v] of Object.entries(metric)) {
      if (typeof v !== "string") {
        rows.addError(`line ${ln} metric.${k}`, String(v), "label values must be strings", ln);
        bad = true;
        break;
      }
      if (k === METRIC_NAME) name = v;
      else labels.push(k, v);
    }
    if (bad) continue;
    const j = rows.addSeries(name, labels, "", "", ln);
    for (let i = 0; i < items.length; i++) {
      const t = o.timestamps[i];
      if (typeof t !== "number" || !Number.isFinite(t)) {
        rows.addError(`line ${ln} timestamps[${i}]`, String(t), "not a number of ms", ln);
        rows.invalidSamples++;
        continue;
      }
      if (hist) {
        try {
          rows.addHistogram(j, t, histogramFromJson(items[i]));
        } catch (e) {
          if (!(e instanceof HistogramJsonError)) throw e;
          const field = `line ${ln} histograms[${i}]${e.field ? `.${e.field}` : ""}`;
          rows.addError(field, JSON.stringify(items[i]), e.message, ln);
          rows.invalidSamples++;
        }
        continue;
      }
      const v = parseExportValue(items[i]);
      if (v === undefined) {
        rows.addError(
          `line ${ln} values[${i}]`,
          String(items[i]),
          "not a number or NaN/Inf/-Inf/StaleNaN",
          ln,
        );
        rows.invalidSamples++;
        continue;
      }
      rows.addSample(j, t, v);
    }
  }
  return rows;
}
