/**
 * One formatter for zod's issues, for the two audiences Perch reports them
 * to: a config file (`scrape_configs[0].static_configs[1].targets: ...`,
 * `(top level)`, "unknown field x") and an API form (`{field: "labels.0",
 * message}`, `(root)`, "unknown field(s) x", the field ids the UI's forms
 * show errors beside).
 *
 * @module
 */
import type { z } from "./zod.ts";

type Issue = z.core.$ZodIssue;

/**
 * Parse options for a schema used once or a few times (config sections at
 * start-up or reload): zod's eval-compiled fast path costs more to build
 * than it saves there (the config's took ~10 ms at start-up).
 */
export const PARSE_ONCE = { jitless: true } as const;

/** A path as a config file reads it: `scrape_configs[0].static_configs[1].targets[2]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

function unknownKeys(issue: Issue): readonly string[] | undefined {
  return issue.code === "unrecognized_keys" ? issue.keys : undefined;
}

/**
 * Every issue as `path: message` for a config file, under `base` (the
 * section's own path); unknown keys read "unknown field x" / "unknown fields x, y".
 */
export function configIssues(
  error: { readonly issues: readonly Issue[] },
  base: readonly PropertyKey[] = [],
): string[] {
  return error.issues.map((issue) => {
    const keys = unknownKeys(issue);
    const message = keys
      ? `unknown field${keys.length > 1 ? "s" : ""} ${keys.join(", ")}`
      : issue.message;
    return `${formatPath([...base, ...issue.path]) || "(top level)"}: ${message}`;
  });
}

/** A problem with one field of an API request body. */
export interface FieldIssue {
  /** Dotted path (`labels.0`), or `(root)` for the body as a whole. */
  readonly field: string;
  readonly message: string;
}

/** Every issue as a field problem of an API body; unknown keys read "unknown field(s) x, y". */
export function fieldIssues(error: { readonly issues: readonly Issue[] }): FieldIssue[] {
  return error.issues.map((issue) => {
    const keys = unknownKeys(issue);
    return {
      field: issue.path.map(String).join(".") || "(root)",
      message: keys ? `unknown field(s) ${keys.join(", ")}` : issue.message,
    };
  });
}
