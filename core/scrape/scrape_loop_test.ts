import assert from "node:assert/strict";
import { IngestPipeline } from "../ingest/mod.ts";
import { silentLogger } from "../logging/mod.ts";
import { isStaleNaN, metricName, type SampleBatch } from "../model/mod.ts";
import { realClock } from "./clock.ts";
import { ScrapeLoop } from "./scrape_loop.ts";
import {
  config,
  exposition,
  FakeClock,
  recordingAppender,
  target,
  type Written,
} from "./_test_util.ts";

const BODY = `# HELP temp_celsius Temperature.
# TYPE temp_celsius gauge
temp_celsius{room="kitchen"} 21.5
temp_celsius{room="cellar"} 12
# TYPE door_opens_total counter
door_opens_total 7
`;

function find(batch: Written[], name: string, labels: Record<string, string> = {}): Written[] {
  return batch.filter((w) =>
    w.name === name && Object.entries(labels).every(([k, v]) => w.labels[k] === v)
  );
}

function one(batch: Written[], name: string, labels: Record<string, string> = {}): Written {
  const got = find(batch, name, labels);
  assert.equal(got.length, 1, `expected one ${name} ${JSON.stringify(labels)}, got ${got.length}`);
  return got[0]!;
}

function newLoop(
  address: string,
  raw: Record<string, unknown> = {},
  clock = new FakeClock(),
) {
  const rec = recordingAppender();
  const cfg = config(raw);
  const loop = new ScrapeLoop({
    target: target(cfg, address),
    config: cfg,
    appendRows: rec.append,
    clock,
    logger: silentLogger(),
  });
  return { loop, rec, clock };
}

Deno.test("ScrapeLoop writes samples with job/instance and up=1 plus scrape_* series", async () => {
  const srv = exposition({ body: BODY });
  try {
    const { loop, rec, clock } = newLoop(srv.address);
    await loop.scrapeOnce();
    const b = rec.batches[0]!;
    const t = one(b, "temp_celsius", { room: "kitchen" });
    assert.equal(t.v, 21.5);
    assert.equal(t.t, clock.now());
    assert.deepEqual(t.labels, { job: "test", instance: srv.address, room: "kitchen" });
    assert.equal(one(b, "door_opens_total").v, 7);
    assert.equal(one(b, "up").v, 1);
    assert.deepEqual(one(b, "up").labels, { job: "test", instance: srv.address });
    assert.equal(one(b, "scrape_samples_scraped").v, 3);
    assert.equal(one(b, "scrape_samples_post_metric_relabeling").v, 3);
    assert.equal(one(b, "scrape_series_added").v, 3);
    assert.ok(one(b, "scrape_duration_seconds").v >= 0);
    assert.equal(loop.health.health, "up");
    assert.equal(loop.health.lastError, "");
    assert.equal(loop.metadata.get("temp_celsius")?.type, "gauge");
    assert.match(srv.state.lastHeaders!.get("accept")!, /openmetrics-text.*text\/plain/);
    assert.equal(srv.state.lastHeaders!.get("x-prometheus-scrape-timeout-seconds"), "10");

    await clock.advance(15_000);
    await loop.scrapeOnce();
    assert.equal(one(rec.batches[1]!, "scrape_series_added").v, 0);
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop writes a staleness marker when a series disappears", async () => {
  const srv = exposition({ body: BODY });
  try {
    const { loop, rec, clock } = newLoop(srv.address);
    await loop.scrapeOnce();
    srv.state.body = BODY.replace(/.*cellar.*\n/, "");
    await clock.advance(15_000);
    await loop.scrapeOnce();
    const b = rec.batches[1]!;
    const cellar = one(b, "temp_celsius", { room: "cellar" });
    assert.ok(cellar.stale, "cellar series must get a staleness marker");
    assert.equal(cellar.t, clock.now());
    assert.equal(one(b, "temp_celsius", { room: "kitchen" }).stale, false);
    // The marker is written once, not at every later scrape.
    await clock.advance(15_000);
    await loop.scrapeOnce();
    assert.equal(find(rec.batches[2]!, "temp_celsius", { room: "cellar" }).length, 0);
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop marks every series stale and up=0 when the target fails", async () => {
  const srv = exposition({ body: BODY });
  try {
    const { loop, rec, clock } = newLoop(srv.address);
    await loop.scrapeOnce();
    srv.state.status = 500;
    await clock.advance(15_000);
    await loop.scrapeOnce();
    const b = rec.batches[1]!;
    assert.equal(one(b, "up").v, 0);
    assert.equal(one(b, "scrape_samples_scraped").v, 0);
    for (const name of ["temp_celsius", "door_opens_total"]) {
      for (const w of find(b, name)) assert.ok(w.stale, `${name} must be stale`);
    }
    assert.equal(find(b, "temp_celsius").length, 2);
    assert.equal(loop.health.health, "down");
    assert.match(loop.health.lastError, /HTTP status 500/);
    // Recovery: samples are back, series_added counts them again.
    srv.state.status = 200;
    await clock.advance(15_000);
    await loop.scrapeOnce();
    assert.equal(one(rec.batches[2]!, "up").v, 1);
    assert.equal(one(rec.batches[2]!, "scrape_series_added").v, 3);
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop times out a slow target with up=0 and lastError", async () => {
  // The target answers 1.2 s after the request arrives, by a timer of this
  // process set after the scrape's own: timers fire in deadline order, so
  // up=0 proves the scrape ended at its timeout, however loaded the machine.
  const srv = exposition({ body: BODY, delayMs: 1200 });
  try {
    const { loop, rec } = newLoop(srv.address, {
      scrape_interval: "1s",
      scrape_timeout: "300ms",
    });
    await loop.scrapeOnce();
    assert.equal(one(rec.batches[0]!, "up").v, 0);
    assert.equal(loop.health.health, "down");
    assert.match(loop.health.lastError, /timed out after 0.3s/);
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop renames clashing labels to exported_* unless honor_labels", async () => {
  const body = 'm{job="scraped",instance="other",x="1"} 1\n';
  const srv = exposition({ body });
  try {
    const a = newLoop(srv.address);
    await a.loop.scrapeOnce();
    assert.deepEqual(one(a.rec.batches[0]!, "m").labels, {
      job: "test",
      instance: srv.address,
      exported_job: "scraped",
      exported_instance: "other",
      x: "1",
    });
    const b = newLoop(srv.address, { honor_labels: true });
    await b.loop.scrapeOnce();
    assert.deepEqual(one(b.rec.batches[0]!, "m").labels, {
      job: "scraped",
      instance: "other",
      x: "1",
    });
    // Report series always carry the target's labels.
    assert.deepEqual(one(b.rec.batches[0]!, "up").labels, { job: "test", instance: srv.address });
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop applies metric_relabel_configs (drop, rename)", async () => {
  const srv = exposition({ body: BODY });
  try {
    const { loop, rec } = newLoop(srv.address, {
      metric_relabel_configs: [
        { source_labels: ["__name__"], regex: "door_.*", action: "drop" },
        { source_labels: ["room"], target_label: "place", replacement: "at_$1" },
      ],
    });
    await loop.scrapeOnce();
    const b = rec.batches[0]!;
    assert.equal(find(b, "door_opens_total").length, 0);
    assert.equal(one(b, "temp_celsius", { room: "cellar" }).labels.place, "at_cellar");
    assert.equal(one(b, "scrape_samples_scraped").v, 3);
    assert.equal(one(b, "scrape_samples_post_metric_relabeling").v, 2);
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop fails the scrape past sample_limit and label_limit", async () => {
  const srv = exposition({ body: BODY });
  try {
    const a = newLoop(srv.address, { sample_limit: 2 });
    await a.loop.scrapeOnce();
    assert.equal(one(a.rec.batches[0]!, "up").v, 0);
    assert.equal(find(a.rec.batches[0]!, "temp_celsius").length, 0);
    assert.match(a.loop.health.lastError, /sample_limit exceeded \(3 > 2\)/);
    const b = newLoop(srv.address, { label_limit: 3 });
    await b.loop.scrapeOnce();
    assert.equal(one(b.rec.batches[0]!, "up").v, 0);
    assert.match(b.loop.health.lastError, /label_limit exceeded/);
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop reads gzip bodies and OpenMetrics", async () => {
  const om = `# TYPE build info
build_info{version="1"} 1
# TYPE t gauge
t 5 1700000000.5
# EOF
`;
  const srv = exposition({
    body: om,
    gzip: true,
    contentType: "application/openmetrics-text; version=1.0.0",
  });
  try {
    const { loop, rec } = newLoop(srv.address);
    await loop.scrapeOnce();
    assert.equal(loop.health.lastError, "");
    const b = rec.batches[0]!;
    assert.equal(one(b, "t").t, 1700000000500);
    assert.equal(one(b, "build_info").v, 1);
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop enforces body_size_limit", async () => {
  const srv = exposition({ body: BODY.repeat(200) });
  try {
    const { loop } = newLoop(srv.address, { body_size_limit: 1000 });
    await loop.scrapeOnce();
    assert.match(loop.health.lastError, /body size limit exceeded/);
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop sends basic auth and bearer credentials", async () => {
  const srv = exposition({ body: BODY });
  try {
    const a = newLoop(srv.address, { basic_auth: { username: "u", password: "p" } });
    await a.loop.scrapeOnce();
    assert.equal(srv.state.lastHeaders!.get("authorization"), "Basic " + btoa("u:p"));
    const b = newLoop(srv.address, { bearer_token: "tok" });
    await b.loop.scrapeOnce();
    assert.equal(srv.state.lastHeaders!.get("authorization"), "Bearer tok");
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop ignores sample timestamps when honor_timestamps is false", async () => {
  const srv = exposition({ body: "a 1 1000\nb 2\n" });
  try {
    const x = newLoop(srv.address);
    await x.loop.scrapeOnce();
    assert.equal(one(x.rec.batches[0]!, "a").t, 1000);
    const y = newLoop(srv.address, { honor_timestamps: false });
    await y.loop.scrapeOnce();
    assert.equal(one(y.rec.batches[0]!, "a").t, y.clock.now());
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop scrapes at a stable phase each interval and stops with staleness", async () => {
  const srv = exposition({ body: BODY });
  try {
    const clock = new FakeClock(Date.UTC(2024, 0, 1));
    const { loop, rec } = newLoop(srv.address, { scrape_interval: "10s" }, clock);
    const delay = loop.delayToNextSlot(clock.now());
    assert.ok(delay >= 0 && delay < 10_000);
    loop.start();
    await clock.advance(delay);
    assert.equal(rec.batches.length, 1);
    const first = one(rec.batches[0]!, "up").t;
    await clock.advance(30_000);
    assert.equal(rec.batches.length, 4);
    const times = rec.batches.map((b) => one(b, "up").t);
    assert.deepEqual(times, [first, first + 10_000, first + 20_000, first + 30_000]);
    // Same target, same phase: a new loop picks the same offset.
    assert.equal(first % 10_000, (clock.now() + loop.delayToNextSlot(clock.now())) % 10_000);

    await loop.stop({ stale: true });
    const last = rec.batches.at(-1)!;
    assert.ok(one(last, "temp_celsius", { room: "kitchen" }).stale);
    assert.ok(one(last, "up").stale);
    assert.equal(clock.pending, 0, "no timer left after stop");
    await clock.advance(60_000);
    assert.equal(rec.batches.length, 5, "no scrape after stop");
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop never overlaps scrapes of one target", async () => {
  const srv = exposition({ body: BODY, delayMs: 300 });
  try {
    const { loop } = newLoop(srv.address, { scrape_interval: "1s" }, undefined);
    const p1 = loop.scrapeOnce();
    const p2 = loop.scrapeOnce();
    await Promise.all([p1, p2]);
    assert.equal(srv.state.requests, 1);
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop.stop() aborts an in-flight scrape promptly", async () => {
  const srv = exposition({ body: BODY, delayMs: 2000 });
  try {
    const rec = recordingAppender();
    const cfg = config({ scrape_interval: "5s" });
    // An aborted request never resolves, even when its answer comes later.
    let answered = false;
    const loop = new ScrapeLoop({
      target: target(cfg, srv.address),
      config: cfg,
      appendRows: rec.append,
      clock: realClock,
      logger: silentLogger(),
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        answered = true;
        return res;
      },
    });
    const p = loop.scrapeOnce();
    await new Promise((r) => setTimeout(r, 50));
    await loop.stop();
    await p;
    assert.ok(!answered, "stop() must abort the request, not wait for the target's answer");
    assert.equal(rec.batches.length, 0, "an aborted scrape writes nothing");
  } finally {
    await srv.close();
  }
});

Deno.test("ScrapeLoop output passes the shared ingest pipeline, staleness markers included", async () => {
  const srv = exposition({ body: BODY });
  try {
    // Checked as appended: V8 may canonicalise a NaN once it is stored in an object field.
    const stored: { name: string; stale: boolean }[] = [];
    const pipeline = new IngestPipeline({
      appender: {
        append(batch: SampleBatch) {
          for (let i = 0; i < batch.length; i++) {
            stored.push({
              name: metricName(batch.series[batch.ref(i)]!),
              stale: isStaleNaN(batch.v(i)),
            });
          }
          return Promise.resolve({ accepted: batch.length, rejected: [] });
        },
        setMetadata: () => Promise.resolve(),
      },
    });
    const cfg = config({});
    const clock = new FakeClock();
    const loop = new ScrapeLoop({
      target: target(cfg, srv.address),
      config: cfg,
      appendRows: (rows, protocol) => pipeline.ingest(protocol, rows),
      clock,
      logger: silentLogger(),
    });
    await loop.scrapeOnce();
    assert.equal(stored.filter((s) => s.name === "temp_celsius").length, 2);
    srv.state.body = "";
    await clock.advance(15_000);
    await loop.scrapeOnce();
    const stale = stored.slice(-10).filter((s) => s.stale).map((s) => s.name).sort();
    assert.deepEqual(stale, ["door_opens_total", "temp_celsius", "temp_celsius"]);
  } finally {
    await srv.close();
  }
});
