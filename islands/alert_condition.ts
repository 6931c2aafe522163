/**
 * The PromQL form of "Create alert rule": a condition such as
 * `rate(x[5m]) > 0.5` split into the threshold-rule API's expression,
 * operator and threshold. Pure, for the browser and tests.
 *
 * @module
 */

/** Threshold-rule operators by PromQL comparison symbol. */
export const OPERATOR_BY_SYMBOL: Readonly<Record<string, string>> = {
  ">": "gt",
  ">=": "ge",
  "<": "lt",
  "<=": "le",
  "==": "eq",
  "!=": "ne",
};

/**
 * True when `expr` has, outside brackets and strings, a comparison or a set
 * operator (`and`, `or`, `unless`): those bind looser than or as loose as the
 * final comparison, so splitting it off would change the meaning.
 */
function hasLooseTopLevelOperator(expr: string): boolean {
  let depth = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === "`") {
      const end = c;
      for (i++; i < expr.length && expr[i] !== end; i++) if (expr[i] === "\\") i++;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (depth === 0) {
      if (c === "<" || c === ">" || ((c === "=" || c === "!") && expr[i + 1] === "=")) return true;
      if (/[a-z]/i.test(c) && (i === 0 || !/[\w:]/.test(expr[i - 1]!))) {
        const word = /^[A-Za-z_][\w:]*/.exec(expr.slice(i))![0];
        if (word === "and" || word === "or" || word === "unless") return true;
        i += word.length - 1;
      }
    }
  }
  return false;
}

/**
 * Splits a condition ending in a comparison with a number into the threshold
 * API's `{expression, operator, threshold}`, or says why it cannot.
 */
export function splitCondition(
  text: string,
): { expression: string; operator: string; threshold: number } | { error: string } {
  const m =
    /^([\s\S]*?)\s*(>=|<=|==|!=|>|<)\s*(bool\s+)?([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/
      .exec(text.trim());
  const expression = m?.[1]?.trim() ?? "";
  if (!m || !expression) {
    return { error: "must end in a comparison with a number, e.g. rate(x[5m]) > 0.5" };
  }
  if (m[3]) {
    return { error: "a bool comparison never filters: leave out bool" };
  }
  if (hasLooseTopLevelOperator(expression)) {
    return {
      error:
        "put the part before the final comparison in parentheses (it has and/or/unless or another comparison)",
    };
  }
  return { expression, operator: OPERATOR_BY_SYMBOL[m[2]!]!, threshold: Number(m[4]) };
}
