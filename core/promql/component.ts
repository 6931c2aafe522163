/**
 * The query component: the engine every query goes through (API, rules,
 * `/ws`), rebuilt on reload with the new `query.*` limits, the memory pool
 * they all reserve from and the range-result cache.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { SampleArenaPool } from "../model/mod.ts";
import { type Basics, type Component, started } from "../lifecycle.ts";
import type { StorageComponent } from "../tsdb/mod.ts";
import { MemoryPool } from "./budget.ts";
import { createEngine, type Engine } from "./engine.ts";
import { RangeResultCache } from "./result_cache.ts";

/** What the query component offers the components after it. */
export interface QueryComponent extends Component<Config, Config["query"]> {
  /** The engine of the config in force (after start; replaced on reload). */
  readonly engine: Engine;
  /** The range-result cache (after start). */
  readonly rangeCache: RangeResultCache;
}

/** Query: metrics `perch_query_memory_reserved_bytes`, `perch_query_cache_*`. */
export function queryComponent(
  deps: Pick<Basics, "registry"> & {
    readonly storage: StorageComponent;
    /**
     * Called whenever a query ends, with the bytes of samples and columns it
     * held, or of the cached results it was answered from (the memory guard
     * reclaims after large bursts).
     */
    readonly onQueryEnd?: (bytes: number) => void;
  },
): QueryComponent {
  const registry = deps.registry;
  // One pool for every query (query.max_memory); it outlives engines rebuilt on reload.
  const memory = new MemoryPool(0);
  // Likewise the arenas queries read samples into.
  const arenas = new SampleArenaPool(1, {}, deps.onQueryEnd);
  let engine: Engine | undefined;
  let cache: RangeResultCache | undefined;
  const makeEngine = (q: Config["query"]): Engine => {
    memory.limit = q.max_memory;
    return createEngine({
      querier: deps.storage.db,
      lookbackDelta: q.lookback_delta,
      timeoutMs: q.timeout,
      maxSamples: q.max_samples,
      maxSeries: q.max_series || Infinity,
      maxSteps: q.max_steps,
      memory,
      arenas,
    });
  };
  registry.collected("gauge", {
    name: "perch_query_memory_reserved_bytes",
    help: "Estimated memory reserved by queries in flight (limit: query.max_memory).",
  }, () => [{ value: memory.used }]);
  registry.collected("counter", {
    name: "perch_query_cache_hits_total",
    help: "Range-query steps answered from the result cache.",
  }, () => [{ value: cache?.stats().hits ?? 0 }]);
  registry.collected("counter", {
    name: "perch_query_cache_misses_total",
    help: "Range-query steps computed because they were not cached.",
  }, () => [{ value: cache?.stats().misses ?? 0 }]);
  registry.collected("gauge", {
    name: "perch_query_cache_bytes",
    help: "Estimated bytes held by the range-query result cache.",
  }, () => [{ value: cache?.stats().bytes ?? 0 }]);
  return {
    name: "query",
    restartOnly: ["query.cache_max_bytes"],
    section: (c) => ({ ok: true, value: c.query }),
    start(q) {
      const storage = deps.storage.db;
      engine = makeEngine(q);
      // Range results over data that can no longer change are cached: steps
      // that read only before the head's oldest sample. Storage reports every
      // write behind that point and every block it deletes or rewrites, and
      // the cache drops what those ranges touched.
      const c = new RangeResultCache({
        maxBytes: q.cache_max_bytes,
        immutableBefore: () => storage.headMinT() ?? Date.now(),
        onServed: deps.onQueryEnd,
      });
      cache = c;
      deps.storage.onOldWrite((minT, maxT) => c.invalidate(minT, maxT));
      return Promise.resolve();
    },
    apply(q) {
      // Query settings (lookback) shape cached results: start afresh.
      started("query", cache).clear();
      engine = makeEngine(q);
    },
    stop: () => Promise.resolve(),
    get engine() {
      return started("query", engine);
    },
    get rangeCache() {
      return started("query", cache);
    },
  };
}
