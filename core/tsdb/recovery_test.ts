import assert from "node:assert/strict";
import { newMatcher, SampleBatch, toLabels } from "../model/mod.ts";
import { openDB } from "./db.ts";
import { IncidentLog } from "./recovery.ts";
import {
  blockFileName,
  BLOCKS_DIR,
  INCIDENTS_FILE,
  joinPath,
  QUARANTINE_DIR,
  WAL_DIR,
  walSegmentName,
} from "./filenames.ts";
import { BlockReader } from "./block.ts";
import { encodeLabelsBlob } from "./block_file_writer.ts";
import { BlockWriter } from "./block_writer.ts";

const T0 = 1_700_006_400_000;

function open(dir: string) {
  return openDB({
    dir,
    now: () => T0 + 3_600_000,
    backgroundIntervalMs: 0,
    useWorker: false,
    downsampling: [],
  });
}

/** 600 appends of 40 series each, one sample per series per append. */
async function fill(dir: string) {
  const db = await open(dir);
  for (let r = 0; r < 600; r++) {
    const b = new SampleBatch();
    for (let h = 0; h < 40; h++) {
      b.add(b.addSeries(toLabels("temp", { host: `h${h}` }), `h${h}`), T0 + r * 1000, r * 100 + h);
    }
    await db.append(b);
  }
  await db.close();
}

Deno.test("DB serves what is left of a damaged WAL segment, reports it until acknowledged, and persists the report", async () => {
  const dir = await Deno.makeTempDir();
  await fill(dir);
  const path = joinPath(dir, WAL_DIR, walSegmentName(1));
  const data = await Deno.readFile(path);
  const at = Math.floor(data.length / 2);
  data.fill(0, at, at + 4096);
  await Deno.writeFile(path, data);

  let db = await open(dir);
  const got = await db.select([newMatcher("=", "__name__", "temp")], {
    minT: -Infinity,
    maxT: Infinity,
  });
  let served = 0;
  for (const s of got) {
    const h = Number(s.labels.find((l) => l.name === "host")!.value.slice(1));
    for (let i = 0; i < s.t.length; i++) {
      const r = (s.t[i] - T0) / 1000;
      assert.equal(s.v[i], r * 100 + h, "never a wrong sample");
    }
    served += s.t.length;
    assert.equal(s.t[s.t.length - 1], T0 + 599 * 1000, "the newest samples survive");
  }
  assert.ok(served < 600 * 40 && served > 600 * 40 / 2, `served ${served}`);
  const h = db.health();
  assert.equal(h.status, "degraded");
  assert.equal(h.incidents?.length, 1);
  const inc = h.incidents![0];
  assert.equal(inc.kind, "wal_damage");
  assert.equal(inc.file, `wal/${walSegmentName(1)}`);
  assert.ok((inc.bytes ?? 0) >= 4000);
  assert.match(h.message, /not yet acknowledged/);
  const st = await db.stats();
  assert.ok(st.walSkippedBytes >= 4000);
  assert.equal(st.walLostSamples, inc.samples);
  await db.close();

  // A restart still reports it (found again, not doubled).
  db = await open(dir);
  assert.equal(db.health().status, "degraded");
  assert.equal(db.health().incidents?.length, 1);
  assert.equal(await db.acknowledgeIncidents(), 1);
  assert.equal(db.health().status, "healthy");
  await db.close();

  // Acknowledged damage found again after another restart is not reported again.
  db = await open(dir);
  assert.equal(db.health().status, "healthy");
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("IncidentLog quarantines an unreadable incidents.json and says so", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(joinPath(dir, INCIDENTS_FILE), '{"version":1,"incid');
  const log = await IncidentLog.open(dir);
  const open = log.list();
  assert.equal(open.length, 1);
  assert.equal(open[0].kind, "incident_log_unreadable");
  assert.ok(open[0].quarantined?.startsWith(`${QUARANTINE_DIR}/${INCIDENTS_FILE}.`));
  await log.flush();
  const again = await IncidentLog.open(dir);
  assert.equal(again.list().length, 1, "the new log is readable and kept");
  await Deno.remove(dir, { recursive: true });
});

async function everything(db: Awaited<ReturnType<typeof open>>) {
  const got = await db.select([newMatcher("=", "__name__", "temp")], {
    minT: -Infinity,
    maxT: Infinity,
  });
  return got.map((s) => ({
    labels: JSON.stringify(s.labels),
    t: [...s.t],
    v: [...s.v],
  })).sort((a, b) => a.labels < b.labels ? -1 : 1);
}

for (const damage of ["truncate", "garbage", "flipped value"] as const) {
  Deno.test(`DB quarantines an index.kv with ${damage} and rebuilds the series from blocks and WAL`, async () => {
    const dir = await Deno.makeTempDir();
    await fill(dir);
    let db = await open(dir);
    await db.flush(); // the first samples into blocks
    const b = new SampleBatch();
    b.add(b.addSeries(toLabels("temp", { host: "late" }), "late"), T0 + 700_000, 7);
    await db.append(b); // one series only in the WAL
    const want = await everything(db);
    await db.close();
    const kvPath = joinPath(dir, "index.kv");
    if (damage === "flipped value") {
      // A label value changed on disk without SQLite noticing: the CRC in the value catches it.
      const kv = await Deno.openKv(kvPath);
      const e = await kv.get<Uint8Array>(["tsdb", "series", 3]);
      const v = new Uint8Array(e.value!);
      v[v.length - 6] ^= 0x01;
      await kv.set(["tsdb", "series", 3], v);
      kv.close();
    } else {
      const data = await Deno.readFile(kvPath);
      if (damage === "truncate") await Deno.writeFile(kvPath, data.subarray(0, 5000));
      else await Deno.writeFile(kvPath, data.map((_, i) => (i * 7919) & 255));
    }
    db = await open(dir);
    assert.deepEqual(await everything(db), want);
    const h = db.health();
    assert.equal(h.status, "degraded");
    const kinds = h.incidents!.map((i) => i.kind);
    assert.deepEqual(kinds, ["kv_quarantined", "index_rebuilt"]);
    assert.match(h.incidents![1].message, /40 series from the labels tables of 1 blocks, 1 more/);
    const q = [...Deno.readDirSync(joinPath(dir, QUARANTINE_DIR))].map((e) => e.name);
    assert.ok(q.some((n) => n.startsWith("index.kv.")), q.join(","));
    await db.close();
    // The rebuilt index is kept: the next start needs no rebuild.
    db = await open(dir);
    assert.deepEqual(await everything(db), want);
    assert.equal(db.health().incidents?.length, 2);
    await db.close();
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("DB reads a version 1 block (no labels table) and compaction migrates it to version 2", async () => {
  const dir = await Deno.makeTempDir();
  let db = await open(dir);
  const b = new SampleBatch();
  for (const host of ["a", "b"]) {
    b.add(b.addSeries(toLabels("temp", { host }), host), T0 + 500_000, 1);
  }
  await db.append(b);
  await db.close();
  await Deno.copyFile(
    new URL("./testdata/v1_block.blk", import.meta.url),
    joinPath(dir, BLOCKS_DIR, blockFileName(1)),
  );
  db = await open(dir);
  const got = await everything(db);
  assert.deepEqual(got.map((s) => s.v), [
    [100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 1],
    [200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 1],
  ]);
  assert.equal(db.health().status, "healthy");
  await db.close();

  const w = new BlockWriter({
    useWorker: false,
    labels: (refs) =>
      encodeLabelsBlob(refs ?? [1, 2], (ref) => toLabels("temp", { host: ref === 1 ? "a" : "b" })),
  });
  const blocks = joinPath(dir, BLOCKS_DIR);
  await w.compact(blocks, 7, 1, [1]);
  const r = await BlockReader.open(blocks, 7);
  assert.equal(r.meta.version, 2);
  assert.deepEqual([...(await r.labels())], [
    [1, toLabels("temp", { host: "a" })],
    [2, toLabels("temp", { host: "b" })],
  ]);
  assert.equal(r.meta.samples, 20);
  await r.close();
  w.close();
  await Deno.remove(dir, { recursive: true });
});

/** A data dir with one block (600 × 40 samples) with a flipped byte inside an early chunk. */
async function dirWithDamagedChunk(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await fill(dir);
  const db = await open(dir);
  await db.flush();
  await db.close();
  const path = joinPath(dir, BLOCKS_DIR, blockFileName(1));
  const data = await Deno.readFile(path);
  data[200] ^= 0x40;
  await Deno.writeFile(path, data);
  return dir;
}

Deno.test("BlockReader with check 'tables' opens without reading chunks; scrub() finds and leaves out a damaged chunk", async () => {
  const dir = await dirWithDamagedChunk();
  const blocks = joinPath(dir, BLOCKS_DIR);
  const path = joinPath(blocks, blockFileName(1));

  const full = await BlockReader.open(blocks, 1);
  assert.equal(full.scrubbed, true);
  const lost = full.meta.damaged!;
  assert.ok(lost.chunks > 0 && lost.samples > 0, "the full check finds the damaged chunk");
  await full.close();

  const lazy = await BlockReader.open(blocks, 1, { check: "tables" });
  assert.equal(lazy.scrubbed, false);
  assert.equal(lazy.meta.damaged, undefined, "chunk bytes are not read at open");
  assert.equal(lazy.meta.samples, full.meta.samples);
  await lazy.scrub();
  assert.equal(lazy.scrubbed, true);
  assert.deepEqual(lazy.meta.damaged, lost, "scrub finds what the full check finds");
  const all = await lazy.readAll();
  let served = 0;
  for (const s of all.values()) served += s.t.length;
  assert.equal(served, 600 * 40 - lost.samples, "every intact chunk is still read");
  await lazy.close();

  // Damaged tables fail either way.
  const t = new Uint8Array(await Deno.readFile(path));
  t[t.length - 20] ^= 0x04;
  await Deno.writeFile(path, t);
  await assert.rejects(() => BlockReader.open(blocks, 1, { check: "tables" }), /checksum/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB reports a damaged chunk found by its background check, before anything reads the block", async () => {
  const dir = await dirWithDamagedChunk();
  const db = await openDB({
    dir,
    now: () => T0 + 3_600_000,
    backgroundIntervalMs: 0,
    useWorker: false,
    downsampling: [],
    scrubDelayMs: 0,
  });
  for (let i = 0; i < 200 && db.health().status === "healthy"; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  const inc = db.health().incidents?.find((i) => i.kind === "block_damaged");
  assert.ok(inc, JSON.stringify(db.health()));
  let served = 0;
  for (const s of await everything(db)) served += s.t.length;
  assert.equal(served, 600 * 40 - inc.samples!);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB serves the intact chunks of a block with a damaged chunk and reports what is left out", async () => {
  const dir = await dirWithDamagedChunk();
  const db = await open(dir);
  let served = 0;
  for (const s of await everything(db)) {
    const h = Number(
      JSON.parse(s.labels).find((l: { name: string }) => l.name === "host").value.slice(1),
    );
    for (let i = 0; i < s.t.length; i++) {
      assert.equal(s.v[i], ((s.t[i] - T0) / 1000) * 100 + h, "never a wrong sample");
    }
    served += s.t.length;
  }
  const h = db.health();
  assert.equal(h.status, "degraded");
  const inc = h.incidents!.find((i) => i.kind === "block_damaged")!;
  assert.ok(inc, JSON.stringify(h.incidents));
  assert.ok((inc.samples ?? 0) > 0 && (inc.samples ?? 0) <= 600);
  assert.equal(served, 600 * 40 - inc.samples!, "everything outside the damaged chunk is served");
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openCheckedKv() refuses to run without Deno KV instead of quarantining the file", async () => {
  // A process without --unstable-kv (no deno.json) has no Deno.openKv: every
  // open would fail and be taken for damage.
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/x.kv`, "");
  const script = `${dir}/child.ts`;
  await Deno.writeTextFile(
    script,
    `import { IncidentLog, openCheckedKv } from ${
      JSON.stringify(new URL("./recovery.ts", import.meta.url).href)
    };
    const dir = ${JSON.stringify(dir)};
    try {
      await openCheckedKv(dir, "x.kv", { incidents: await IncidentLog.open(dir), consequence: "" });
      console.log("opened");
    } catch (e) {
      console.log(String(e));
    }`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--no-config", script],
    cwd: dir,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.match(new TextDecoder().decode(out.stdout), /Deno KV is not available.*--unstable-kv/);
  assert.ok((await Deno.stat(`${dir}/x.kv`)).isFile, "the file stays where it is");
  await assert.rejects(Deno.stat(`${dir}/quarantine`), Deno.errors.NotFound);
  await Deno.remove(dir, { recursive: true });
});
