/**
 * The storage component: opens the TSDB in `storage.data_dir` with the
 * incident log that every recovery step in the data dir writes to.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { type Basics, type Component, started } from "../lifecycle.ts";
import { registerStorageMetrics } from "../selfmon/mod.ts";
import { type DB, openDB } from "./db.ts";
import { IncidentLog } from "./recovery.ts";

/** What the storage component offers the components after it. */
export interface StorageComponent extends Component<Config, Config["storage"]> {
  /** The open database (after start). */
  readonly db: DB;
  /** Recovery incidents in the data dir, kept until acknowledged (after start). */
  readonly incidents: IncidentLog;
  /** `storage.data_dir` as opened. */
  readonly dataDir: string;
  /** Registers the callback for writes and rewrites behind the head (result cache). */
  onOldWrite(f: (minT: number, maxT: number) => void): void;
}

/** Storage: `storage.*` is read at start only; health `storage`, metrics `perch_storage_*`. */
export function storageComponent(deps: Basics): StorageComponent {
  let db: DB | undefined;
  let incidents: IncidentLog | undefined;
  let dataDir: string | undefined;
  let oldWrite: (minT: number, maxT: number) => void = () => {};
  const tsdbLog = deps.logger.child("tsdb");
  deps.health.register("storage", () => {
    const h = running().health();
    return {
      status: h.status,
      message: h.message,
      ...(h.incidents ? { details: { incidents: h.incidents } } : {}),
    };
  });
  registerStorageMetrics(deps.registry, () => running().stats());
  const running = () => started("storage", db);
  return {
    name: "storage",
    restartOnly: ["storage.*"],
    section: (c) => ({ ok: true, value: c.storage }),
    async start(s) {
      dataDir = s.data_dir;
      await Deno.mkdir(dataDir, { recursive: true });
      // What recovery skips, quarantines or rebuilds in the data dir, kept until
      // an admin acknowledges it (storage health stays degraded meanwhile).
      incidents = await IncidentLog.open(dataDir);
      db = await openDB({
        dir: dataDir,
        fsync: s.fsync,
        fsyncIntervalMs: s.fsync_interval,
        outOfOrderWindowMs: s.out_of_order_window,
        futureToleranceMs: s.future_tolerance,
        retentionMs: s.retention,
        maxBytes: s.max_bytes,
        blockRangeMs: s.block_range,
        headMemoryBudgetBytes: s.head_memory_budget,
        downsampling: s.downsampling.map((t) => ({ afterMs: t.after, resolutionMs: t.resolution })),
        logger: (level, msg, fields) => tsdbLog.log(level, msg, fields),
        onOldWrite: (minT, maxT) => oldWrite(minT, maxT),
        incidents,
      });
    },
    async stop() {
      await db?.close();
    },
    get db() {
      return running();
    },
    get incidents() {
      return started("storage", incidents);
    },
    get dataDir() {
      return started("storage", dataDir);
    },
    onOldWrite(f) {
      oldWrite = f;
    },
  };
}
