import assert from "node:assert/strict";
import { silentLogger } from "../logging/mod.ts";
import { Registry } from "../selfmon/mod.ts";
import { parseScrapeConfigs, type ScrapeConfig } from "./config.ts";
import { ApiTargetConflictError, ApiTargetInputError, createScrapeManager } from "./manager.ts";
import { exposition, FakeClock, recordingAppender, type Written } from "./_test_util.ts";

const GLOBAL = { scrape_interval: 10_000, scrape_timeout: 5_000 };

function configs(raw: unknown[]): ScrapeConfig[] {
  const r = parseScrapeConfigs(raw, GLOBAL);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.configs;
}

function all(batches: Written[][]): Written[] {
  return batches.flat();
}

function instancesOf(ws: Written[], name: string): string[] {
  return [...new Set(ws.filter((w) => w.name === name).map((w) => w.labels.instance!))].sort();
}

Deno.test("ScrapeManager scrapes static targets, keeps unchanged ones across reloads", async () => {
  const a = exposition({ body: "a_metric 1\n" });
  const b = exposition({ body: "b_metric 2\n" });
  const clock = new FakeClock();
  const rec = recordingAppender();
  const registry = new Registry();
  const m = createScrapeManager({
    configs: configs([{
      job_name: "edge",
      static_configs: [{ targets: [a.address, b.address], labels: { site: "barn" } }],
      relabel_configs: [],
    }]),
    appendRows: rec.append,
    logger: silentLogger(),
    registry,
    clock,
    selfScrape: { enabled: false, interval: 15_000 },
  });
  try {
    await m.start();
    assert.deepEqual(m.pools(), ["edge"]);
    assert.equal(m.targets().active.length, 2);
    assert.ok(m.targets().active.every((t) => t.health.health === "unknown"));
    await clock.advance(10_000);
    const ws = all(rec.batches);
    assert.deepEqual(instancesOf(ws, "up"), [a.address, b.address].sort());
    const am = ws.find((w) => w.name === "a_metric")!;
    assert.deepEqual(am.labels, { job: "edge", instance: a.address, site: "barn" });
    assert.ok(m.targets().active.every((t) => t.health.health === "up"));
    assert.match(registry.expose(), /perch_scrape_attempts_total\{job="edge",result="success"\} 2/);
    assert.match(registry.expose(), /perch_scrape_targets\{job="edge",health="up"\} 2/);

    // Same config again: nothing restarts, nothing goes stale.
    const before = m.targets().active.map((t) => t.health.lastScrape);
    const n = rec.batches.length;
    await m.reload(configs([{
      job_name: "edge",
      static_configs: [{ targets: [a.address, b.address], labels: { site: "barn" } }],
    }]));
    assert.equal(rec.batches.length, n);
    assert.deepEqual(m.targets().active.map((t) => t.health.lastScrape), before);

    // Drop b: its series get staleness markers; a keeps its loop (and health).
    await m.reload(configs([{
      job_name: "edge",
      static_configs: [{ targets: [a.address], labels: { site: "barn" } }],
    }]));
    const after = all(rec.batches.slice(n));
    assert.ok(after.find((w) => w.name === "b_metric")?.stale, "b_metric must be marked stale");
    assert.ok(after.find((w) => w.name === "up" && w.labels.instance === b.address)?.stale);
    assert.equal(after.filter((w) => w.labels.instance === a.address).length, 0);
    const act = m.targets().active;
    assert.equal(act.length, 1);
    assert.equal(act[0]!.health.health, "up", "a's loop kept its state");
  } finally {
    await m.stop();
    await a.close();
    await b.close();
  }
});

Deno.test("ScrapeManager lists targets dropped by relabeling", async () => {
  const clock = new FakeClock();
  const m = createScrapeManager({
    configs: configs([{
      job_name: "j",
      static_configs: [{ targets: ["keep:1", "drop:1"] }],
      relabel_configs: [{ source_labels: ["__address__"], regex: "drop:.*", action: "drop" }],
    }]),
    appendRows: recordingAppender().append,
    logger: silentLogger(),
    clock,
    selfScrape: { enabled: false, interval: 15_000 },
  });
  try {
    await m.start();
    const t = m.targets();
    assert.deepEqual(t.active.map((x) => x.labels.instance), ["keep:1"]);
    assert.equal(t.dropped.length, 1);
    assert.equal(t.dropped[0]!.discoveredLabels.__address__, "drop:1");
    assert.equal(t.dropped[0]!.discoveredLabels.job, "j");
  } finally {
    await m.stop();
  }
});

Deno.test("ScrapeManager self-scrapes Perch's metrics as job perch", async () => {
  const clock = new FakeClock();
  const rec = recordingAppender();
  const m = createScrapeManager({
    configs: [],
    appendRows: rec.append,
    logger: silentLogger(),
    clock,
    selfMetrics: () => "# TYPE perch_up gauge\nperch_up 1\n",
    selfAddress: "127.0.0.1:9999",
    selfScrape: { enabled: true, interval: 5_000 },
  });
  try {
    await m.start();
    await clock.advance(5_000);
    const w = all(rec.batches).find((x) => x.name === "perch_up");
    assert.ok(w);
    assert.deepEqual(w.labels, { job: "perch", instance: "127.0.0.1:9999" });
    assert.equal(m.targets().active[0]!.scrapeUrl, "http://127.0.0.1:9999/metrics");
    // Turned off on reload: the job goes away.
    await m.reload([], { selfScrape: { enabled: false, interval: 5_000 } });
    assert.deepEqual(m.pools(), []);
  } finally {
    await m.stop();
  }
});

Deno.test("ScrapeManager runs in-process jobs (host metrics); a configured job of that name wins", async () => {
  const clock = new FakeClock();
  const rec = recordingAppender();
  let passes = 0;
  const host = (instance: string, interval: number) => ({
    job: "node",
    instance,
    interval,
    metrics: () => {
      passes++;
      return "# TYPE node_load1 gauge\nnode_load1 0.5\n";
    },
  });
  const real = exposition({ body: "node_load1 2\n" });
  const m = createScrapeManager({
    configs: [],
    appendRows: rec.append,
    logger: silentLogger(),
    clock,
    selfScrape: { enabled: false, interval: 15_000 },
    inProcessJobs: [host("pi4", 5_000)],
  });
  try {
    await m.start();
    await clock.advance(10_000);
    const loads = all(rec.batches).filter((w) => w.name === "node_load1");
    assert.ok(loads.length >= 2, "one pass per interval");
    assert.equal(passes, loads.length);
    assert.deepEqual(loads[0]!.labels, { job: "node", instance: "pi4" });
    const up = all(rec.batches).find((w) => w.name === "up")!;
    assert.deepEqual([up.labels, up.v], [{ job: "node", instance: "pi4" }, 1]);
    // A run-time target cannot take the job.
    await assert.rejects(
      m.addApiTarget({ job: "node", url: `http://${real.address}/metrics` }),
      ApiTargetConflictError,
    );
    // Reload with another instance: the old series go stale, the new one is scraped.
    rec.batches.length = 0;
    await m.reload([], { inProcessJobs: [host("gateway", 5_000)] });
    await clock.advance(5_000);
    const after = all(rec.batches).filter((w) => w.name === "node_load1");
    assert.ok(after.some((w) => w.labels.instance === "gateway" && w.v === 0.5));
    assert.ok(after.some((w) => w.labels.instance === "pi4" && w.stale), "stale marker");
    // A scrape config named node (a real node_exporter) replaces the built-in job.
    rec.batches.length = 0;
    const before = passes;
    await m.reload(configs([{ job_name: "node", static_configs: [{ targets: [real.address] }] }]));
    await clock.advance(10_000);
    assert.equal(passes, before, "the built-in job no longer runs");
    const fromReal = all(rec.batches).filter((w) => w.name === "node_load1" && w.v === 2);
    assert.ok(fromReal.length >= 1);
    assert.equal(fromReal[0]!.labels.instance, real.address);
  } finally {
    await m.stop();
    await real.close();
  }
});

Deno.test("ScrapeManager adds, persists and removes run-time targets", async () => {
  const srv = exposition({ body: "api_metric 3\n" });
  const kv = await Deno.openKv(":memory:");
  const clock = new FakeClock();
  const rec = recordingAppender();
  const opts = {
    configs: configs([{ job_name: "cfg" }]),
    appendRows: rec.append,
    logger: silentLogger(),
    clock,
    kv,
    global: GLOBAL,
    selfScrape: { enabled: false, interval: 15_000 },
  };
  const m = createScrapeManager(opts);
  let m2: ReturnType<typeof createScrapeManager> | undefined;
  try {
    await m.start();
    const t = await m.addApiTarget({
      url: `http://${srv.address}/custom?x=1`,
      job: "sensors",
      interval: "5s",
      labels: { room: "attic" },
    });
    assert.equal(t.interval, 5000);
    const act = m.targets().active.find((x) => x.pool === "sensors")!;
    assert.equal(act.scrapeUrl, `http://${srv.address}/custom?x=1`);
    assert.equal(act.interval, 5000);
    assert.equal(act.timeout, 5000);
    await clock.advance(5_000);
    const w = all(rec.batches).find((x) => x.name === "api_metric")!;
    assert.deepEqual(w.labels, { job: "sensors", instance: srv.address, room: "attic" });

    await assert.rejects(
      m.addApiTarget({ url: `http://${srv.address}/custom?x=1`, job: "sensors" }),
      ApiTargetConflictError,
    );
    await assert.rejects(m.addApiTarget({ target: "h:1", job: "cfg" }), ApiTargetConflictError);
    await assert.rejects(
      m.addApiTarget({ target: "http://x", job: "" }),
      (e: unknown) =>
        e instanceof ApiTargetInputError &&
        e.problems.map((p) => p.field).join() === "target,job",
    );

    // Persisted: a new manager on the same KV scrapes it too.
    const stored = await kv.get(["scrape", "targets", t.id]);
    assert.equal((stored.value as { job: string }).job, "sensors");
    m2 = createScrapeManager({ ...opts, appendRows: recordingAppender().append });
    await m2.start();
    assert.deepEqual(m2.listApiTargets().map((x) => x.id), [t.id]);
    assert.ok(m2.pools().includes("sensors"));
    await m2.stop();
    m2 = undefined;

    const n = rec.batches.length;
    assert.equal(await m.removeApiTarget(t.id), true);
    assert.equal(await m.removeApiTarget(t.id), false);
    assert.ok(!m.pools().includes("sensors"));
    assert.ok(all(rec.batches.slice(n)).find((x) => x.name === "api_metric")?.stale);
    assert.equal((await kv.get(["scrape", "targets", t.id])).value, null);
  } finally {
    await m2?.stop();
    await m.stop();
    kv.close();
    await srv.close();
  }
});

Deno.test("ScrapeManager follows file_sd changes", async () => {
  const dir = await Deno.makeTempDir();
  const srv = exposition({ body: "f 1\n" });
  const m = createScrapeManager({
    configs: configs([{ job_name: "files", file_sd_configs: [{ files: [`${dir}/*.json`] }] }]),
    appendRows: recordingAppender().append,
    logger: silentLogger(),
    selfScrape: { enabled: false, interval: 15_000 },
  });
  const waitFor = async (cond: () => boolean) => {
    const end = performance.now() + 5000;
    while (!cond()) {
      if (performance.now() > end) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await m.start();
    assert.equal(m.targets().active.length, 0);
    await Deno.writeTextFile(
      `${dir}/t.json`,
      JSON.stringify([{ targets: [srv.address], labels: { rack: "r1" } }]),
    );
    await waitFor(() => m.targets().active.length === 1);
    const t = m.targets().active[0]!;
    assert.equal(t.labels.rack, "r1");
    assert.equal(t.discoveredLabels.__meta_filepath, `${dir}/t.json`);
    assert.equal(t.labels.__meta_filepath, undefined);
    await Deno.writeTextFile(`${dir}/t.json`, "[]");
    await waitFor(() => m.targets().active.length === 0);
  } finally {
    await m.stop();
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
