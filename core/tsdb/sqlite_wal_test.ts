import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { checkSqliteWal } from "./sqlite_wal.ts";

/**
 * A SQLite database in WAL mode with 40 committed rows (one transaction
 * each) still in its log: copies of the database and its `-wal` taken while
 * the connection is open (closing it would checkpoint the log away).
 */
async function loggedDb(): Promise<
  { dir: string; db: Uint8Array; wal: Uint8Array; shm: Uint8Array }
> {
  const dir = await Deno.makeTempDir();
  const conn = new DatabaseSync(`${dir}/x.db`);
  conn.exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;");
  conn.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
  const ins = conn.prepare("INSERT INTO t (k, v) VALUES (?, ?)");
  for (let k = 0; k < 40; k++) ins.run(k, "x".repeat(3000));
  const db = await Deno.readFile(`${dir}/x.db`);
  const wal = await Deno.readFile(`${dir}/x.db-wal`);
  const shm = await Deno.readFile(`${dir}/x.db-shm`);
  conn.close();
  return { dir, db, wal, shm };
}

/** Rows SQLite's own recovery finds in a copy with this log (0: not even the table). */
async function rowsRecovered(dir: string, db: Uint8Array, wal: Uint8Array): Promise<number> {
  const path = `${dir}/copy-${crypto.randomUUID()}.db`;
  await Deno.writeFile(path, db);
  await Deno.writeFile(`${path}-wal`, wal);
  const conn = new DatabaseSync(path);
  try {
    const table = conn.prepare("SELECT name FROM sqlite_master WHERE name = 't'").get();
    if (!table) return 0;
    return Number((conn.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n);
  } finally {
    conn.close();
  }
}

Deno.test("an intact log: every commit is applied, nothing lost", async () => {
  const { dir, db, wal } = await loggedDb();
  const c = checkSqliteWal(wal);
  assert.equal(c.damaged, false);
  assert.equal(c.brokenAt, -1);
  assert.equal(c.headerDamaged, false);
  assert.equal(c.lostCommits, 0);
  assert.ok(c.applied >= 41, `commit frames: ${c.applied}`);
  assert.equal(await rowsRecovered(dir, db, wal), 40);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a damaged frame early in the log: the commits after it, which SQLite drops silently, are found", async () => {
  const { dir, db, wal } = await loggedDb();
  for (const how of ["flip", "zero"]) {
    const bad = new Uint8Array(wal);
    const at = Math.floor(wal.length / 4);
    if (how === "flip") { for (let i = 0; i < 16; i++) bad[at + i]! ^= 0xa5; }
    else bad.fill(0, at, at + 4096);
    const c = checkSqliteWal(bad);
    const rows = await rowsRecovered(dir, db, bad);
    assert.ok(rows < 40, `SQLite drops rows without a word (${how}: ${rows} of 40)`);
    assert.ok(c.brokenAt > 0 && c.brokenAt <= at, `${how}: broken at ${c.brokenAt}`);
    assert.equal(c.damaged, true);
    assert.ok(c.lostCommits >= 40 - rows - 1, `${how}: ${c.lostCommits} lost commits found`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a damaged header: SQLite ignores the whole log, and every commit in it is found lost", async () => {
  const { dir, db, wal } = await loggedDb();
  const bad = new Uint8Array(wal);
  bad[17]! ^= 0xff; // salt-1
  const c = checkSqliteWal(bad);
  assert.equal(c.headerDamaged, true);
  assert.equal(c.damaged, true);
  assert.equal(c.applied, 0);
  assert.equal(await rowsRecovered(dir, db, bad), 0);
  assert.ok(c.lostCommits >= 40, `${c.lostCommits} lost commits`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a log shorter than its wal-index says is damage; a write interrupted by a kill or a full disk is not", async () => {
  const { dir, wal, shm } = await loggedDb();
  const frame = 24 + ((wal[8]! << 24 | wal[9]! << 16 | wal[10]! << 8 | wal[11]!) >>> 0);
  const whole = checkSqliteWal(wal, shm);
  assert.equal(whole.damaged, false);
  const cut = checkSqliteWal(wal.subarray(0, wal.length >> 1), shm);
  assert.equal(cut.lostCommits, 0);
  assert.equal(cut.damaged, true);
  assert.ok(cut.brokenAt > 0);
  // Without the index a cut cannot be told from a write refused by a full disk.
  assert.equal(checkSqliteWal(wal.subarray(0, wal.length >> 1)).damaged, false);
  // SQLite writes a frame's header, then its page: killed in between, the index is not advanced.
  const killed = new Uint8Array(wal.length + 24);
  killed.set(wal);
  killed.set(wal.subarray(wal.length - frame, wal.length - frame + 24), wal.length);
  assert.equal(checkSqliteWal(killed, shm).damaged, false);
  assert.equal(checkSqliteWal(wal.subarray(0, wal.length - 1000), shm).damaged, true);
  // An index of another generation of the log, or torn between its two copies, is not trusted.
  const other = new Uint8Array(shm);
  other[32]! ^= 1, other[80]! ^= 1;
  assert.equal(checkSqliteWal(wal.subarray(0, wal.length >> 1), other).damaged, false);
  const torn = new Uint8Array(shm);
  torn[16]! ^= 1;
  assert.equal(checkSqliteWal(wal.subarray(0, wal.length >> 1), torn).damaged, false);
  assert.equal(checkSqliteWal(new Uint8Array(0)).damaged, false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("frames of an older log after the end of this one are its normal end, not damage", async () => {
  const { dir, wal } = await loggedDb();
  // A log restarted after a checkpoint: new salts in the header and the first frames, the older frames after them.
  const c0 = checkSqliteWal(wal);
  const pageSize = (wal[8]! << 24 | wal[9]! << 16 | wal[10]! << 8 | wal[11]!) >>> 0;
  const frame = 24 + pageSize;
  const restarted = new Uint8Array(wal);
  restarted.set(wal.subarray(0, 32)); // same header ...
  for (let at = 32 + 3 * frame; at + frame <= wal.length; at += frame) restarted[at + 9]! ^= 1; // ... older salts from frame 3 on
  const c = checkSqliteWal(restarted);
  assert.equal(c.brokenAt, -1);
  assert.equal(c.damaged, false);
  assert.equal(c.lostCommits, 0);
  assert.ok(c.applied <= 3 && c0.applied > 3);
  await Deno.remove(dir, { recursive: true });
});
