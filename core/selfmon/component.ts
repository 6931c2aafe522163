/**
 * The memory guard component: samples RSS against `limits.memory_limit`
 * (the HTTP layer sheds queries and pushes while over it), trims glibc's
 * malloc heap in the background and gives memory back after bursts of
 * queries or of anything else that made RSS rise.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import type { Basics, Component } from "../lifecycle.ts";
import { releaseIdleMemory } from "../idle_memory.ts";
import { formatBytes } from "../model/mod.ts";
import { type MallocTrimmer, startMallocTrimmer } from "./malloc.ts";
import { MemoryGuard } from "./memory_guard.ts";
import { fullGc, IdleReclaimer, RssRiseWatcher } from "./reclaim.ts";

/** What the memory guard component offers: the guard and the limit in force. */
export interface MemoryGuardComponent extends Component<Config, number> {
  readonly guard: MemoryGuard;
  /** `limits.memory_limit` in force, bytes (0 = off). */
  readonly limit: number;
  /**
   * A query that held `bytes` of samples and columns ended: once queries
   * have held enough and are quiet for a second, memory is given back
   * (reclaim.ts).
   */
  queryEnded(bytes: number): void;
  /**
   * Samples were pushed or scraped: an ingest burst gets its memory (decode
   * buffers, pooled rows, garbage) back once it is over, as queries do.
   */
  ingested(samples: number): void;
}

/**
 * What one ingested sample counts for the reclaim: about what ingest holds
 * for it on the way (the request's bytes, parsed columns, batch, WAL
 * record). 16 MiB of it is ~260,000 samples: an edge buffer's flush
 * reclaims once it is over, a sensor pushing 2,000 series every 15 s
 * about every half hour.
 */
const INGEST_BYTES_PER_SAMPLE = 64;

/** The memory ceiling: health `memory` (degraded while over it). */
export function memoryGuardComponent(
  deps: Pick<Basics, "health" | "logger" | "registry">,
): MemoryGuardComponent {
  let limit = 0;
  let trimmer: MallocTrimmer | undefined;
  const log = deps.logger.child("memory_guard");
  const gcSeconds = deps.registry.histogram({
    name: "perch_memory_reclaim_gc_seconds",
    help: "Time the reclaim's full collection blocked the main thread",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  });
  const reclaimer = new IdleReclaimer(async () => {
    const rss = Deno.memoryUsage().rss, t0 = performance.now();
    // What pools keep for the next burst goes with this collection.
    releaseIdleMemory();
    await fullGc();
    const gcMs = performance.now() - t0;
    gcSeconds.observe(gcMs / 1000);
    await trimmer?.trim();
    log.debug("memory reclaimed", {
      gc_ms: Math.round(gcMs),
      rss_before: rss,
      rss_after: Deno.memoryUsage().rss,
    });
  });
  // Ingest bursts, flushes and compactions reclaim too, once RSS stops rising.
  const rises = new RssRiseWatcher(reclaimer);
  const guard = new MemoryGuard(() => limit, () => {
    const rss = Deno.memoryUsage().rss;
    rises.sample(rss);
    return rss;
  });
  deps.health.register("memory", () =>
    guard.pressure
      ? {
        status: "degraded",
        message: `resident memory ${formatBytes(guard.rss)} is over limits.memory_limit (${
          formatBytes(limit)
        }): shedding queries and pushes`,
      }
      : { status: "healthy" });
  return {
    name: "memory_guard",
    guard,
    get limit() {
      return limit;
    },
    queryEnded: (bytes) => reclaimer.touch(bytes),
    // Not put off by each request: a long ingest is reclaimed when its
    // resident set stops rising, as before; this makes sure one follows its end.
    ingested: (samples) => reclaimer.touch(samples * INGEST_BYTES_PER_SAMPLE, false),
    section: (c) => ({ ok: true, value: c.limits.memory_limit }),
    start(l) {
      limit = l;
      guard.start();
      return Promise.resolve();
    },
    // The trimmer's helper thread (a worker with its own heap) can wait.
    afterReady() {
      trimmer = startMallocTrimmer();
      return Promise.resolve();
    },
    apply(l) {
      limit = l;
    },
    async stop() {
      guard.stop();
      trimmer?.stop();
      await reclaimer.stop();
    },
  };
}
