/**
 * What recovery found, kept until a person acknowledges it: every skipped
 * stretch of WAL, quarantined block or KV file, rebuilt index, restored or
 * emptied state is an {@linkcode StorageIncident} in the data dir's
 * `incidents.json` (written atomically), so a restart does not forget it.
 * While unacknowledged incidents exist, storage health is degraded.
 *
 * The file is small and self-describing JSON; when it is unreadable itself it
 * is moved to `quarantine/` and that becomes the first incident of a new log.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { fsyncDir } from "./wal.ts";
import { checkSqliteWal } from "./sqlite_wal.ts";
import { isNoSpace } from "./_no_space.ts";
import { INCIDENTS_FILE, joinPath, QUARANTINE_DIR, TMP_SUFFIX } from "./filenames.ts";

/** Kinds of incident. */
export type IncidentKind =
  | "wal_damage"
  | "wal_torn_tail"
  | "wal_unknown_series"
  | "block_quarantined"
  | "block_damaged"
  | "block_missing"
  | "kv_quarantined"
  | "kv_journal_damaged"
  | "index_rebuilt"
  | "state_restored"
  | "state_emptied"
  | "remote_reset"
  | "incident_log_unreadable";

/** One thing recovery skipped, quarantined or rebuilt. */
export interface StorageIncident {
  /** Stable identity: the same damage found again after a restart is not added twice. */
  readonly id: string;
  readonly kind: IncidentKind;
  /** When it was found, ms since the epoch. */
  readonly at: number;
  /** The file concerned, relative to the data dir. */
  readonly file: string;
  /** What happened, for a person. */
  readonly message: string;
  /** Records lost or skipped, when known. */
  readonly records?: number;
  /** Samples lost, when known (a lower bound where damaged bytes hid more). */
  readonly samples?: number;
  /** Bytes skipped or quarantined, when known. */
  readonly bytes?: number;
  /** Where a damaged file was moved, relative to the data dir. */
  readonly quarantined?: string;
}

interface Stored {
  version: 1;
  incidents: StorageIncident[];
  /** Ids acknowledged already (so damage found again is not reported again). */
  acknowledged: string[];
}

/** Acknowledged ids remembered; older ones are forgotten first. */
const MAX_ACKED = 2000;
/** Unacknowledged incidents kept; older ones are folded into a count. */
const MAX_OPEN = 500;

/** Counters of an {@linkcode IncidentLog} since this process started. */
export interface IncidentCounts {
  byKind: Partial<Record<IncidentKind, number>>;
  samplesLost: number;
  recordsSkipped: number;
  bytesSkipped: number;
  acknowledged: number;
}

/** The persisted list of storage incidents of one data dir. */
export class IncidentLog {
  readonly #path: string;
  readonly #dir: string;
  readonly #now: () => number;
  #open: StorageIncident[] = [];
  #acked: string[] = [];
  #ackedSet = new Set<string>();
  #dropped = 0;
  #chain: Promise<unknown> = Promise.resolve();
  readonly counts: IncidentCounts = {
    byKind: {},
    samplesLost: 0,
    recordsSkipped: 0,
    bytesSkipped: 0,
    acknowledged: 0,
  };

  private constructor(dir: string, now: () => number) {
    this.#dir = dir;
    this.#path = joinPath(dir, INCIDENTS_FILE);
    this.#now = now;
  }

  /** Reads `<dir>/incidents.json` (absent: an empty log). */
  static async open(dir: string, now: () => number = Date.now): Promise<IncidentLog> {
    const log = new IncidentLog(dir, now);
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(log.#path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (text !== undefined) {
      try {
        const s = JSON.parse(text) as Stored;
        if (s.version !== 1 || !Array.isArray(s.incidents) || !Array.isArray(s.acknowledged)) {
          throw new Error("unknown layout");
        }
        log.#open = s.incidents.filter((i) => typeof i?.id === "string");
        log.#acked = s.acknowledged.filter((x) => typeof x === "string");
        log.#ackedSet = new Set(log.#acked);
      } catch (e) {
        const moved = await quarantineFile(dir, INCIDENTS_FILE, now());
        log.add({
          id: `incidents:${now()}`,
          kind: "incident_log_unreadable",
          file: INCIDENTS_FILE,
          message: `the list of earlier storage incidents was unreadable (${
            e instanceof Error ? e.message : String(e)
          }); moved to ${moved ?? "nowhere"}, earlier incidents may be missing`,
          ...(moved ? { quarantined: moved } : {}),
        });
      }
    }
    return log;
  }

  /**
   * Records an incident (stamped now unless `at` is given) and persists the
   * log; returns false when the same id is already open or was acknowledged.
   */
  add(inc: Omit<StorageIncident, "at"> & { at?: number }): boolean {
    if (this.#ackedSet.has(inc.id) || this.#open.some((i) => i.id === inc.id)) return false;
    const full: StorageIncident = { ...inc, at: inc.at ?? this.#now() };
    this.#open.push(full);
    if (this.#open.length > MAX_OPEN) {
      this.#open.shift();
      this.#dropped++;
    }
    const c = this.counts;
    c.byKind[full.kind] = (c.byKind[full.kind] ?? 0) + 1;
    c.samplesLost += full.samples ?? 0;
    c.recordsSkipped += full.records ?? 0;
    if (full.kind.startsWith("wal_")) c.bytesSkipped += full.bytes ?? 0;
    // A full disk must not lose the report: it is still served, and written with the next change.
    this.#persist().catch(() => {});
    return true;
  }

  /** Incidents not yet acknowledged, oldest first. */
  list(): StorageIncident[] {
    return [...this.#open];
  }

  /** Incidents pushed out of the open list by newer ones since this process started. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Marks every open incident acknowledged; resolves with how many once persisted. */
  async acknowledge(): Promise<number> {
    const n = this.#open.length;
    for (const i of this.#open) {
      if (!this.#ackedSet.has(i.id)) {
        this.#acked.push(i.id);
        this.#ackedSet.add(i.id);
      }
    }
    while (this.#acked.length > MAX_ACKED) this.#ackedSet.delete(this.#acked.shift()!);
    this.#open = [];
    this.#dropped = 0;
    this.counts.acknowledged += n;
    await this.#persist();
    return n;
  }

  /** Resolves once every change so far is on disk. */
  async flush(): Promise<void> {
    await this.#chain;
  }

  #persist(): Promise<void> {
    const body: Stored = { version: 1, incidents: this.#open, acknowledged: this.#acked };
    const text = JSON.stringify(body, null, 1);
    const p = this.#chain.then(() => writeAtomic(this.#dir, INCIDENTS_FILE, text));
    this.#chain = p.catch(() => {});
    return p;
  }
}

/** Writes `<dir>/<name>` atomically: temp file, fsync, rename, directory fsync. */
export async function writeAtomic(dir: string, name: string, data: string | Uint8Array) {
  const path = joinPath(dir, name);
  const tmp = path + TMP_SUFFIX;
  const f = await Deno.open(tmp, { create: true, write: true, truncate: true });
  try {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } catch (e) {
    f.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  f.close();
  await Deno.rename(tmp, path);
  await fsyncDir(dir);
}

/** The suffix of a file moved or copied into `quarantine/` at `now` (ms). */
function quarantineStamp(now: number): string {
  return new Date(now).toISOString().replace(/[:.]/g, "-");
}

/**
 * Moves `<dir>/<name>` (and a SQLite `-wal`/`-shm` beside it) into
 * `<dir>/quarantine/` with a timestamp suffix; returns the new relative
 * path, or undefined when there was nothing to move.
 */
export async function quarantineFile(
  dir: string,
  name: string,
  now: number,
): Promise<string | undefined> {
  const qdir = joinPath(dir, QUARANTINE_DIR);
  await Deno.mkdir(qdir, { recursive: true });
  const rel = `${QUARANTINE_DIR}/${name}.${quarantineStamp(now)}`;
  let moved = false;
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      await Deno.rename(joinPath(dir, name + suffix), joinPath(dir, rel + suffix));
      moved = true;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  await fsyncDir(qdir);
  await fsyncDir(dir);
  return moved ? rel : undefined;
}

/**
 * Runs SQLite's `PRAGMA quick_check` on a KV file (absent: nothing to check);
 * throws when SQLite finds it damaged. Deno KV's own background work (expiry)
 * aborts the process on a malformed file, so this runs before Deno.openKv.
 */
function sqliteCheck(path: string): void {
  try {
    Deno.statSync(path);
  } catch {
    return;
  }
  const db = new DatabaseSync(path);
  try {
    const rows = db.prepare("PRAGMA quick_check").all();
    const first = rows.length > 0 ? String(Object.values(rows[0])[0]) : "no answer";
    if (first !== "ok") throw new Error(`SQLite quick_check: ${first}`);
  } finally {
    db.close();
  }
}

/** Records (and copies to quarantine) a KV file's journal that SQLite's recovery will not read whole. */
async function checkJournal(dir: string, name: string, o: CheckedKvOptions): Promise<void> {
  let wal: Uint8Array;
  try {
    wal = await Deno.readFile(joinPath(dir, `${name}-wal`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  const shm = await Deno.readFile(joinPath(dir, `${name}-shm`)).catch(() => undefined);
  const c = checkSqliteWal(wal, shm);
  if (!c.damaged) return;
  const now = (o.now ?? Date.now)();
  const rel = `${QUARANTINE_DIR}/${name}-wal.${quarantineStamp(now)}`;
  // The copy is for a person to look at; a full disk must not keep Perch from starting.
  const copied = await Deno.mkdir(joinPath(dir, QUARANTINE_DIR), { recursive: true })
    .then(() => Deno.writeFile(joinPath(dir, rel), wal))
    .then(() => fsyncDir(joinPath(dir, QUARANTINE_DIR)))
    .then(() => true, () => false);
  const where = c.headerDamaged ? "its header" : `byte ${c.brokenAt}`;
  const lost = c.lostCommits > 0
    ? `${c.lostCommits} transactions committed after it cannot be applied and are lost`
    : "it was cut short, and changes committed in the missing part are lost";
  o.log?.("error", "damaged KV journal: changes after the damage are lost", {
    file: `${name}-wal`,
    at: where,
    lostCommits: c.lostCommits,
    copy: copied ? rel : null,
  });
  o.incidents.add({
    id: `kv_journal:${name}:${now}`,
    kind: "kv_journal_damaged",
    file: `${name}-wal`,
    message: `${name}-wal (SQLite's journal of ${name}) is damaged at ${where}: ${lost}; ` +
      `${name} is opened as it was before` +
      (copied ? ` (the journal is copied to ${rel})` : " (the journal could not be copied)"),
    ...(c.lostCommits > 0 ? { records: c.lostCommits } : {}),
    bytes: wal.length,
    ...(copied ? { quarantined: rel } : {}),
  });
}

/** True when `dir` has no room for a 64 KiB file. */
async function noSpaceIn(dir: string): Promise<boolean> {
  const probe = joinPath(dir, `space-probe${TMP_SUFFIX}`);
  try {
    await Deno.writeFile(probe, new Uint8Array(64 << 10));
    return false;
  } catch (e) {
    return isNoSpace(e);
  } finally {
    await Deno.remove(probe).catch(() => {});
  }
}

/** Options of {@linkcode openCheckedKv}. */
export interface CheckedKvOptions {
  incidents: IncidentLog;
  now?: () => number;
  /** What a fresh file means for a person, appended to the incident message. */
  consequence: string;
  /**
   * Check after opening (e.g. decoding every value); throw to declare the
   * file damaged. When given, it replaces the generic read of every entry,
   * so it must read everything it relies on.
   */
  verify?: (kv: Deno.Kv) => Promise<void>;
  /**
   * Check the file's SQLite journal (`-wal`) for committed changes that
   * SQLite's recovery would drop without a word (damage in the middle of the
   * log, see sqlite_wal.ts): for files whose content nothing can rebuild. A
   * damaged journal is copied to `quarantine/` and recorded; the file opens
   * as it was before the damage.
   */
  journal?: boolean;
  log?: (level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown>) => void;
}

/**
 * Opens the Deno KV file `<dir>/<name>` and reads every entry once (or runs
 * `verify`); when the open, the read or `verify` fails, the file (with its `-wal`/`-shm`) is
 * moved to `quarantine/<name>.<time>`, an incident is recorded and a fresh,
 * empty KV is opened in its place. `fresh` tells whether that happened.
 * Errors that are not about the file's content (the directory cannot be
 * written) are thrown.
 */
export async function openCheckedKv(
  dir: string,
  name: string,
  o: CheckedKvOptions,
): Promise<{ kv: Deno.Kv; fresh: boolean }> {
  const path = joinPath(dir, name);
  // Without it every open would fail and be taken for damage, and the file quarantined.
  if (typeof Deno.openKv !== "function") {
    throw new Error(
      "Deno KV is not available: run Perch with --unstable-kv (deno task start and the compiled " +
        "binary do)",
    );
  }
  let kv: Deno.Kv | undefined;
  if (o.journal) await checkJournal(dir, name, o);
  try {
    sqliteCheck(path);
    kv = await Deno.openKv(path);
    if (o.verify) await o.verify(kv);
    else for await (const _ of kv.list({ prefix: [] }, { batchSize: 1000 })) { /* read all */ }
    return { kv, fresh: false };
  } catch (e) {
    try {
      kv?.close();
    } catch { /* already closed */ }
    if (e instanceof Deno.errors.PermissionDenied) throw e;
    const why = e instanceof Error ? e.message : String(e);
    // Not about the file's content: moving it aside would not help, and a full
    // disk has no room for a fresh one either (SQLite may say only "disk I/O
    // error" when it cannot create its side files).
    if (isNoSpace(e) || await noSpaceIn(dir)) {
      throw new Error(`${name} cannot be opened: the disk is full (${why})`, { cause: e });
    }
    const now = (o.now ?? Date.now)();
    let bytes: number | undefined;
    try {
      bytes = (await Deno.stat(path)).size;
    } catch { /* absent */ }
    const moved = await quarantineFile(dir, name, now);
    o.log?.("error", "damaged KV file quarantined, starting with a fresh one", {
      file: name,
      quarantined: moved,
      error: why,
    });
    o.incidents.add({
      id: `kv:${name}:${now}`,
      kind: "kv_quarantined",
      file: name,
      message: `${name} could not be read (${why}); moved to ${
        moved ?? "nowhere"
      }. ${o.consequence}`,
      ...(moved ? { quarantined: moved } : {}),
      ...(bytes !== undefined ? { bytes } : {}),
    });
    return { kv: await Deno.openKv(path), fresh: true };
  }
}
