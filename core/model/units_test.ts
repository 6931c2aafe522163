import assert from "node:assert/strict";
import { formatDuration, parseBytes, parseDuration } from "./units.ts";

Deno.test("parseDuration() reads Prometheus durations", () => {
  const f = (s: string, ms: number | undefined) => assert.equal(parseDuration(s), ms, s);
  f("0", 0);
  f("1ms", 1);
  f("15s", 15_000);
  f("5m", 300_000);
  f("1h30m", 5_400_000);
  f("1d", 86_400_000);
  f("2w", 14 * 86_400_000);
  f("1y", 365 * 86_400_000);
  f("1h0m5s10ms", 3_605_010);
  f("", undefined);
  f("5", undefined);
  f("-5m", undefined);
  f("1.5h", undefined);
  f("5x", undefined);
  f("30m1h", undefined); // Units must descend.
  f("1m1m", undefined); // And not repeat.
  f("m", undefined);
  f(" 5m", undefined);
});

Deno.test("formatDuration() is the inverse of parseDuration()", () => {
  for (const s of ["1ms", "15s", "5m", "1h30m", "1d", "2w", "1y", "1h5s10ms"]) {
    assert.equal(formatDuration(parseDuration(s)!), s);
  }
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(-60_000), "-1m");
});

Deno.test("parseBytes() reads sizes with SI and IEC units", () => {
  const f = (s: string, n: number | undefined) => assert.equal(parseBytes(s), n, s);
  f("0", 0);
  f("1024", 1024);
  f("1kb", 1000);
  f("1KiB", 1024);
  f("64MiB", 64 * 1024 * 1024);
  f("1.5GB", 1_500_000_000);
  f("2 TiB", 2 * 1024 ** 4);
  f("12q", undefined);
  f("-1", undefined);
  f("", undefined);
});
