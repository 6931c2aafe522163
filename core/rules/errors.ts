/**
 * Typed errors of the rules API, for the HTTP edge to map to statuses.
 *
 * @module
 */
import type { FieldIssue } from "../model/mod.ts";

/** The rule sent is invalid; HTTP 400 with every problem by field. */
export class RuleValidationError extends Error {
  constructor(readonly problems: readonly FieldIssue[]) {
    super(`Invalid alert rule: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
    this.name = "RuleValidationError";
  }
}

/** No rule with this id; HTTP 404. */
export class RuleNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`Alert rule "${id}" not found`);
    this.name = "RuleNotFoundError";
  }
}

/** The id is taken, or the rule is defined in a file and read-only here; HTTP 409. */
export class RuleConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RuleConflictError";
  }
}
