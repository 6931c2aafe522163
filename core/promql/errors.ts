/**
 * Typed query errors, for the HTTP layer to map to status codes
 * (execution → 422, timeout → 503, too many samples → 422).
 *
 * @module
 */

/** Base class of every error the engine raises for a query (not for a bug). */
export class QueryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "QueryError";
  }
}

/** The query failed while evaluating (bad argument, many-to-many match, …); HTTP 422. */
export class QueryExecutionError extends QueryError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "QueryExecutionError";
  }
}

/** The query ran longer than its timeout; HTTP 503. */
export class QueryTimeoutError extends QueryError {
  constructor(readonly timeoutMs: number, where = "expression evaluation") {
    super(`query timed out in ${where}`);
    this.name = "QueryTimeoutError";
  }
}

/** The query would hold more samples in memory than allowed; HTTP 422. */
export class QueryTooManySamplesError extends QueryError {
  constructor(readonly maxSamples: number) {
    super("query processing would load too many samples into memory in query execution");
    this.name = "QueryTooManySamplesError";
  }
}

/** The query selects more series than allowed; HTTP 422. */
export class QueryTooManySeriesError extends QueryError {
  constructor(readonly maxSeries: number) {
    super(`query selects more than ${maxSeries} series`);
    this.name = "QueryTooManySeriesError";
  }
}
