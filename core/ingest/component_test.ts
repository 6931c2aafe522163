import assert from "node:assert/strict";
import { startWith, testBasics } from "../_component_test_util.ts";
import { RecordingAppender } from "./_test_util.ts";
import { pipelineComponent } from "./component.ts";
import { parsePrometheusText } from "./prometheus_text.ts";
import { RateLimitedError } from "./rate_limit.ts";

const prom = (s: string) => parsePrometheusText(s, { now: 1_700_000_000_000 });

Deno.test("pipeline component: a reload with new limits applies them to the next push", async () => {
  const app = new RecordingAppender();
  const pipeline = pipelineComponent({ ...testBasics(), appender: () => app });
  const perch = await startWith(testBasics(), "limits:\n  max_series: 2\n", [pipeline]);
  const r1 = await pipeline.handle.ingest("prometheus", prom("a 1 1\nb 1 1\nc 1 1"));
  assert.equal(r1.cardinality?.refusedSeries, 1);
  assert.deepEqual(app.samples, ["a 1 @1", "b 1 @1"]);

  assert.equal((await perch.reload("limits:\n  max_series: 3\n")).ok, true);
  const r2 = await pipeline.handle.ingest("prometheus", prom("c 1 2"));
  assert.equal(r2.accepted, 1);
  assert.equal(r2.cardinality, undefined);
  await perch.stop();
});

Deno.test("pipeline component: the per-source rate limit follows reloads; scrapes are not charged", async () => {
  const app = new RecordingAppender();
  const pipeline = pipelineComponent({ ...testBasics(), appender: () => app });
  const limited = "limits:\n  ingest_rate_per_source: 1\n  ingest_burst_per_source: 2\n";
  const perch = await startWith(testBasics(), limited, [pipeline]);
  const push = (who: string) =>
    pipeline.runAs(who, () => pipeline.handle.ingest("prometheus", prom("x 1 1\ny 1 1\nz 1 1")));
  // The first push empties the bucket (it may go below zero); the next waits for it to refill.
  assert.equal((await push("token:a")).accepted, 3);
  await assert.rejects(push("token:a"), RateLimitedError);
  assert.equal((await push("token:b")).accepted, 3, "another source is untouched");
  // Without a source (a scrape) nothing is charged.
  assert.equal((await pipeline.handle.ingest("scrape", prom("x 1 1\ny 1 1\nz 1 1"))).accepted, 3);

  assert.equal((await perch.reload("limits:\n  ingest_rate_per_source: 0\n")).ok, true);
  assert.equal((await push("token:a")).accepted, 3);
  await perch.stop();
});

Deno.test("pipeline component: a reload that changes only rate limits keeps the pipeline and its series count", async () => {
  const app = new RecordingAppender();
  const pipeline = pipelineComponent({ ...testBasics(), appender: () => app });
  const perch = await startWith(testBasics(), "limits:\n  max_series: 2\n", [pipeline]);
  assert.equal((await pipeline.handle.ingest("prometheus", prom("a 1 1\nb 1 1"))).accepted, 2);
  const limited = "limits:\n  max_series: 2\n  ingest_rate_per_source: 1000\n";
  assert.equal((await perch.reload(limited)).ok, true);
  // Without storage's series index the pipeline counts series itself: still 2 of 2.
  const r = await pipeline.handle.ingest("prometheus", prom("c 1 2"));
  assert.equal(r.cardinality?.refusedSeries, 1);
  await perch.stop();
});

Deno.test("pipeline component: each batch taken in is reported with its sample count, refused ones too", async () => {
  const app = new RecordingAppender();
  const seen: number[] = [];
  const pipeline = pipelineComponent({
    ...testBasics(),
    appender: () => app,
    onIngest: (n) => seen.push(n),
  });
  const perch = await startWith(testBasics(), "limits:\n  max_series: 2\n", [pipeline]);
  await pipeline.handle.ingest("prometheus", prom("a 1 1\nb 1 1\nc 1 1"));
  await pipeline.handle.ingest("scrape", prom("a 2 2"));
  assert.deepEqual(seen, [3, 1]);
  await perch.stop();
});
