import assert from "node:assert/strict";
import {
  type Appender,
  type AppendResult,
  type Labels,
  labelsKey,
  SampleBatch,
  type SeriesData,
  toLabels,
} from "../model/mod.ts";
import { sliceSeries } from "./endpoint.ts";
import { type TrackedSample, WriteTracker } from "./write_tracker.ts";

const A = toLabels("a", {}), B = toLabels("b", {});

function batch(labels: Labels, ts: number[]): SampleBatch {
  const b = new SampleBatch();
  const ref = b.addSeries(labels, labelsKey(labels));
  for (const t of ts) b.add(ref, t, t * 10);
  return b;
}

/** An appender whose appends resolve when the test says so. */
function gatedAppender() {
  const gates: (() => void)[] = [];
  const app: Appender = {
    append(b: SampleBatch): Promise<AppendResult> {
      return new Promise((resolve) =>
        gates.push(() => resolve({ accepted: b.length, rejected: [] }))
      );
    },
    setMetadata: () => Promise.resolve(),
  };
  return { app, open: () => gates.shift()!() };
}

Deno.test("WriteTracker logs samples behind the horizon before acknowledging the append", async () => {
  const logged: [string, TrackedSample[]][] = [];
  const { app, open } = gatedAppender();
  const tr = new WriteTracker((e, s) => {
    logged.push([e, s]);
    return Promise.resolve();
  }, app);
  tr.track("x", 100);
  const p = tr.append(batch(A, [50, 150]));
  open();
  await p;
  assert.deepEqual(logged.map(([e, s]) => [e, s.map((x) => x.t)]), [["x", [50]]]);
});

Deno.test("WriteTracker hands appends in flight during a read to the reader, not the log", async () => {
  const logged: number[] = [];
  const { app, open } = gatedAppender();
  const tr = new WriteTracker((_e, s) => {
    logged.push(...s.map((x) => x.t));
    return Promise.resolve();
  }, app);
  tr.track("x", 100);
  const inFlight = tr.append(batch(A, [120, 90])); // started before the window opens
  const w = tr.openWindow("x", 100, 200);
  const during = tr.append(batch(B, [150, 250])); // starts during the read
  const closing = w.close();
  const after = tr.append(batch(A, [180])); // starts after the read finished
  open();
  open();
  const uncertain = await closing;
  open();
  await Promise.all([inFlight, during, after]);
  assert.deepEqual(uncertain.map((s) => s.t).sort(), [120, 150]);
  // 90 was behind the old horizon; 180 arrived after the read covered (100, 200].
  assert.deepEqual(logged.sort(), [180, 90]);
  assert.equal(tr.horizon("x"), 200);
});

Deno.test("sliceSeries() keeps uncertain samples the read missed and drops those it saw", () => {
  const data: SeriesData[] = [{
    labels: A,
    t: Float64Array.of(100, 110, 120, 130),
    v: Float64Array.of(1, 2, 3, 4),
  }];
  const uncertain: TrackedSample[] = [
    { labels: A, t: 120, v: 3 }, // seen by the read
    { labels: A, t: 125, v: 9 }, // missed
    { labels: B, t: 115, v: 5 }, // missed, new series
  ];
  const out = sliceSeries(data, 100, 125, uncertain);
  const a = out.find((s) => s.labels === A)!;
  assert.deepEqual(Array.from(a.t), [110, 120, 125]);
  assert.deepEqual(Array.from(a.v), [2, 3, 9]);
  const b = out.find((s) => s.labels === B)!;
  assert.deepEqual(Array.from(b.t), [115]);
});
