/**
 * Typed query errors, for the HTTP layer to map to status codes
 * (execution -> 422, timeout -> 503, too many samples -> 422, memory in use by
 * other queries -> 503 with Retry-After). Limit errors name the setting.
 *
 * @module
 */
import { formatBytes, formatDuration } from "../model/mod.ts";

/** Base class of every error the engine raises for a query (not for a bug). */
export class QueryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "QueryError";
  }
}

/** The query failed while evaluating (bad argument, many-to-many match, ...); HTTP 422. */
export class QueryExecutionError extends QueryError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "QueryExecutionError";
  }
}

/** Prometheus's error for a vector with two series of one label set (after `__name__` went, say). */
export function sameLabelsetError(): QueryExecutionError {
  return new QueryExecutionError("vector cannot contain metrics with the same labelset");
}

/** The query ran longer than its timeout; HTTP 503. */
export class QueryTimeoutError extends QueryError {
  constructor(readonly timeoutMs: number, where = "expression evaluation") {
    super(`query timed out in ${where} (query.timeout: ${formatDuration(timeoutMs)})`);
    this.name = "QueryTimeoutError";
  }
}

/** The query would hold more samples in memory than allowed; HTTP 422. */
export class QueryTooManySamplesError extends QueryError {
  constructor(readonly maxSamples: number) {
    super(
      `query processing would load too many samples into memory in query execution (query.max_samples: ${maxSamples})`,
    );
    this.name = "QueryTooManySamplesError";
  }
}

/** The query selects more series than allowed; HTTP 422. */
export class QueryTooManySeriesError extends QueryError {
  constructor(readonly maxSeries: number) {
    super(`query selects more than ${maxSeries} series (query.max_series)`);
    this.name = "QueryTooManySeriesError";
  }
}

/** A subquery (or a range query) would evaluate more steps than allowed; HTTP 422. */
export class QueryTooManyStepsError extends QueryError {
  constructor(readonly steps: number, readonly maxSteps: number, where: string) {
    super(
      `exceeded maximum resolution of ${
        maxSteps.toLocaleString("en-US")
      } points per timeseries in ${where}: ${
        steps.toLocaleString("en-US")
      } steps (query.max_steps). Try a larger step`,
    );
    this.name = "QueryTooManyStepsError";
  }
}

/** The query alone would need more memory than the whole budget; HTTP 422. */
export class QueryMemoryError extends QueryError {
  constructor(readonly bytes: number, readonly limit: number) {
    super(
      `query processing would use too much memory: about ${
        formatBytes(bytes)
      }, more than query.max_memory (${formatBytes(limit)})`,
    );
    this.name = "QueryMemoryError";
  }
}

/**
 * Queries in flight hold so much of the memory budget that this one cannot
 * get its share now; HTTP 503 with Retry-After (it may fit later).
 */
export class QueryOverloadError extends QueryError {
  constructor(readonly bytes: number, readonly inUse: number, readonly limit: number) {
    super(
      `query processing would use about ${
        formatBytes(bytes)
      } of memory while queries in flight hold ${formatBytes(inUse)} of query.max_memory (${
        formatBytes(limit)
      }); retry later`,
    );
    this.name = "QueryOverloadError";
  }
}
