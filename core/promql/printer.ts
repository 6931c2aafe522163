/**
 * The PromQL printer: AST -> canonical text, as Prometheus's `String()` methods
 * print it (what `promtool promql format` without prettifying and
 * `/api/v1/format_query` return for one-line queries).
 *
 * @module
 */
import { formatFloat, goQuote, type Matcher, METRIC_NAME } from "../model/mod.ts";
import type { AtModifier, Expr, VectorMatching, VectorSelector } from "./ast.ts";
import { formatDuration } from "./literals.ts";

const LEGACY_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Prints an expression in Prometheus's canonical form.
 * @example
 * ```ts
 * formatExpr(parseExpr("sum(rate(x[5m])) by (job)")); // "sum by (job) (rate(x[5m]))"
 * ```
 */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case "NumberLiteral":
      if (e.duration && Number.isFinite(e.value)) return formatDuration(e.value * 1000);
      return formatFloat(e.value);
    case "StringLiteral":
      return goQuote(e.value);
    case "VectorSelector":
      return selectorText(e) + atText(e.at) + offsetText(e.offset);
    case "MatrixSelector": {
      const vs = e.vectorSelector;
      const r = e.absolute
        ? `${isoTime(e.absolute.start)}:${isoTime(e.absolute.end)}`
        : formatDuration(e.range);
      return `${selectorText(vs)}[${r}]${atText(vs.at)}${offsetText(vs.offset)}`;
    }
    case "SubqueryExpr": {
      const step = e.step !== 0 ? formatDuration(e.step) : "";
      return `${formatExpr(e.expr)}[${formatDuration(e.range)}:${step}]` + atText(e.at) +
        offsetText(e.offset);
    }
    case "Call":
      return `${e.func}(${e.args.map(formatExpr).join(", ")})`;
    case "AggregateExpr": {
      let s: string = e.op;
      if (e.without) s += ` without (${labelList(e.grouping)}) `;
      else if (e.grouping.length > 0) s += ` by (${labelList(e.grouping)}) `;
      const param = e.param ? formatExpr(e.param) + ", " : "";
      return `${s}(${param}${formatExpr(e.expr)})`;
    }
    case "BinaryExpr":
      return `${formatExpr(e.lhs)} ${e.op}${e.returnBool ? " bool" : ""}${
        matchingText(e.matching)
      } ${formatExpr(e.rhs)}`;
    case "UnaryExpr":
      return e.op + formatExpr(e.expr);
    case "ParenExpr":
      return `(${formatExpr(e.expr)})`;
  }
}

/** Formats a matcher as Prometheus does: `name="value"`, quoting non-legacy names. */
export function formatMatcherText(m: Matcher): string {
  const name = LEGACY_LABEL.test(m.name) ? m.name : goQuote(m.name);
  return `${name}${m.type}${goQuote(m.value)}`;
}

function selectorText(vs: VectorSelector): string {
  const parts: string[] = [];
  for (const m of vs.matchers) {
    if (
      vs.name !== undefined && m.name === METRIC_NAME && m.type === "=" && m.value === vs.name &&
      m.value !== ""
    ) continue;
    parts.push(formatMatcherText(m));
  }
  parts.sort();
  return (vs.name ?? "") + (parts.length > 0 ? `{${parts.join(",")}}` : "");
}

function atText(at: AtModifier | undefined): string {
  if (at === undefined) return "";
  if (at === "start" || at === "end") return ` @ ${at}()`;
  return ` @ ${(at / 1000).toFixed(3)}`;
}

function offsetText(offset: number): string {
  if (offset > 0) return ` offset ${formatDuration(offset)}`;
  if (offset < 0) return ` offset -${formatDuration(-offset)}`;
  return "";
}

function matchingText(m: VectorMatching | undefined): string {
  if (!m) return "";
  let s = "";
  const grouped = m.card === "many-to-one" || m.card === "one-to-many";
  if (m.labels.length > 0 || m.on || grouped) {
    s += ` ${m.on ? "on" : "ignoring"} (${labelList(m.labels)})`;
  }
  if (grouped) {
    s += ` group_${m.card === "many-to-one" ? "left" : "right"} (${labelList(m.include)})`;
  }
  return s;
}

function labelList(labels: readonly string[]): string {
  return labels.map((l) => LEGACY_LABEL.test(l) ? l : goQuote(l)).join(", ");
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}
