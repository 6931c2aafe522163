/**
 * Storage admin and status routes:
 *
 * | route                              | what                                                    |
 * |------------------------------------|---------------------------------------------------------|
 * | `POST /api/v1/admin/tsdb/flush`    | write the head's complete windows into blocks now       |
 * | `POST /api/v1/admin/tsdb/snapshot` | snapshot under `<data_dir>/snapshots/<name>`            |
 * | `POST /api/v1/admin/health/ack`    | acknowledge storage incidents: health turns healthy     |
 * | `GET /api/v1/status/tsdb`          | Prometheus's shape plus Perch's storage numbers         |
 *
 * @module
 */
import { Hono } from "hono";
import { type Labels, newMatcher, type Querier } from "../core/model/mod.ts";
import { createSnapshot, type SnapshotKv } from "../core/remote/mod.ts";
import { ADMIN, READ } from "./scope.ts";

/** The storage facade the routes need. */
export interface AdminStorage {
  flush(): Promise<void>;
  /** Marks every open storage incident seen; resolves with how many. */
  acknowledgeIncidents(): Promise<number>;
  stats(): Promise<{
    series: number;
    headSeries: number;
    headSamples: number;
    headChunks: number;
    headMinT: number | null;
    headMaxT: number | null;
    blocks: number;
    bytes: { wal: number; blocks: number; kv: number; total: number };
    corruptBlocks: number;
  }>;
}

/** What the admin routes need. */
export interface AdminDeps {
  readonly storage: AdminStorage;
  readonly querier: Querier;
  /** Where snapshots go (`<dataDir>/snapshots/`). */
  readonly dataDir: string;
  /** KV databases a snapshot exports. @default [{file: "index.kv"}] */
  readonly snapshotKvs?: () => readonly SnapshotKv[];
  readonly now?: () => number;
}

const ALL = [newMatcher("=~", "__name__", ".+")];

/** Top-N counts in Prometheus's `{name, value}` form, largest first. */
function topN(counts: Map<string, number>, n: number): { name: string; value: number }[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([name, value]) => ({ name, value }));
}

/** Cardinality statistics over a set of series, as Prometheus's TSDB status. */
export function cardinality(series: readonly Labels[], limit: number) {
  const byName = new Map<string, number>();
  const valuesByLabel = new Map<string, Set<string>>();
  const bytesByLabel = new Map<string, number>();
  const byPair = new Map<string, number>();
  for (const labels of series) {
    for (const l of labels) {
      if (l.name === "__name__") byName.set(l.value, (byName.get(l.value) ?? 0) + 1);
      let vs = valuesByLabel.get(l.name);
      if (!vs) valuesByLabel.set(l.name, vs = new Set());
      if (!vs.has(l.value)) {
        vs.add(l.value);
        bytesByLabel.set(l.name, (bytesByLabel.get(l.name) ?? 0) + l.value.length);
      }
      const pair = `${l.name}=${l.value}`;
      byPair.set(pair, (byPair.get(pair) ?? 0) + 1);
    }
  }
  const valueCounts = new Map([...valuesByLabel].map(([k, v]) => [k, v.size]));
  return {
    numLabelPairs: byPair.size,
    seriesCountByMetricName: topN(byName, limit),
    labelValueCountByLabelName: topN(valueCounts, limit),
    memoryInBytesByLabelName: topN(bytesByLabel, limit),
    seriesCountByLabelValuePair: topN(byPair, limit),
  };
}

/** Mounts the admin and status routes. */
export function adminRoutes(deps: AdminDeps): Hono {
  const app = new Hono();

  app.post("/api/v1/admin/tsdb/flush", ADMIN, async (c) => {
    await deps.storage.flush();
    return c.json({ status: "success", data: {} });
  });

  app.post("/api/v1/admin/tsdb/snapshot", ADMIN, async (c) => {
    const r = await createSnapshot({
      dataDir: deps.dataDir,
      storage: deps.storage,
      kvs: deps.snapshotKvs?.(),
      now: deps.now ?? Date.now,
    });
    return c.json({
      status: "success",
      data: { name: r.name, blocks: r.blocks, linked: r.linked, kvEntries: r.kvEntries },
    });
  });

  app.post("/api/v1/admin/health/ack", ADMIN, async (c) => {
    const acknowledged = await deps.storage.acknowledgeIncidents();
    return c.json({ status: "success", data: { acknowledged } });
  });

  app.get("/api/v1/status/tsdb", READ, async (c) => {
    const limitText = c.req.query("limit");
    const limit = limitText === undefined ? 10 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1) {
      return c.json({
        status: "error",
        errorType: "bad_data",
        error: `invalid parameter "limit": must be a positive integer`,
      }, 400);
    }
    const stats = await deps.storage.stats();
    const series = await deps.querier.series(ALL, { minT: -Infinity, maxT: Infinity });
    const card = cardinality(series, limit);
    return c.json({
      status: "success",
      data: {
        headStats: {
          numSeries: stats.headSeries,
          numLabelPairs: card.numLabelPairs,
          chunkCount: stats.headChunks,
          minTime: stats.headMinT ?? 0,
          maxTime: stats.headMaxT ?? 0,
        },
        seriesCountByMetricName: card.seriesCountByMetricName,
        labelValueCountByLabelName: card.labelValueCountByLabelName,
        memoryInBytesByLabelName: card.memoryInBytesByLabelName,
        seriesCountByLabelValuePair: card.seriesCountByLabelValuePair,
        perch: {
          series: stats.series,
          headSamples: stats.headSamples,
          blocks: stats.blocks,
          corruptBlocks: stats.corruptBlocks,
          bytesOnDisk: stats.bytes,
        },
      },
    });
  });

  return app;
}
