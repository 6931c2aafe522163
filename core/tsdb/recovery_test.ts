import assert from "node:assert/strict";
import { newMatcher, SampleBatch, toLabels } from "../model/mod.ts";
import { openDB } from "./db.ts";
import { IncidentLog } from "./recovery.ts";
import { INCIDENTS_FILE, joinPath, QUARANTINE_DIR, WAL_DIR, walSegmentName } from "./filenames.ts";

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
