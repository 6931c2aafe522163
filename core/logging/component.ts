/**
 * The log component: applies `log.level` on reload to every logger at once.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import type { Component } from "../lifecycle.ts";
import type { Logger, LogLevel } from "./logger.ts";

/** `log.level` (the start level is set where the root logger is made). */
export function logComponent(logger: Logger): Component<Config, LogLevel> {
  return {
    name: "log",
    section: (c) => ({ ok: true, value: c.log.level as LogLevel }),
    start: () => Promise.resolve(),
    apply: (level) => logger.setLevel(level),
    stop: () => Promise.resolve(),
  };
}
