/**
 * The ingest components: the one append pipeline for push and scrape (with
 * the per-source rate limit), the Pushgateway registry and the optional
 * Graphite listener.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { realClock } from "../clock.ts";
import { type Config, parseListen } from "../config/mod.ts";
import { type Basics, type Component, started } from "../lifecycle.ts";
import type { Appender } from "../model/mod.ts";
import { registerIngestMetrics } from "../selfmon/mod.ts";
import { GraphiteListener } from "./graphite_listener.ts";
import type { SeriesIndex } from "./limiter.ts";
import { IngestPipeline } from "./pipeline.ts";
import { PushRegistry } from "./push_registry.ts";
import { RateLimitedError, SourceRateLimiter } from "./rate_limit.ts";

/** What the pipeline component offers: the pipeline of the config in force. */
export interface PipelineComponent extends Component<Config, Config["limits"]> {
  /** Appends through the current pipeline; pushes are charged to their source first. */
  readonly handle: Pick<IngestPipeline, "ingest">;
  /** Runs `f` with its pushes charged to `source` (a credential, else `address:<peer>`). */
  runAs<T>(source: string, f: () => T): T;
}

/**
 * The ingest pipeline: validation, cardinality limits, backpressure. It is
 * rebuilt when `limits` change on reload; routes and scrapes keep
 * {@linkcode PipelineComponent.handle}.
 */
export function pipelineComponent(
  deps: Pick<Basics, "registry"> & {
    /** Where samples go (after the components before this one started). */
    readonly appender: () => Appender;
    /** Storage's series index: limits hold across restarts. @default the pipeline's own count */
    readonly seriesIndex?: () => SeriesIndex;
    /** Called with the sample count of each batch taken in (pushed or scraped). */
    readonly onIngest?: (samples: number) => void;
  },
): PipelineComponent {
  const stats = registerIngestMetrics(deps.registry);
  let limits: Config["limits"] | undefined;
  let pipeline: IngestPipeline | undefined;
  const make = (l: Config["limits"]) =>
    new IngestPipeline({
      appender: deps.appender(),
      ...(deps.seriesIndex ? { seriesIndex: deps.seriesIndex() } : {}),
      limits: { maxSeries: l.max_series, maxSeriesPerMetric: l.max_series_per_metric },
      maxInFlight: Math.max(1, Math.min(l.max_inflight_appends, 8)),
      maxQueued: l.max_inflight_appends,
      stats,
    });
  // Pushes are charged to their source (set per request by the HTTP layer)
  // before anything is appended; scrapes are not.
  const source = new AsyncLocalStorage<string>();
  const sourceLimiter = new SourceRateLimiter(
    () => limits?.ingest_rate_per_source ?? 0,
    () => limits?.ingest_burst_per_source ?? 0,
  );
  const rateLimited = deps.registry.counter({
    name: "perch_ingest_rate_limited_requests_total",
    help: "Push requests refused with 429 by the per-source rate limit.",
  });
  return {
    name: "ingest",
    section: (c) => ({ ok: true, value: c.limits }),
    start(l) {
      limits = l;
      pipeline = make(l);
      return Promise.resolve();
    },
    apply(l) {
      // Only the cardinality and in-flight settings shape the pipeline; the
      // rate limits are read per request (and memory_limit is the memory guard's).
      if (pipelineShape(l) !== pipelineShape(limits!)) pipeline = make(l);
      limits = l;
    },
    stop: () => Promise.resolve(),
    handle: {
      ingest(protocol, rows, o) {
        const current = started("ingest", pipeline);
        const who = source.getStore();
        if (who !== undefined) {
          try {
            sourceLimiter.take(who, rows.sampleCount, Date.now());
          } catch (e) {
            if (e instanceof RateLimitedError) rateLimited.inc();
            return Promise.reject(e);
          }
        }
        deps.onIngest?.(rows.sampleCount);
        return current.ingest(protocol, rows, o);
      },
    },
    runAs: (who, f) => source.run(who, f),
  };
}

/** The `limits` settings an {@linkcode IngestPipeline} is built with. */
function pipelineShape(l: Config["limits"]): string {
  return `${l.max_series} ${l.max_series_per_metric} ${l.max_inflight_appends}`;
}

/** What the push component offers: the registry the Pushgateway routes write to. */
export interface PushComponent extends Component<Config, number> {
  readonly registry: PushRegistry;
}

/**
 * Pushed Pushgateway groups: kept in state.kv and exposed again every
 * self-scrape interval, so a batch job's last push stays queryable.
 */
export function pushComponent(
  deps: Pick<Basics, "logger"> & {
    readonly kv: () => Deno.Kv;
    readonly pipeline: PipelineComponent;
  },
): PushComponent {
  let intervalMs = 0;
  let registry: PushRegistry | undefined;
  return {
    name: "push",
    section: (c) => ({ ok: true, value: c.self_scrape.interval }),
    async start(interval) {
      intervalMs = interval;
      registry = new PushRegistry({
        kv: deps.kv(),
        append: (rows) => deps.pipeline.handle.ingest("pushgateway", rows),
        clock: realClock,
        intervalMs: () => intervalMs,
        logger: deps.logger.child("push"),
      });
      await registry.open();
      registry.start();
    },
    apply(interval) {
      intervalMs = interval;
    },
    stop: () => registry?.stop() ?? Promise.resolve(),
    get registry() {
      return started("push", registry);
    },
  };
}

/** The optional Graphite plaintext listener (TCP + UDP) on `graphite.listen`, through the pipeline. */
export function graphiteComponent(
  deps: Pick<Basics, "logger"> & { readonly pipeline: PipelineComponent },
): Component<Config, string> {
  let listener: GraphiteListener | undefined;
  return {
    name: "graphite",
    restartOnly: ["graphite.listen"],
    section: (c) => ({ ok: true, value: c.graphite.listen }),
    async start(listen) {
      if (listen === "") return;
      const addr = parseListen(listen)!;
      listener = new GraphiteListener({
        hostname: addr.hostname,
        port: addr.port,
        append: (rows) => deps.pipeline.handle.ingest("graphite", rows),
        logger: deps.logger.child("graphite"),
      });
      await listener.start();
    },
    stop: () => listener?.stop() ?? Promise.resolve(),
  };
}
