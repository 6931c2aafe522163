import assert from "node:assert/strict";
import { unquoteString } from "../model/mod.ts";
import { formatDuration, parseDuration, parseNumber } from "./literals.ts";

Deno.test("parseDuration() reads Prometheus durations into ms", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["0s", 0],
    ["1ms", 1],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1d", 86_400_000],
    ["1w", 604_800_000],
    ["1y", 31_536_000_000],
    [
      "1y2w3d4h5m6s7ms",
      31_536_000_000 + 2 * 604_800_000 + 3 * 86_400_000 + 4 * 3_600_000 + 5 * 60_000 + 6_000 + 7,
    ],
    ["10s53ms", 10_053],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

Deno.test("parseDuration() rejects malformed durations", () => {
  for (const bad of ["", "1", "1.5h", "5m1h", "1mm", "h", "-5m", "1x", "5 m", "100000000y"]) {
    assert.throws(() => parseDuration(bad), RangeError, bad);
  }
  assert.throws(() => parseDuration("1.5h"), { message: `not a valid duration string: "1.5h"` });
  assert.throws(() => parseDuration(""), { message: "empty duration string" });
});

Deno.test("formatDuration() prints the largest units first, as Prometheus does", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [1, "1ms"],
    [90_000, "1m30s"],
    [5_400_000, "1h30m"],
    [86_400_000, "1d"],
    [604_800_000, "1w"],
    [691_200_000, "1w1d"],
    [31_536_000_000, "1y"],
    [61_500, "1m1s500ms"],
    [-300_000, "-5m"],
  ];
  for (const [ms, text] of cases) {
    assert.equal(formatDuration(ms), text, String(ms));
    if (ms >= 0) assert.equal(parseDuration(text), ms, text);
  }
});

Deno.test("parseNumber() handles hex, octal, separators and special values", () => {
  assert.equal(parseNumber("0x1f"), 31);
  assert.equal(parseNumber("0755"), 493);
  assert.equal(parseNumber("08"), 8);
  assert.equal(parseNumber("1_000"), 1000);
  assert.equal(parseNumber("1e-3"), 0.001);
  assert.equal(parseNumber("inF"), Infinity);
  assert.ok(Number.isNaN(parseNumber("nan")));
  assert.throws(() => parseNumber("1e999"), /value out of range/);
  assert.throws(() => parseNumber("abc"), /invalid syntax/);
});

Deno.test("unquoteString() resolves Go escapes in all three quote styles", () => {
  assert.equal(unquoteString(`"a\\tb"`), "a\tb");
  assert.equal(unquoteString(`'a\\'b'`), "a'b");
  assert.equal(unquoteString("`a\\tb`"), "a\\tb");
  assert.equal(unquoteString(`"\\u263a\\U0001F600\\101"`), "☺😀A");
  assert.throws(() => unquoteString(`"\\'"`), SyntaxError);
  assert.throws(() => unquoteString(`'\\"'`), SyntaxError);
  assert.throws(() => unquoteString(`"\\ud800"`), SyntaxError);
  assert.throws(() => unquoteString(`"abc`), SyntaxError);
});
