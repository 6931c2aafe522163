import assert from "node:assert/strict";
import type { NativeHistogram } from "../model/mod.ts";
import { counterHistogram } from "./_histogram_test_util.ts";
import type { HistogramSamples } from "./histogram_chunk.ts";
import { downsampleHistograms, mayBeCounterReset, mergeRuns } from "./histogram_runs.ts";

const MIN = 60_000;

function run(n: number, at: (i: number) => NativeHistogram, step = MIN): HistogramSamples {
  return {
    t: Float64Array.from({ length: n }, (_, i) => i * step),
    h: Array.from({ length: n }, (_, i) => at(i)),
  };
}

/** Counter increase of `count` over a run, as rate() sees it (a drop is a reset). */
function increase(s: HistogramSamples): number {
  let n = 0;
  for (let i = 1; i < s.h.length; i++) {
    const prev = s.h[i - 1]!.count, cur = s.h[i]!.count;
    n += mayBeCounterReset(s.h[i - 1]!, s.h[i]!) && cur < prev ? cur : cur - prev;
  }
  return n;
}

/** Raw samples in the time span of `thin` (first to last kept timestamp). */
function span(raw: HistogramSamples, thin: HistogramSamples): HistogramSamples {
  const a = raw.t.indexOf(thin.t[0]!), b = raw.t.indexOf(thin.t[thin.t.length - 1]!);
  return { t: raw.t.slice(a, b + 1), h: raw.h.slice(a, b + 1) };
}

Deno.test("downsampleHistograms keeps the last histogram of each step", () => {
  const raw = run(120, counterHistogram);
  const thin = downsampleHistograms(raw, 10 * MIN);
  // The layout change at i = 50 (a new bucket) may be a reset: 49 and 50 are kept too.
  assert.deepEqual([...thin.t].map((t) => t / MIN), [
    9,
    19,
    29,
    39,
    49,
    50,
    59,
    69,
    79,
    89,
    99,
    109,
    119,
  ]);
  assert.equal(increase(thin), increase(span(raw, thin)));
  assert.deepEqual(thin.h[0], counterHistogram(9));
});

Deno.test("downsampleHistograms keeps both samples around a counter reset, so increase() is exact", () => {
  // A counter that restarts at i = 73 (its buckets drop) and grows again.
  const at = (i: number) => i < 73 ? counterHistogram(i + 10) : counterHistogram(i - 72);
  const raw = run(150, at);
  for (const res of [5 * MIN, 30 * MIN, 3_600_000]) {
    const thin = downsampleHistograms(raw, res);
    assert.ok([...thin.t].includes(72 * MIN) && [...thin.t].includes(73 * MIN), `res ${res}`);
    assert.equal(increase(thin), increase(span(raw, thin)), `res ${res}`);
  }
  // A coarser tier from a finer one keeps the same points as from raw data.
  assert.deepEqual(
    downsampleHistograms(downsampleHistograms(raw, 5 * MIN), 30 * MIN),
    downsampleHistograms(raw, 30 * MIN),
  );
});

Deno.test("downsampleHistograms rewrites hints that no longer describe the step from the previous kept sample", () => {
  const withHint = (i: number, hint: NativeHistogram["counterResetHint"]) => ({
    ...counterHistogram(i),
    counterResetHint: hint,
  });
  const raw: HistogramSamples = {
    t: Float64Array.from([0, 1, 2, 3, 4, 5].map((i) => i * MIN)),
    h: [
      withHint(1, "unknown"),
      withHint(2, "not_reset"),
      withHint(3, "not_reset"),
      withHint(1, "reset"),
      withHint(2, "not_reset"),
      withHint(3, "not_reset"),
    ],
  };
  const thin = downsampleHistograms(raw, 6 * MIN);
  // Kept: 2 and 3 (around the reset) and 5 (last of the step).
  assert.deepEqual([...thin.t].map((t) => t / MIN), [2, 3, 5]);
  assert.deepEqual(thin.h.map((h) => h.counterResetHint), ["unknown", "reset", "unknown"]);
});

Deno.test("downsampleHistograms: gauge histograms keep one per step, whatever they do", () => {
  const gauge = (i: number) => ({ ...counterHistogram(i % 7), counterResetHint: "gauge" as const });
  const thin = downsampleHistograms(run(60, gauge), 10 * MIN);
  assert.deepEqual([...thin.t].map((t) => t / MIN), [9, 19, 29, 39, 49, 59]);
  assert.ok(thin.h.every((h) => h.counterResetHint === "gauge"));
});

Deno.test("mergeRuns: on equal timestamps the newer run wins", () => {
  const a = run(3, counterHistogram);
  const b: HistogramSamples = {
    t: Float64Array.from([MIN, 5 * MIN]),
    h: [counterHistogram(40), counterHistogram(41)],
  };
  const m = mergeRuns(a, b);
  assert.deepEqual([...m.t], [0, MIN, 2 * MIN, 5 * MIN]);
  assert.deepEqual(m.h.map((h) => h.zeroCount), [0, 40, 2, 41]);
});
