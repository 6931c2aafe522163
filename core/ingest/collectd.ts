/**
 * collectd's `write_http` JSON format (`Format "JSON"`), pure: text -> rows +
 * problems. Each value list
 *
 * ```json
 * {"values":[0.5,0.7],"dstypes":["gauge","gauge"],"dsnames":["shortterm","midterm"],
 *  "time":1700000000.123,"interval":10,"host":"nas","plugin":"load",
 *  "plugin_instance":"","type":"load","type_instance":""}
 * ```
 *
 * becomes one sample per data source, named as Prometheus's
 * collectd_exporter names them: `collectd_<plugin>_<type>`, then
 * `_<dsname>` unless the data source is called `value`, then `_total` for
 * `counter` and `derive`; names sanitized as in {@linkcode parseGraphiteLines}.
 * Labels: `instance` = host, `<plugin>` = plugin_instance and `type` =
 * type_instance (each only when not empty). `time` is unix seconds
 * (fractions allowed; 0 or absent = now).
 *
 * @module
 */
import { NOT_JSON, ParsedRows, parseJsonBody } from "./rows.ts";
import { sanitizeLabelName, sanitizeMetricName } from "./_util.ts";

/** Options for {@linkcode parseCollectdJson}. */
export interface CollectdParseOptions {
  /** Timestamp (ms) for value lists without a time. */
  readonly now: number;
}

const DS_TYPES = new Set(["gauge", "counter", "derive", "absolute"]);

/** Parses a `write_http` JSON body; never throws on bad input. */
export function parseCollectdJson(text: string, options: CollectdParseOptions): ParsedRows {
  const rows = new ParsedRows();
  const doc = parseJsonBody(text, rows);
  if (doc === NOT_JSON) return rows;
  if (!Array.isArray(doc)) {
    rows.addError("body", "", "body must be a JSON array of collectd value lists");
    return rows;
  }
  for (let i = 0; i < doc.length; i++) valueList(rows, doc[i], `[${i}]`, options.now);
  return rows;
}

function valueList(rows: ParsedRows, input: unknown, where: string, now: number): void {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    rows.addError(where, "", "value list must be a JSON object");
    rows.invalidSamples++;
    return;
  }
  const o = input as Record<string, unknown>;
  const problems: [string, string][] = [];
  const str = (k: string, required: boolean) => {
    const v = o[k];
    if (v === undefined && !required) return "";
    if (typeof v !== "string") {
      problems.push([k, `${k} must be a string`]);
      return "";
    }
    return v;
  };
  const plugin = str("plugin", true), type = str("type", true), host = str("host", false);
  const pluginInstance = str("plugin_instance", false);
  const typeInstance = str("type_instance", false);
  const values = o.values, dstypes = o.dstypes, dsnames = o.dsnames;
  if (!Array.isArray(values) || values.length === 0) {
    problems.push(["values", "values must be a non-empty list of numbers"]);
  }
  const n = Array.isArray(values) ? values.length : 0;
  if (!Array.isArray(dstypes) || dstypes.length !== n) {
    problems.push(["dstypes", "dstypes must list one type per value"]);
  }
  if (!Array.isArray(dsnames) || dsnames.length !== n) {
    problems.push(["dsnames", "dsnames must list one name per value"]);
  }
  let t = now;
  if (o.time !== undefined && o.time !== 0) {
    if (typeof o.time !== "number" || !Number.isFinite(o.time) || o.time < 0) {
      problems.push(["time", "time must be unix seconds"]);
    } else t = Math.round(o.time * 1000);
  }
  if (problems.length > 0) {
    for (const [field, message] of problems) {
      rows.addError(`${where}.${field}`, JSON.stringify(o[field]) ?? "", message);
    }
    rows.invalidSamples += Math.max(1, n);
    return;
  }
  const labels: string[] = [];
  if (host !== "") labels.push("instance", host);
  if (pluginInstance !== "") labels.push(sanitizeLabelName(plugin), pluginInstance);
  if (typeInstance !== "") labels.push("type", typeInstance);
  const base = plugin === type ? `collectd_${plugin}` : `collectd_${plugin}_${type}`;
  for (let k = 0; k < n; k++) {
    const v = (values as unknown[])[k], ds = (dstypes as unknown[])[k];
    const dsname = (dsnames as unknown[])[k];
    if (typeof ds !== "string" || !DS_TYPES.has(ds)) {
      rows.addError(
        `${where}.dstypes[${k}]`,
        String(ds),
        "data source type must be gauge, counter, derive or absolute",
      );
      rows.invalidSamples++;
      continue;
    }
    // collectd sends null for an unknown gauge value (NaN).
    const value = v === null ? NaN : v;
    if (typeof value !== "number" || typeof dsname !== "string") {
      rows.addError(`${where}.values[${k}]`, String(v), "value must be a number");
      rows.invalidSamples++;
      continue;
    }
    const counter = ds === "counter" || ds === "derive";
    const name = sanitizeMetricName(
      `${base}${dsname === "value" ? "" : `_${dsname}`}${counter ? "_total" : ""}`,
    );
    rows.metadata.set(name, { type: counter ? "counter" : "gauge", help: "", unit: "" });
    rows.addSample(rows.addSeries(name, labels, "", `${where}.values[${k}]`), t, value);
  }
}
