/**
 * Export and import of raw samples.
 *
 * JSON lines, as VictoriaMetrics's `/api/v1/export`: one object per series
 * and time chunk, `{"metric":{"__name__":"x","a":"b"},"values":[…],"timestamps":[…]}`
 * with timestamps in ms. A long range is read in chunks, so a series may
 * appear on several lines (ascending in time); import accepts that. Finite
 * values are JSON numbers; the others are strings: `"NaN"`, `"Inf"`,
 * `"-Inf"` and `"StaleNaN"` (Perch's staleness marker), so a round trip is
 * lossless. Import also accepts `"+Inf"` and `null` (NaN).
 *
 * CSV (`format=csv`), one row per sample, RFC 4180 quoting, with a header:
 *
 * ```
 * series,timestamp_ms,value
 * "temp{room=""a b""}",1700000000000,21.5
 * ```
 *
 * `series` is the Prometheus form `name{label="value",…}` (labels sorted);
 * `value` uses the same special words as JSON (`NaN`, `Inf`, `-Inf`,
 * `StaleNaN`).
 *
 * @module
 */
import {
  isStaleNaN,
  type Labels,
  labelsKey,
  labelsToObject,
  type Matcher,
  METRIC_NAME,
  type Querier,
  type SeriesData,
  STALE_NAN,
} from "../model/mod.ts";
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

/** The text of a value in export. */
export function formatExportValue(v: number): string | number {
  if (Number.isFinite(v)) return v;
  if (v === Infinity) return "Inf";
  if (v === -Infinity) return "-Inf";
  return isStaleNaN(v) ? "StaleNaN" : "NaN";
}

/** The value of an export text or number; undefined when it is neither. */
export function parseExportValue(x: unknown): number | undefined {
  if (typeof x === "number") return x;
  if (x === null) return NaN;
  switch (x) {
    case "NaN":
      return NaN;
    case "Inf":
    case "+Inf":
      return Infinity;
    case "-Inf":
      return -Infinity;
    case "StaleNaN":
      return STALE_NAN;
  }
  if (typeof x === "string" && x.trim() !== "" && Number.isFinite(Number(x))) return Number(x);
  return undefined;
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
  const values: (string | number)[] = new Array(s.v.length);
  for (let i = 0; i < s.v.length; i++) values[i] = formatExportValue(s.v[i]!);
  return JSON.stringify({
    metric: labelsToObject(s.labels),
    values,
    timestamps: Array.from(s.t),
  }) + "\n";
}

function csvRows(s: SeriesData): string {
  const name = csvField(seriesText(s.labels));
  let out = "";
  for (let i = 0; i < s.t.length; i++) {
    out += `${name},${s.t[i]},${formatExportValue(s.v[i]!)}\n`;
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
            if (c.t.length === 0) continue;
            n += c.t.length;
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

function clipSeries(s: SeriesData, lo: number, hi: number): SeriesData {
  let a = 0, b = s.t.length;
  while (a < b && s.t[a]! < lo) a++;
  while (b > a && s.t[b - 1]! > hi) b--;
  if (a === 0 && b === s.t.length) return s;
  return { labels: s.labels, t: s.t.subarray(a, b), v: s.v.subarray(a, b) };
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
    const o = obj as { metric?: unknown; values?: unknown; timestamps?: unknown };
    if (typeof o !== "object" || o === null || typeof o.metric !== "object" || !o.metric) {
      rows.addError(`line ${ln} metric`, line, "metric must be an object of labels", ln);
      continue;
    }
    if (!Array.isArray(o.values) || !Array.isArray(o.timestamps)) {
      rows.addError(`line ${ln} values`, line, "values and timestamps must be arrays", ln);
      continue;
    }
    if (o.values.length !== o.timestamps.length) {
      rows.addError(
        `line ${ln} timestamps`,
        line,
        `values (${o.values.length}) and timestamps (${o.timestamps.length}) differ in length`,
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
    for (let i = 0; i < o.values.length; i++) {
      const v = parseExportValue(o.values[i]);
      const t = o.timestamps[i];
      if (v === undefined || typeof t !== "number" || !Number.isFinite(t)) {
        rows.addError(
          `line ${ln} ${v === undefined ? "values" : "timestamps"}[${i}]`,
          String(v === undefined ? o.values[i] : t),
          v === undefined ? "not a number or NaN/Inf/-Inf/StaleNaN" : "not a number of ms",
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
