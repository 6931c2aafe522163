/**
 * Damage trials on a real data dir: a Perch child ingests two hours of
 * samples (one flushed into a block, one left in the WAL), is SIGKILLed, and
 * then for each file kind (WAL segment, block chunks / series table / labels
 * table / footer, index.kv, state.kv, remote.kv, incidents.json) and each
 * damage (flipped bytes, a zeroed page, a truncation) a copy of the data dir
 * is damaged and Perch started on it. Every trial must start, serve no wrong
 * sample, and report degraded health whenever a sample is missing. The loss
 * of each trial is printed.
 */
import assert from "node:assert/strict";
import { type PerchProcess, spawnPerch } from "../_perch.ts";

const SERIES = 20;
const STEP = 10_000;
const PER_HOUR = 360;
const T_END = Math.floor(Date.now() / STEP) * STEP - 60_000;
const T_OLD = T_END - 3 * 3_600_000; // one hour starting here goes into a block
const T_NEW = T_END - 3_600_000; // one hour starting here stays in the WAL

const value = (s: number, t: number) => s * 100_000 + (t / STEP) % 100_000;

function promText(from: number, steps = PER_HOUR): string {
  const lines: string[] = [];
  for (let i = 0; i < steps; i++) {
    const t = from + i * STEP;
    for (let s = 0; s < SERIES; s++) lines.push(`trial_metric{s="${s}"} ${value(s, t)} ${t}`);
  }
  return lines.join("\n") + "\n";
}

async function post(p: PerchProcess, path: string, body?: string): Promise<Response> {
  const r = await fetch(p.url + path, { method: "POST", body });
  await r.body?.cancel();
  return r;
}

/** Every sample served for trial_metric: checks each against the formula; returns the count. */
async function servedSamples(p: PerchProcess): Promise<number> {
  const q = new URLSearchParams({
    "match[]": "trial_metric",
    start: String((T_OLD - 60_000) / 1000),
    end: String((T_END + 60_000) / 1000),
  });
  const r = await fetch(`${p.url}/api/v1/export?${q}`);
  assert.equal(r.status, 200);
  let n = 0;
  for (const line of (await r.text()).split("\n")) {
    if (!line) continue;
    const j = JSON.parse(line) as { metric: { s: string }; values: number[]; timestamps: number[] };
    const s = Number(j.metric.s);
    for (let i = 0; i < j.timestamps.length; i++) {
      const t = j.timestamps[i];
      const inOld = t >= T_OLD && t < T_OLD + PER_HOUR * STEP;
      const inNew = t >= T_NEW && t < T_NEW + PER_HOUR * STEP;
      assert.ok((inOld || inNew) && t % STEP === 0, `a sample never written: s=${s} t=${t}`);
      assert.equal(Number(j.values[i]), value(s, t), `wrong value for s=${s} t=${t}`);
      n++;
    }
  }
  return n;
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

function onlyFile(dir: string, suffix: string): string {
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(suffix));
  assert.ok(names.length > 0, `no ${suffix} in ${dir}`);
  return `${dir}/${names.sort()[0]}`;
}

type Where = (data: Uint8Array) => number;
const middle: Where = (d) => Math.floor(d.length / 2);
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
    const p = await spawnPerch({ dataDir: pristine });
    try {
      assert.equal((await post(p, "/api/v1/import/prometheus", promText(T_OLD))).status, 204);
      assert.equal((await post(p, "/api/v1/admin/tsdb/flush")).status, 200);
      // The WAL hour arrives a minute at a time, as from a scraper: many records.
      for (let m = 0; m < 60; m++) {
        const r = await post(p, "/api/v1/import/prometheus", promText(T_NEW + m * 60_000, 6));
        assert.equal(r.status, 204);
      }
      assert.equal(await servedSamples(p), 2 * SERIES * PER_HOUR);
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
    const total = 2 * SERIES * PER_HOUR;
    const files: [string, (dir: string) => string, Where][] = [
      ["WAL segment", (d) => onlyFile(`${d}/wal`, ".wal"), middle],
      ...Object.entries(blockRegions).map(([k, w]) =>
        [k, (d: string) => onlyFile(`${d}/blocks`, ".blk"), w] as [
          string,
          (d: string) => string,
          Where,
        ]
      ),
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
          const served = await servedSamples(c);
          const h = await (await fetch(`${c.url}/health`)).json();
          const st = h.checks.storage;
          if (served < total) {
            assert.equal(st.status, "degraded", `${kind}/${how}: ${total - served} missing`);
          }
          const dash = await fetch(`${c.url}/api/dashboards`);
          assert.equal(dash.status, 200, `${kind}/${how}: dashboards`);
          await dash.body?.cancel();
          const kinds = (st.details?.incidents ?? []).map((i: { kind: string }) => i.kind);
          rows.push(
            `${kind.padEnd(20)} ${how.padEnd(8)} served ${served}/${total}, lost ${
              total - served
            }, health ${st.status} [${kinds.join(",")}]`,
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
