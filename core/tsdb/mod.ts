/**
 * Perch's storage engine: WAL, head, block files, Deno KV series index,
 * querier, compaction and retention. Byte layouts in FORMAT.md.
 *
 * @module
 */
export {
  DB,
  type DBHealth,
  type DBStats,
  type DiskBytes,
  type Logger,
  openDB,
  type OpenOptions,
} from "./db.ts";
export { BlockCorruptError, type BlockMeta } from "./block.ts";
export { type CompactionPlan, planCompaction } from "./compact.ts";
export { planRetention, type RetentionInput } from "./retention.ts";
export {
  AGG,
  DEFAULT_DOWNSAMPLING,
  type DownsamplingTier,
  isCounterLike,
  viewFor,
} from "./downsample.ts";
export {
  type IncidentKind,
  IncidentLog,
  openCheckedKv,
  quarantineFile,
  type StorageIncident,
  writeAtomic,
} from "./recovery.ts";
export { fsyncDir } from "./wal.ts";
export { type StorageComponent, storageComponent } from "./component.ts";
