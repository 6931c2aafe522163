/**
 * PromQL: AST, lexer, parser, printer (and the engine, exported by its own files).
 *
 * @module
 */
export {
  AGGREGATE_OPS,
  AGGREGATE_PARAM_TYPES,
  type AggregateExpr,
  type AggregateOp,
  type AtModifier,
  type BinaryExpr,
  type BinaryOp,
  type Call,
  type Expr,
  FUNCTIONS,
  type FunctionSignature,
  isComparisonOp,
  isSetOp,
  type MatrixSelector,
  type NumberLiteral,
  type ParenExpr,
  type PosRange,
  type StringLiteral,
  type SubqueryExpr,
  type UnaryExpr,
  type ValueType,
  valueTypeOf,
  type VectorMatchCardinality,
  type VectorMatching,
  type VectorSelector,
} from "./ast.ts";
export { lex, type Token, type TokenKind } from "./lexer.ts";
export { formatDuration, parseDuration, parseNumber } from "./literals.ts";
export { parseExpr, PromQLParseError } from "./parser.ts";
export { formatExpr, formatMatcherText } from "./printer.ts";
export {
  createEngine,
  type Engine,
  type EngineOptions,
  MAX_RANGE_POINTS,
  type QueryResult,
  type QueryStats,
} from "./engine.ts";
export {
  QueryError,
  QueryExecutionError,
  QueryMemoryError,
  QueryOverloadError,
  QueryTimeoutError,
  QueryTooManySamplesError,
  QueryTooManySeriesError,
  QueryTooManyStepsError,
} from "./errors.ts";
export { MemoryPool, QueryBudget } from "./budget.ts";
export {
  RangeResultCache,
  type RangeResultCacheOptions,
  type RangeResultCacheStats,
} from "./result_cache.ts";
export type { HistPoints, Sample, Series, Value } from "./value.ts";
export { FloatHistogram } from "./float_histogram.ts";
export {
  allBuckets,
  type Bucket,
  type HistogramApiJson,
  histogramApiJson,
} from "./histogram_buckets.ts";
export { type QueryComponent, queryComponent } from "./component.ts";
