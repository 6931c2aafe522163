/**
 * The template engine's errors: one base class, so a caller can catch any
 * template failure, and one class each for parsing and rendering.
 *
 * @module
 */

/** A template that does not parse or fails while rendering. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

/** A template that does not parse; `offset` is the character position in the text. */
export class TemplateParseError extends TemplateError {
  constructor(readonly detail: string, readonly offset: number) {
    super(`Cannot parse template at char ${offset}: ${detail}`);
    this.name = "TemplateParseError";
  }
}

/** A template failed while rendering (bad argument to a function, failed query, ...). */
export class TemplateRenderError extends TemplateError {
  constructor(message: string) {
    super(message);
    this.name = "TemplateRenderError";
  }
}

/** A function's own failure; the engine reports it as `error calling <name>: ...`. */
export class FnError extends Error {}
