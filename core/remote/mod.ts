/**
 * Edge to core: remote write out with store-and-forward (cursor over
 * storage, late log, shards, backoff), federation, export/import and
 * snapshots. See README.md.
 *
 * @module
 */
export {
  defaultRemoteName,
  type MetadataConfig,
  parseRemoteWriteConfigs,
  type ParseRemoteWriteResult,
  type QueueConfig,
  type RemoteAuth,
  type RemoteTls,
  type RemoteWriteConfig,
} from "./config.ts";
export { backoffDelay, classifyStatus, RemoteClient, type SendOutcome } from "./client.ts";
export { type DropReason, EndpointQueue, type EndpointStats } from "./endpoint.ts";
export { type Cursor, REMOTE_KV_PREFIX, RemoteStore } from "./late_log.ts";
export { REMOTE_KV_FILE, RemoteWriteManager, type RemoteWriteOptions } from "./manager.ts";
export { registerRemoteWriteMetrics } from "./metrics.ts";
export { type ReadWindow, type TrackedSample, WriteTracker } from "./write_tracker.ts";
export { federate, type FederateOptions, negotiateFederate } from "./federate.ts";
export { type ExportOptions, exportStream, parseImportLines } from "./export.ts";
export { histogramToJson } from "./export_values.ts";
export {
  copyKv,
  createSnapshot,
  exportKv,
  type SnapshotKv,
  snapshotName,
  type SnapshotOptions,
  type SnapshotResult,
  SNAPSHOTS_DIR,
} from "./snapshot.ts";
export {
  type RemoteWriteComponent,
  remoteWriteComponent,
  type RemoteWriteSection,
} from "./component.ts";
