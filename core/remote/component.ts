/**
 * The remote write component: endpoints from `remote_write`, each reading
 * storage through its own cursor kept in `remote.kv`. Every writer appends
 * through {@linkcode RemoteWriteComponent.appender}, so late samples behind
 * a cursor are tracked and still sent.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { type Basics, type Component, started } from "../lifecycle.ts";
import type { Appender } from "../model/mod.ts";
import { openCheckedKv, type StorageComponent } from "../tsdb/mod.ts";
import { parseRemoteWriteConfigs, type RemoteWriteConfig } from "./config.ts";
import { REMOTE_KV_FILE, RemoteWriteManager } from "./manager.ts";
import { registerRemoteWriteMetrics } from "./metrics.ts";

/** The remote write component's section: endpoints and the labels added to what they send. */
export interface RemoteWriteSection {
  readonly endpoints: readonly RemoteWriteConfig[];
  readonly externalLabels: Readonly<Record<string, string>>;
  /** `storage.retention` (ms): the lag budget of endpoints without `sample_age_limit`. */
  readonly retentionMs: number;
}

/** What remote write offers the components after it. */
export interface RemoteWriteComponent extends Component<Config, RemoteWriteSection> {
  /** Storage's appender wrapped so remote write sees every write (after start). */
  readonly appender: Appender;
}

/** Remote write out: health `remote_write`, metrics `perch_remote_*`. */
export function remoteWriteComponent(
  deps: Basics & { readonly storage: StorageComponent },
): RemoteWriteComponent {
  let remote: RemoteWriteManager | undefined;
  let kv: Deno.Kv | undefined;
  let appender: Appender | undefined;
  let externalLabels: Readonly<Record<string, string>> = {};
  const recoveryLog = deps.logger.child("recovery");
  const running = () => started("remote write", remote);
  registerRemoteWriteMetrics(deps.registry, () => running().stats());
  deps.health.register("remote_write", () => running().health());
  return {
    name: "remote_write",
    section(c) {
      const r = parseRemoteWriteConfigs(c.remote_write);
      if (!r.ok) return r;
      return {
        ok: true,
        value: {
          endpoints: r.configs,
          externalLabels: c.global.external_labels,
          retentionMs: c.storage.retention,
        },
      };
    },
    async start(s) {
      const storage = deps.storage.db;
      externalLabels = s.externalLabels;
      // A damaged remote.kv is replaced; cursors then restart at the oldest
      // stored sample: everything is re-sent rather than anything skipped.
      const opened = await openCheckedKv(deps.storage.dataDir, REMOTE_KV_FILE, {
        incidents: deps.storage.incidents,
        consequence: "Remote write endpoints start again from the oldest stored sample: " +
          "data already sent is sent again rather than anything skipped.",
        log: (level, msg, fields) => recoveryLog.log(level, msg, fields),
      });
      kv = opened.kv;
      remote = await RemoteWriteManager.open({
        querier: storage,
        kv: opened.kv,
        logger: deps.logger.child("remote"),
        externalLabels: () => externalLabels,
        retentionMs: s.retentionMs,
        ...(opened.fresh ? { missingCursorFrom: () => storage.minTime() ?? 0 } : {}),
      });
      await remote.apply(s.endpoints);
      appender = remote.appender(storage);
    },
    async apply(s) {
      externalLabels = s.externalLabels;
      await running().apply(s.endpoints);
    },
    async stop() {
      await remote?.close();
      kv?.close();
    },
    get appender() {
      return started("remote write", appender);
    },
  };
}
