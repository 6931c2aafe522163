/**
 * Damage trials on a real data dir. An hour of samples and native
 * histograms three days old is written and downsampled into a 1 m tier
 * (a tier block and a tier histogram file); then a Perch child ingests two
 * more hours (one flushed into a block and a histogram file, one left in the
 * WAL) and is SIGKILLed. For each file kind (WAL segment, block chunks /
 * series table / labels table / footer, the same parts of the tier block,
 * both histogram files, index.kv, state.kv, remote.kv and their SQLite WAL
 * files) and each damage (flipped bytes, a zeroed page, a truncation) a copy
 * of the data dir is damaged and Perch started on it. Every trial must
 * start, serve no wrong sample, histogram or dashboard, and report degraded
 * health whenever one is missing. The loss of each trial is printed.
 */
import assert from "node:assert/strict";
import { encodeRemoteWriteBody } from "../../core/ingest/mod.ts";
import { SampleBatch, toLabels } from "../../core/model/mod.ts";
import type { NativeHistogram } from "../../core/model/mod.ts";
import { histogramToJson } from "../../core/remote/mod.ts";
import { openDB } from "../../core/tsdb/mod.ts";
import { type PerchProcess, spawnPerch } from "../_perch.ts";
import { postRemoteWrite } from "../_remote_write.ts";
import { customHistogram, testHistogram } from "../remote/_histograms.ts";

const SERIES = 20;
const STEP = 10_000;
const PER_HOUR = 360;
const T_END = Math.floor(Date.now() / STEP) * STEP - 60_000;
const T_OLD = T_END - 3 * 3_600_000; // one hour starting here goes into a block
const T_NEW = T_END - 3_600_000; // one hour starting here stays in the WAL
const T_TIER = T_END - 72 * 3_600_000; // one hour starting here is downsampled to 1 m
const TIER_RES = 60_000;

const value = (s: number, t: number) => s * 100_000 + (t / STEP) % 100_000;
const inHour = (t: number, from: number) => t >= from && t < from + PER_HOUR * STEP;
/** The 1 m tier keeps each minute's last sample, at its own timestamp. */
const tierKeeps = (t: number) =>
  inHour(t, T_TIER) && (Math.floor((t + STEP) / TIER_RES) > Math.floor(t / TIER_RES) ||
    !inHour(t + STEP, T_TIER));

const H_KINDS = ["int", "float", "custom"] as const;
/** The histogram of `kind` at `t` (counts cycle, so there are counter resets). */
function histogramAt(kind: string, t: number): NativeHistogram {
  const id = (t / STEP) % 40;
  return kind === "int"
    ? testHistogram(id)
    : kind === "float"
    ? testHistogram(id, true)
    : customHistogram(id);
}
/** A histogram's export form without its reset hint (a tier may set it to unknown). */
function histogramJson(h: unknown): string {
  const o = { ...(h as Record<string, unknown>) };
  delete o.reset_hint;
  return JSON.stringify(o);
}

function promText(from: number, steps = PER_HOUR): string {
  const lines: string[] = [];
  for (let i = 0; i < steps; i++) {
    const t = from + i * STEP;
    for (let s = 0; s < SERIES; s++) lines.push(`trial_metric{s="${s}"} ${value(s, t)} ${t}`);
  }
  return lines.join("\n") + "\n";
}

const DASHBOARDS = 8;

/** Dashboard `d` as created: 6 line panels. */
function dashboard(d: number) {
  return {
    id: `trial-${d}`,
    title: `Trial ${d}`,
    panels: Array.from({ length: 6 }, (_, i) => ({
      id: i + 1,
      title: `panel ${i}`,
      type: "line",
      gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
      targets: [{ expr: `rate(trial_metric{s="${i}"}[5m])` }],
    })),
  };
}

/** Each dashboard as served (its JSON), or undefined when it is not there. */
async function dashboards(p: PerchProcess): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (let d = 0; d < DASHBOARDS; d++) {
    const r = await fetch(`${p.url}/api/dashboards/trial-${d}`);
    const text = await r.text();
    assert.ok(r.status === 200 || r.status === 404, `dashboard ${d}: ${r.status} ${text}`);
    out.push(r.status === 200 ? text : undefined);
  }
  return out;
}

async function post(p: PerchProcess, path: string, body?: string): Promise<Response> {
  const r = await fetch(p.url + path, { method: "POST", body });
  await r.body?.cancel();
  return r;
}

interface ExportLine {
  metric: Record<string, string>;
  values?: (number | string)[];
  histograms?: unknown[];
  timestamps: number[];
}

async function exportLines(p: PerchProcess, match: string): Promise<ExportLine[]> {
  const q = new URLSearchParams({
    "match[]": match,
    start: String((T_TIER - 60_000) / 1000),
    end: String((T_END + 60_000) / 1000),
  });
  const r = await fetch(`${p.url}/api/v1/export?${q}`);
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return text.split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

/**
 * Every sample and histogram served: each is checked against what was
 * written at its timestamp (raw hours: every step; the tier hour: each
 * minute's last). Returns the counts.
 */
async function served(p: PerchProcess): Promise<{ samples: number; histograms: number }> {
  let samples = 0;
  for (const j of await exportLines(p, "trial_metric")) {
    const s = Number(j.metric.s);
    j.timestamps.forEach((t, i) => {
      const raw = inHour(t, T_OLD) || inHour(t, T_NEW);
      assert.ok((raw || tierKeeps(t)) && t % STEP === 0, `a sample never written: s=${s} t=${t}`);
      assert.equal(Number(j.values![i]), value(s, t), `wrong value for s=${s} t=${t}`);
      samples++;
    });
  }
  let histograms = 0;
  for (const j of await exportLines(p, "trial_hist")) {
    const kind = j.metric.kind!;
    assert.ok(j.histograms, `a histogram line for ${kind}`);
    j.timestamps.forEach((t, i) => {
      assert.ok(
        (inHour(t, T_OLD) || inHour(t, T_TIER)) && t % STEP === 0,
        `a histogram never written: ${kind} t=${t}`,
      );
      assert.equal(
        histogramJson(j.histograms![i]),
        histogramJson(histogramToJson(histogramAt(kind, t))),
        `wrong histogram for ${kind} t=${t}`,
      );
      histograms++;
    });
  }
  return { samples, histograms };
}

/** The tier hour, written in-process and downsampled before Perch first starts. */
async function writeTierHour(dir: string): Promise<void> {
  const db = await openDB({
    dir,
    useWorker: false,
    backgroundIntervalMs: 0,
    outOfOrderWindowMs: Infinity,
    deleteGraceMs: 0,
  });
  try {
    const b = new SampleBatch(SERIES * PER_HOUR + H_KINDS.length * PER_HOUR);
    for (let s = 0; s < SERIES; s++) {
      const ref = b.addNewSeries(toLabels("trial_metric", { s: String(s) }));
      for (let i = 0; i < PER_HOUR; i++) b.add(ref, T_TIER + i * STEP, value(s, T_TIER + i * STEP));
    }
    for (const kind of H_KINDS) {
      const ref = b.addNewSeries(toLabels("trial_hist", { kind }));
      for (let i = 0; i < PER_HOUR; i++) {
        const t = T_TIER + i * STEP;
        b.addHistogram(ref, t, histogramAt(kind, t));
      }
    }
    await db.append(b);
    await db.flush();
    await db.maintenance(); // downsamples both, as the hour is older than the 24 h tier
  } finally {
    await db.close();
  }
}

/** The hour of histograms at T_OLD, by remote write, one request per minute. */
async function pushHistograms(p: PerchProcess): Promise<void> {
  for (let m = 0; m < 60; m++) {
    const ts = Array.from({ length: 6 }, (_, i) => T_OLD + m * 60_000 + i * STEP);
    await postRemoteWrite(
      p.url,
      encodeRemoteWriteBody({
        series: H_KINDS.map((kind) => ({
          labels: [{ name: "__name__", value: "trial_hist" }, { name: "kind", value: kind }],
          t: [],
          v: [],
          histograms: ts.map((t) => ({ t, h: histogramAt(kind, t) })),
        })),
      }),
    );
  }
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

function namesIn(dir: string, suffix: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(suffix)).sort();
}

function onlyFile(dir: string, suffix: string): string {
  const names = namesIn(dir, suffix);
  assert.ok(names.length > 0, `no ${suffix} in ${dir}`);
  return `${dir}/${names[0]}`;
}

type Where = (data: Uint8Array) => number;
const middle: Where = (d) => Math.floor(d.length / 2);
/** The middle of a WAL segment's records (zeros are written ahead of them). */
const middleOfRecords: Where = (d) => {
  let end = d.length;
  while (end > 0 && d[end - 1] === 0) end--;
  return Math.floor(end / 2);
};
/** Regions of a version 2 block, from its footer. */
const footerU32 = (d: Uint8Array, at: number) =>
  new DataView(d.buffer, d.byteOffset).getUint32(d.length - 56 + at, true);
const blockRegions: Record<string, Where> = {
  "block chunks": () => 200,
  "block series table": (d) => footerU32(d, 24) + 3,
  "block labels table": (d) => footerU32(d, 32) + 3,
  "block footer": (d) => d.length - 30,
};

function damage(data: Uint8Array, kind: string, at: number): Uint8Array {
  at = Math.max(0, Math.min(at, data.length - 1));
  if (kind === "truncate") return data.subarray(0, at);
  const out = new Uint8Array(data);
  if (kind === "flip") { for (let i = 0; i < 16 && at + i < out.length; i++) out[at + i] ^= 0xa5; }
  else out.fill(0, at, Math.min(out.length, at + 4096));
  return out;
}

Deno.test({
  name: "Perch starts on every damaged data dir, never serves a wrong sample and reports loss",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pristine = await Deno.makeTempDir({ prefix: "perch-damage-" });
    await writeTierHour(pristine);
    const tierBlocks = namesIn(`${pristine}/blocks`, ".blk");
    const tierHists = namesIn(`${pristine}/hist`, ".hist");
    assert.ok(tierBlocks.length > 0, "the tier hour is in tier blocks");
    assert.ok(
      tierHists.length > 0 && tierHists.every((n) => n.endsWith("_60000.hist")),
      "1 m tier histogram files",
    );
    const p = await spawnPerch({ dataDir: pristine });
    let pristineServed, pristineDashboards;
    try {
      for (let d = 0; d < DASHBOARDS; d++) {
        const r = await fetch(`${p.url}/api/dashboards`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(dashboard(d)),
        });
        assert.equal(r.status, 201, await r.text());
      }
      assert.equal((await post(p, "/api/v1/import/prometheus", promText(T_OLD))).status, 204);
      await pushHistograms(p);
      assert.equal((await post(p, "/api/v1/admin/tsdb/flush")).status, 200);
      // The WAL hour arrives a minute at a time, as from a scraper: many records.
      for (let m = 0; m < 60; m++) {
        const r = await post(p, "/api/v1/import/prometheus", promText(T_NEW + m * 60_000, 6));
        assert.equal(r.status, 204);
      }
      pristineServed = await served(p);
      pristineDashboards = await dashboards(p);
      assert.ok(pristineDashboards.every((d) => d !== undefined));
      // state.kv gets its snapshot soon after start; wait for it before the kill.
      for (let i = 0; i < 150; i++) {
        try {
          Deno.statSync(`${pristine}/state.snapshot.kv`);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      await p.stop("SIGKILL");
    }
    let tierPerSeries = 0;
    for (let i = 0; i < PER_HOUR; i++) if (tierKeeps(T_TIER + i * STEP)) tierPerSeries++;
    const total = 2 * SERIES * PER_HOUR + SERIES * tierPerSeries;
    assert.equal(pristineServed.samples, total, "every sample served before any damage");
    // The tier keeps each minute's last histogram and both around each reset.
    const tierHistograms = pristineServed.histograms - H_KINDS.length * PER_HOUR;
    assert.ok(
      tierHistograms >= H_KINDS.length * tierPerSeries &&
        tierHistograms < H_KINDS.length * PER_HOUR,
      `tier histograms served before any damage: ${tierHistograms}`,
    );
    const totalHist = pristineServed.histograms;
    const rawBlock = (d: string) =>
      `${d}/blocks/${namesIn(`${d}/blocks`, ".blk").find((n) => !tierBlocks.includes(n))}`;
    const rawHist = (d: string) =>
      `${d}/hist/${namesIn(`${d}/hist`, ".hist").find((n) => !tierHists.includes(n))}`;
    type Trial = [string, (dir: string) => string, Where];
    const files: Trial[] = [
      ["WAL segment", (d) => onlyFile(`${d}/wal`, ".wal"), middleOfRecords],
      ...Object.entries(blockRegions).map(([k, w]): Trial => [k, rawBlock, w]),
      ...Object.entries(blockRegions).map(([k, w]): Trial => [
        k.replace("block", "tier block"),
        (d) => `${d}/blocks/${tierBlocks[0]}`,
        w,
      ]),
      ["histogram file", rawHist, middle],
      ["tier histogram file", (d) => `${d}/hist/${tierHists[0]}`, middle],
    ];
    // Each KV file, and its SQLite WAL where the kill left one (recent pages live there).
    for (const kv of ["index.kv", "state.kv", "remote.kv"]) {
      files.push([kv, (d) => `${d}/${kv}`, middle]);
      try {
        if (Deno.statSync(`${pristine}/${kv}-wal`).size > 0) {
          files.push([`${kv}-wal`, (d) => `${d}/${kv}-wal`, middle]);
        }
      } catch { /* checkpointed: no -wal file */ }
    }
    const rows: string[] = [];
    for (const [kind, pick, where] of files) {
      for (const how of ["flip", "zero", "truncate"]) {
        const dir = await Deno.makeTempDir({ prefix: "perch-damage-trial-" });
        await copyDir(pristine, dir);
        const path = pick(dir);
        const data = await Deno.readFile(path);
        await Deno.writeFile(path, damage(data, how, where(data)));
        const c = await spawnPerch({ dataDir: dir });
        try {
          const got = await served(c);
          const h = await (await fetch(`${c.url}/health`)).json();
          const st = h.checks.storage;
          const lost = total - got.samples;
          const lostHist = totalHist - got.histograms;
          const dash = await dashboards(c);
          dash.forEach((d, i) =>
            assert.ok(
              d === undefined || d === pristineDashboards[i],
              `${kind}/${how}: dashboard ${i}`,
            )
          );
          const lostDash = dash.filter((d) => d === undefined).length;
          if (lost > 0 || lostHist > 0 || lostDash > 0) {
            assert.equal(
              st.status,
              "degraded",
              `${kind}/${how}: ${lost} samples, ${lostHist} histograms, ${lostDash} dashboards missing`,
            );
          }
          const list = await fetch(`${c.url}/api/dashboards`);
          assert.equal(list.status, 200, `${kind}/${how}: dashboards`);
          await list.body?.cancel();
          const kinds = (st.details?.incidents ?? []).map((i: { kind: string }) => i.kind);
          rows.push(
            `${kind.padEnd(26)} ${how.padEnd(8)} served ${got.samples}/${total}, lost ${lost}; ` +
              `histograms lost ${lostHist}/${totalHist}; dashboards lost ${lostDash}; ` +
              `health ${st.status} [${kinds.join(",")}]`,
          );
          if (st.status === "degraded") {
            // An admin acknowledges: healthy again.
            assert.equal((await post(c, "/api/v1/admin/health/ack")).status, 200);
            const h2 = await (await fetch(`${c.url}/health`)).json();
            assert.equal(h2.checks.storage.status, "healthy", `${kind}/${how} after ack`);
          }
        } finally {
          await c.stop("SIGTERM");
        }
        await Deno.remove(dir, { recursive: true });
      }
    }
    console.log(rows.join("\n"));
    await Deno.remove(pristine, { recursive: true });
  },
});
