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
import { counterHistogram } from "../tsdb/mod_testing.ts";
import { sliceSeries } from "./endpoint.ts";
import { type LateLog, type TrackedSample, WriteTracker } from "./write_tracker.ts";

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

/** A late log in memory: what was held, released, kept and added. */
function memLog() {
  const events: string[] = [];
  const sendable: number[] = [];
  const log: LateLog = {
    hold(e, samples) {
      events.push(`hold ${e} ${samples.map((s) => s.t).join(",")}`);
      return Promise.resolve({
        release(kept) {
          const list = kept ?? samples;
          events.push(`release ${e} ${list.map((s) => s.t).join(",")}`);
          sendable.push(...list.map((s) => s.t));
          return Promise.resolve();
        },
      });
    },
    add(e, samples) {
      events.push(`add ${e} ${samples.map((s) => s.t).join(",")}`);
      sendable.push(...samples.map((s) => s.t));
      return Promise.resolve();
    },
  };
  return { log, events, sendable };
}

Deno.test("WriteTracker logs samples behind the horizon before storage sees the append", async () => {
  const { log, events, sendable } = memLog();
  const inner: Appender = {
    append(b: SampleBatch): Promise<AppendResult> {
      // A SIGKILL right after storage made the batch durable must find the
      // late sample in the log already.
      events.push(`storage ${b.length}`);
      return Promise.resolve({ accepted: b.length, rejected: [] });
    },
    setMetadata: () => Promise.resolve(),
  };
  const tr = new WriteTracker(log, inner);
  tr.track("x", 100);
  await tr.append(batch(A, [50, 150]));
  assert.deepEqual(events, ["hold x 50", "storage 2", "release x 50"]);
  assert.deepEqual(sendable, [50]);
});

Deno.test("WriteTracker keeps only what storage accepted in the late log", async () => {
  const { log, events, sendable } = memLog();
  let fail = false;
  const inner: Appender = {
    append(b: SampleBatch): Promise<AppendResult> {
      if (fail) return Promise.reject(new Error("disk full"));
      return Promise.resolve({
        accepted: b.length - 1,
        rejected: [{ index: 0, reason: "out_of_bounds", message: "too old" }],
      });
    },
    setMetadata: () => Promise.resolve(),
  };
  const tr = new WriteTracker(log, inner);
  tr.track("x", 100);
  await tr.append(batch(A, [10, 20, 150]));
  fail = true;
  await assert.rejects(tr.append(batch(A, [30])), /disk full/);
  assert.deepEqual(events, ["hold x 10,20", "release x 20", "hold x 30", "release x "]);
  assert.deepEqual(sendable, [20]);
});

Deno.test("WriteTracker hands appends in flight during a read to the reader, not the log", async () => {
  const { log, sendable } = memLog();
  const { app, open } = gatedAppender();
  const tr = new WriteTracker(log, app);
  tr.track("x", 100);
  const inFlight = tr.append(batch(A, [120, 90])); // started before the window opens
  await new Promise((r) => setTimeout(r, 0)); // let it reach storage
  const w = tr.openWindow("x", 100, 200);
  const during = tr.append(batch(B, [150, 250])); // starts during the read
  await new Promise((r) => setTimeout(r, 0));
  const closing = w.close();
  const after = tr.append(batch(A, [180])); // starts after the read finished
  await new Promise((r) => setTimeout(r, 0));
  open();
  open();
  const uncertain = await closing;
  open();
  await Promise.all([inFlight, during, after]);
  assert.deepEqual(uncertain.map((s) => s.t).sort(), [120, 150]);
  // 90 was behind the old horizon; 180 arrived after the read covered (100, 200].
  assert.deepEqual(sendable.sort(), [180, 90]);
  assert.equal(tr.horizon("x"), 200);
});

Deno.test("WriteTracker: an append that starts before an endpoint is tracked is still handed to its first read", async () => {
  const { log } = memLog();
  const { app, open } = gatedAppender();
  const tr = new WriteTracker(log, app);
  const early = tr.append(batch(A, [150])); // no endpoint yet
  await new Promise((r) => setTimeout(r, 0));
  tr.track("x", 100);
  const w = tr.openWindow("x", 100, 200);
  const closing = w.close();
  open();
  assert.deepEqual((await closing).map((s) => s.t), [150]);
  await early;
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

Deno.test("sliceSeries() clips native histograms to the slice and adds uncertain ones the read missed", () => {
  const h = counterHistogram;
  const data: SeriesData[] = [{
    labels: A,
    t: Float64Array.of(110),
    v: Float64Array.of(2),
    histograms: { t: Float64Array.of(100, 115, 120), h: [h(1), h(2), h(3)] },
  }];
  const uncertain: TrackedSample[] = [
    { labels: A, t: 120, v: 0, h: h(3) }, // seen by the read
    { labels: A, t: 122, v: 0, h: h(4) }, // missed
    { labels: B, t: 118, v: 0, h: h(5) }, // missed, new series
  ];
  const out = sliceSeries(data, 100, 125, uncertain);
  const a = out.find((s) => labelsKey(s.labels as Labels) === labelsKey(A))!;
  assert.deepEqual(Array.from(a.t), [110]);
  assert.deepEqual(a.histograms, [{ t: 115, h: h(2) }, { t: 120, h: h(3) }, { t: 122, h: h(4) }]);
  const b = out.find((s) => s.labels === B)!;
  assert.deepEqual(Array.from(b.t), []);
  assert.deepEqual(b.histograms, [{ t: 118, h: h(5) }]);
});
