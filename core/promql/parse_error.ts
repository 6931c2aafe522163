/**
 * The error of a PromQL query that does not parse or type-check.
 *
 * @module
 */
import type { PosRange } from "./ast.ts";

/** A PromQL syntax or type error, with the position of the offending text. */
export class PromQLParseError extends SyntaxError {
  /** 1-based line of `position.start`. */
  readonly line: number;
  /** 1-based column of `position.start`. */
  readonly column: number;
  /** The message without the position prefix. */
  readonly detail: string;

  constructor(readonly query: string, readonly position: PosRange, detail: string) {
    const [line, column] = lineColumn(query, position.start);
    super(`${line}:${column}: parse error: ${detail}`);
    this.name = "PromQLParseError";
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}

/**
 * The 1-based line and column of offset `pos` in `query`, as Prometheus
 * prints positions in parse errors and annotations (`line:col`).
 */
export function lineColumn(query: string, pos: number): [line: number, column: number] {
  let line = 1;
  let lastBreak = -1;
  const upTo = Math.min(pos, query.length);
  for (let i = 0; i < upTo; i++) {
    if (query[i] === "\n") {
      line++;
      lastBreak = i;
    }
  }
  return [line, pos - lastBreak];
}
