/**
 * Graphite's plaintext protocol (pure: text -> rows + problems), as carbon,
 * collectd's `write_graphite` and many IoT devices send it:
 *
 * ```
 * <path> <value> [<timestamp>]
 * <path>;<tag>=<value>;... <value> [<timestamp>]
 * ```
 *
 * Names: the path becomes the metric name with every character outside
 * `[a-zA-Z0-9_:]` replaced by `_` (`servers.nas-1.load` ->
 * `servers_nas_1_load`) and `_` put before a leading digit; tag names the
 * same way without `:`, tag values are kept as sent. The timestamp is unix
 * seconds (fractions allowed); a missing timestamp or `-1` means now.
 * Fields are separated by spaces or tabs.
 *
 * @module
 */
import { ParsedRows } from "./rows.ts";
import { parseNumber, sanitizeLabelName, sanitizeMetricName } from "./_util.ts";

/** Options for {@linkcode parseGraphiteLines}. */
export interface GraphiteParseOptions {
  /** Timestamp (ms) for lines without one. */
  readonly now: number;
}

/** Parses Graphite plaintext lines; never throws on bad input. */
export function parseGraphiteLines(text: string, options: GraphiteParseOptions): ParsedRows {
  const rows = new ParsedRows();
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, "").trim();
    if (line === "") continue;
    const lineNo = n + 1;
    const fields = line.split(/[ \t]+/);
    if (fields.length < 2 || fields.length > 3) {
      rows.addError(
        `line ${lineNo}`,
        line,
        "line must be <path> <value> [<timestamp>]",
        lineNo,
      );
      rows.invalidSamples++;
      continue;
    }
    const [path, valueText, tsText] = fields as [string, string, string | undefined];
    const value = parseNumber(valueText);
    if (value === undefined) {
      rows.addError(`line ${lineNo} value`, valueText, "value must be a number", lineNo);
      rows.invalidSamples++;
      continue;
    }
    let t = options.now;
    if (tsText !== undefined && tsText !== "-1") {
      const s = parseNumber(tsText);
      if (s === undefined || !Number.isFinite(s) || s < 0) {
        rows.addError(
          `line ${lineNo} timestamp`,
          tsText,
          "timestamp must be unix seconds (or -1 for now)",
          lineNo,
        );
        rows.invalidSamples++;
        continue;
      }
      t = Math.round(s * 1000);
    }
    const parts = path.split(";");
    const name = sanitizeMetricName(parts[0]!);
    if (name === "") {
      rows.addError(`line ${lineNo} path`, path, "path must not be empty", lineNo);
      rows.invalidSamples++;
      continue;
    }
    const labels: string[] = [];
    let bad = false;
    for (const tag of parts.slice(1)) {
      const eq = tag.indexOf("=");
      if (eq <= 0) {
        rows.addError(`line ${lineNo} tag`, tag, "tag must be <name>=<value>", lineNo);
        bad = true;
        break;
      }
      labels.push(sanitizeLabelName(tag.slice(0, eq)), tag.slice(eq + 1));
    }
    if (bad) {
      rows.invalidSamples++;
      continue;
    }
    const j = rows.addSeries(name, labels, path, "", lineNo);
    rows.addSample(j, t, value, lineNo);
  }
  return rows;
}
