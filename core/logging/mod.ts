/**
 * Structured logging.
 *
 * @module
 */
export { type LogFields, Logger, type LogLevel, type LogSink, silentLogger } from "./logger.ts";
export { logComponent } from "./component.ts";
