/**
 * The JSON error body every route returns, and helpers to build it.
 *
 * @module
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** One problem with the request, naming the field. */
export interface FieldError {
  readonly field: string;
  readonly value?: unknown;
  readonly message: string;
}

/** Responds with `{"error": message, "errors"?: [...]}` and the status. */
export function jsonError(
  c: Context,
  status: ContentfulStatusCode,
  message: string,
  errors?: readonly FieldError[],
): Response {
  return c.json(errors ? { error: message, errors } : { error: message }, status);
}
