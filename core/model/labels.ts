/**
 * Labels: validation against Perch's limits, canonical form and series ids.
 *
 * A series is identified by its labels, `__name__` included. Labels are kept
 * as an array of `{name, value}` sorted by name: the canonical form. The
 * series id is the hex SHA-256 of `name\n` followed by `key=value\n` for every
 * other label, sorted by key, so it is stable across restarts and label order.
 *
 * @module
 */
import { sha256Hex } from "./hash.ts";

/** One label pair. */
export interface Label {
  readonly name: string;
  readonly value: string;
}

/** Labels in canonical form: sorted by name, unique names, no empty values. */
export type Labels = readonly Label[];

/** The reserved label holding the metric name. */
export const METRIC_NAME = "__name__";

/** Limits from ARCHITECTURE.md (Data model). */
export const LIMITS = {
  maxLabelNameLength: 128,
  maxLabelValueLength: 1024,
  maxLabels: 32,
  maxMetricNameLength: 200,
} as const;

export const LABEL_NAME_REGEXP = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const METRIC_NAME_REGEXP = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** A problem with one label or the metric name, naming the field. */
export interface LabelProblem {
  /** Which part is wrong: `__name__` or `labels.<name>`. */
  readonly field: string;
  readonly value: string;
  readonly message: string;
}

/** Returns a message when `name` is not a valid metric name, else undefined. */
export function checkMetricName(name: string): string | undefined {
  if (name.length === 0) return "metric name must not be empty";
  if (name.length > LIMITS.maxMetricNameLength) {
    return `metric name is longer than ${LIMITS.maxMetricNameLength} characters`;
  }
  if (!METRIC_NAME_REGEXP.test(name)) {
    return "metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*";
  }
  return undefined;
}

/**
 * Returns a message when `name` is not a valid label name, else undefined.
 * Names starting with `__` are reserved for Perch unless `allowReserved`.
 */
export function checkLabelName(name: string, allowReserved = false): string | undefined {
  if (name.length === 0) return "label name must not be empty";
  if (name.length > LIMITS.maxLabelNameLength) {
    return `label name is longer than ${LIMITS.maxLabelNameLength} characters`;
  }
  if (!LABEL_NAME_REGEXP.test(name)) return "label name must match [a-zA-Z_][a-zA-Z0-9_]*";
  if (!allowReserved && name.startsWith("__")) {
    return "label names starting with __ are reserved";
  }
  return undefined;
}

/** Returns a message when `value` is not a valid label value, else undefined. */
export function checkLabelValue(value: string): string | undefined {
  if (value.length > LIMITS.maxLabelValueLength) {
    return `label value is longer than ${LIMITS.maxLabelValueLength} characters`;
  }
  if (value.isWellFormed && !value.isWellFormed()) return "label value is not valid UTF-8";
  return undefined;
}

/**
 * Validates a metric name and a label map from outside (push, scrape) and
 * returns every problem at once. `__name__` in `labels` is refused: the name
 * is passed separately.
 */
export function validateSeries(
  name: string,
  labels: Readonly<Record<string, string>>,
): LabelProblem[] {
  const problems: LabelProblem[] = [];
  const nameProblem = checkMetricName(name);
  if (nameProblem) problems.push({ field: METRIC_NAME, value: name, message: nameProblem });
  const keys = Object.keys(labels);
  if (keys.length + 1 > LIMITS.maxLabels) {
    problems.push({
      field: "labels",
      value: String(keys.length + 1),
      message: `series has ${keys.length + 1} labels, more than the limit of ${LIMITS.maxLabels}`,
    });
  }
  for (const key of keys) {
    const m = checkLabelName(key);
    if (m) problems.push({ field: `labels.${key}`, value: key, message: m });
    const v = labels[key]!;
    const vm = checkLabelValue(v);
    if (vm) problems.push({ field: `labels.${key}`, value: v.slice(0, 64), message: vm });
  }
  return problems;
}

/**
 * Builds canonical labels from a name and a map. Empty values are dropped,
 * as in Prometheus (an empty label equals an absent one).
 */
export function toLabels(name: string | undefined, map: Readonly<Record<string, string>>): Labels {
  const out: Label[] = [];
  if (name !== undefined) out.push({ name: METRIC_NAME, value: name });
  for (const key in map) {
    if (key === METRIC_NAME && name !== undefined) continue;
    const value = map[key]!;
    if (value !== "") out.push({ name: key, value });
  }
  out.sort(compareLabel);
  return out;
}

/** Builds canonical labels from any list of pairs (sorts, drops empty values, last wins). */
export function fromPairs(pairs: Iterable<readonly [string, string]>): Labels {
  const map = new Map<string, string>();
  for (const [k, v] of pairs) map.set(k, v);
  const out: Label[] = [];
  for (const [name, value] of map) if (value !== "") out.push({ name, value });
  out.sort(compareLabel);
  return out;
}

function compareLabel(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Returns the value of label `name`, or "" when absent. */
export function getLabel(labels: Labels, name: string): string {
  for (const l of labels) if (l.name === name) return l.value;
  return "";
}

/** The metric name of a series, or "" when it has none. */
export function metricName(labels: Labels): string {
  return getLabel(labels, METRIC_NAME);
}

/** Labels as a plain object, e.g. for JSON output. */
export function labelsToObject(labels: Labels): Record<string, string> {
  const o: Record<string, string> = {};
  for (const l of labels) o[l.name] = l.value;
  return o;
}

/** Compares two canonical label sets as Prometheus sorts series. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!, y = b[i]!;
    if (x.name !== y.name) return x.name < y.name ? -1 : 1;
    if (x.value !== y.value) return x.value < y.value ? -1 : 1;
  }
  return a.length - b.length;
}

/** True when two canonical label sets are equal. */
export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.name !== b[i]!.name || a[i]!.value !== b[i]!.value) return false;
  }
  return true;
}

/**
 * A compact string key for a canonical label set, for maps inside the
 * process. Every part is length-prefixed, so no two label sets share a key
 * whatever characters the values hold.
 */
export function labelsKey(labels: Labels): string {
  let s = "";
  for (const l of labels) s += `${l.name.length}:${l.name}${l.value.length}:${l.value}`;
  return s;
}

/** The text that the series id hashes: `name\n` + `key=value\n` per other label by key. */
export function seriesIdInput(labels: Labels): string {
  let s = metricName(labels) + "\n";
  for (const l of labels) if (l.name !== METRIC_NAME) s += `${l.name}=${l.value}\n`;
  return s;
}

/** The stable series id: hex SHA-256 of {@linkcode seriesIdInput}. */
export function seriesId(labels: Labels): string {
  return sha256Hex(seriesIdInput(labels));
}

/** Formats labels as Prometheus does: `name{a="b", c="d"}`. */
export function formatSeries(labels: Labels): string {
  const name = metricName(labels);
  const rest = labels.filter((l) => l.name !== METRIC_NAME);
  if (rest.length === 0) return name === "" ? "{}" : name;
  const inner = rest.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(", ");
  return `${name}{${inner}}`;
}
