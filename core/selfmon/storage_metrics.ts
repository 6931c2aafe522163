/**
 * Storage and ingestion self-metrics (`perch_tsdb_*`, `perch_ingest_*`).
 *
 * @module
 */
import type { Registry } from "./registry.ts";

/** The storage numbers exposed; a subset of core/tsdb's DBStats. */
export interface StorageStats {
  series: number;
  headSeries: number;
  headSamples: number;
  headChunks: number;
  headBytes: number;
  blocks: number;
  histogramFiles?: number;
  histogramHeadSamples?: number;
  bytes: { wal: number; blocks: number; kv: number };
  corruptBlocks: number;
  missingBlocks: number;
  samplesAppended: number;
  samplesRejected: number;
  walFsyncs: number;
  walFsyncSecondsSum: number;
  walBytesWritten: number;
  blockBytesWritten: number;
  flushes: number;
  flushFailures: number;
  compactions: number;
  compactionFailures: number;
  retentionDeletedBlocks: number;
  storageFullRejections: number;
  downsamplings: number;
  downsamplingFailures: number;
  /** What recovery skipped, quarantined or rebuilt (core/tsdb/recovery.ts). */
  incidents?: {
    open: number;
    byKind: Partial<Record<string, number>>;
    samplesLost: number;
    recordsSkipped: number;
    bytesSkipped: number;
    acknowledged: number;
  };
}

/** Registers `perch_tsdb_*` metrics read from `stats()` at each collection. */
export function registerStorageMetrics(
  registry: Registry,
  stats: () => Promise<StorageStats>,
): void {
  let last: StorageStats | undefined;
  registry.onCollect(async () => {
    last = await stats();
  });
  const gauge = (name: string, help: string, read: (s: StorageStats) => number) =>
    registry.collected("gauge", { name, help }, () => last ? [{ value: read(last) }] : []);
  const counter = (name: string, help: string, read: (s: StorageStats) => number) =>
    registry.collected("counter", { name, help }, () => last ? [{ value: read(last) }] : []);

  gauge("perch_tsdb_series", "Series in storage.", (s) => s.series);
  gauge("perch_tsdb_head_series", "Series with samples in the head.", (s) => s.headSeries);
  gauge("perch_tsdb_head_samples", "Samples held in the head.", (s) => s.headSamples);
  gauge("perch_tsdb_head_chunks", "Chunks held in the head.", (s) => s.headChunks);
  gauge("perch_tsdb_head_bytes", "Bytes held by the head.", (s) => s.headBytes);
  gauge("perch_tsdb_blocks", "Block files in storage.", (s) => s.blocks);
  gauge(
    "perch_tsdb_native_hist_files",
    "Native histogram files in storage.",
    (s) => s.histogramFiles ?? 0,
  );
  gauge(
    "perch_tsdb_native_hist_head_samples",
    "Native histogram samples held in memory.",
    (s) => s.histogramHeadSamples ?? 0,
  );
  gauge(
    "perch_tsdb_corrupt_blocks",
    "Blocks quarantined because they failed their checksum.",
    (s) => s.corruptBlocks,
  );
  gauge(
    "perch_tsdb_missing_blocks",
    "Blocks listed in the index but missing on disk.",
    (s) => s.missingBlocks,
  );
  registry.collected("gauge", {
    name: "perch_tsdb_disk_bytes",
    help: "Bytes on disk by part of the data dir.",
  }, () =>
    last
      ? [
        { labels: { part: "wal" }, value: last.bytes.wal },
        { labels: { part: "blocks" }, value: last.bytes.blocks },
        { labels: { part: "kv" }, value: last.bytes.kv },
      ]
      : []);
  counter(
    "perch_tsdb_samples_appended_total",
    "Samples appended to storage.",
    (s) => s.samplesAppended,
  );
  counter(
    "perch_tsdb_samples_rejected_total",
    "Samples storage refused (out of bounds, future).",
    (s) => s.samplesRejected,
  );
  counter("perch_tsdb_wal_fsyncs_total", "WAL fsync calls.", (s) => s.walFsyncs);
  counter(
    "perch_tsdb_wal_fsync_duration_seconds_total",
    "Time spent in WAL fsync.",
    (s) => s.walFsyncSecondsSum,
  );
  counter(
    "perch_tsdb_wal_written_bytes_total",
    "Bytes written to the WAL.",
    (s) => s.walBytesWritten,
  );
  counter(
    "perch_tsdb_block_written_bytes_total",
    "Bytes written to block files.",
    (s) => s.blockBytesWritten,
  );
  counter("perch_tsdb_flushes_total", "Head flushes into blocks.", (s) => s.flushes);
  counter("perch_tsdb_flush_failures_total", "Head flushes that failed.", (s) => s.flushFailures);
  counter("perch_tsdb_compactions_total", "Block compactions.", (s) => s.compactions);
  counter(
    "perch_tsdb_compaction_failures_total",
    "Block compactions that failed.",
    (s) => s.compactionFailures,
  );
  counter(
    "perch_tsdb_retention_deleted_blocks_total",
    "Blocks deleted by retention.",
    (s) => s.retentionDeletedBlocks,
  );
  counter(
    "perch_tsdb_storage_full_rejections_total",
    "Appends refused because the disk or budget was full.",
    (s) => s.storageFullRejections,
  );
  const inc = (read: (i: NonNullable<StorageStats["incidents"]>) => number) => (s: StorageStats) =>
    s.incidents ? read(s.incidents) : 0;
  registry.collected("counter", {
    name: "perch_storage_incidents_total",
    help:
      "Damage found by recovery since start, by kind (skipped WAL, quarantined file, rebuilt index, ...).",
    labelNames: ["kind"],
  }, () =>
    Object.entries(last?.incidents?.byKind ?? {}).map(([kind, value]) => ({
      labels: { kind },
      value: value ?? 0,
    })));
  gauge(
    "perch_storage_incidents_open",
    "Storage incidents not yet acknowledged (POST /api/v1/admin/health/ack); health is degraded while above 0.",
    inc((i) => i.open),
  );
  counter(
    "perch_storage_incidents_acknowledged_total",
    "Storage incidents acknowledged by an admin since start.",
    inc((i) => i.acknowledged),
  );
  counter(
    "perch_storage_lost_samples_total",
    "Samples known lost to damage since start (a lower bound: damaged bytes hide how many they held).",
    inc((i) => i.samplesLost),
  );
  counter(
    "perch_storage_wal_skipped_bytes_total",
    "Damaged WAL bytes skipped at replay since start.",
    inc((i) => i.bytesSkipped),
  );
  counter(
    "perch_storage_wal_skipped_records_total",
    "Intact WAL records skipped at replay since start because they followed damage.",
    inc((i) => i.recordsSkipped),
  );
  registry.collected("counter", {
    name: "perch_storage_quarantined_files_total",
    help: "Files moved to quarantine/ since start, by kind (block, kv).",
    labelNames: ["kind"],
  }, () => {
    const k = last?.incidents?.byKind ?? {};
    return [
      { labels: { kind: "block" }, value: k.block_quarantined ?? 0 },
      { labels: { kind: "kv" }, value: k.kv_quarantined ?? 0 },
    ];
  });
}

/** Counters of ingested samples, by protocol and rejection reason. */
export function registerIngestMetrics(registry: Registry) {
  const accepted = registry.counter({
    name: "perch_ingest_samples_accepted_total",
    help: "Samples stored, by protocol.",
    labelNames: ["protocol"],
  });
  const rejected = registry.counter({
    name: "perch_ingest_samples_rejected_total",
    help: "Samples not stored, by protocol and reason.",
    labelNames: ["protocol", "reason"],
  });
  return {
    onAccepted(protocol: string, n: number): void {
      accepted.labels(protocol).inc(n);
    },
    onRejected(protocol: string, reason: string, n: number): void {
      rejected.labels(protocol, reason).inc(n);
    },
  };
}
