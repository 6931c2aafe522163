/**
 * Parameter parsing for the Prometheus HTTP API: times, durations, matchers.
 * Each parser throws {@linkcode BadParam} naming the parameter.
 *
 * @module
 */
import { type Matcher, parseDuration as parseDurationText } from "../core/model/mod.ts";
import { parseExpr } from "../core/promql/mod.ts";

/** A request parameter is missing or malformed; the API answers 400 bad_data. */
export class BadParam extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadParam";
  }
}

/** Prometheus's smallest and largest accepted times, in ms. */
export const MIN_TIME = -9_223_372_036_854; // About year -292 million, in ms, as Prometheus.
export const MAX_TIME = 9_223_372_036_854;

/**
 * Parses an API time: unix seconds (fractional allowed) or RFC 3339.
 * Returns ms, or `fallback` when the parameter is absent.
 */
export function parseTime(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === "") return fallback;
  if (/^[+-]?\d+(\.\d+)?$/.test(text.trim())) {
    const s = Number(text);
    return Math.round(s * 1000);
  }
  // Prometheus accepts its min/max time constants in RFC 3339 form too.
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new BadParam(`invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`);
}

/** Parses a duration parameter: Prometheus duration text or (fractional) seconds; ms. */
export function parseDurationParam(name: string, text: string): number {
  const t = text.trim();
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t)) {
    const ms = Number(t) * 1000;
    if (!Number.isFinite(ms)) {
      throw new BadParam(
        `invalid parameter "${name}": cannot parse "${text}" to a valid duration. It overflows int64`,
      );
    }
    return Math.round(ms);
  }
  const ms = parseDurationText(t);
  if (ms === undefined) {
    throw new BadParam(`invalid parameter "${name}": cannot parse "${text}" to a valid duration`);
  }
  return ms;
}

/** Parses one `match[]` series selector into matchers. */
export function parseMatchParam(text: string): readonly Matcher[] {
  let expr;
  try {
    expr = parseExpr(text);
  } catch (e) {
    throw new BadParam(`invalid parameter "match[]": ${e instanceof Error ? e.message : e}`);
  }
  if (expr.type !== "VectorSelector") {
    throw new BadParam(
      `invalid parameter "match[]": expected vector selector, got ${describe(expr.type)}`,
    );
  }
  return expr.matchers;
}

function describe(type: string): string {
  return type === "MatrixSelector" ? "range vector selector" : type;
}

/** Parses a `limit` parameter: absent or 0 -> Infinity. */
export function parseLimit(text: string | undefined): number {
  if (text === undefined || text === "") return Infinity;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    throw new BadParam(`invalid parameter "limit": cannot parse "${text}" to a valid limit`);
  }
  return n === 0 ? Infinity : n;
}
