import assert from "node:assert/strict";
import { Logger } from "./logger.ts";

Deno.test("a log line's time is the instant as toISOString writes it", () => {
  const times = [
    Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    Date.UTC(2024, 1, 29, 23, 59, 59, 999),
    0,
    Date.parse("0050-07-01T12:00:00.000Z"), // a year of fewer than 4 digits
    Date.UTC(10000, 0, 1), // +010000: left to toISOString
  ];
  for (const ms of times) {
    const lines: string[] = [];
    new Logger({ sink: (l) => lines.push(l), now: () => new Date(ms) }).info("x");
    assert.equal(JSON.parse(lines[0]).time, new Date(ms).toISOString());
  }
});
