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
    let line = 1;
    let lastBreak = -1;
    const upTo = Math.min(position.start, query.length);
    for (let i = 0; i < upTo; i++) {
      if (query[i] === "\n") {
        line++;
        lastBreak = i;
      }
    }
    const column = position.start - lastBreak;
    super(`${line}:${column}: parse error: ${detail}`);
    this.name = "PromQLParseError";
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}
