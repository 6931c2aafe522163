/**
 * Perch's composition root: flags + env + config file → resolved config →
 * components started in order (storage → query → ingest → rules → HTTP) and
 * stopped in reverse on SIGINT/SIGTERM.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { stringify as toYaml } from "yaml";
import { Hono } from "hono";
import {
  type Config,
  parseListen,
  redactSecrets,
  resolveConfig,
  restartOnlyChanges,
} from "./core/config/mod.ts";
import type { FlagOverrides } from "./core/config/mod.ts";
import { type Component, Lifecycle } from "./core/lifecycle.ts";
import { Logger, type LogLevel, type LogSink } from "./core/logging/mod.ts";
import { formatBytes, parseDuration } from "./core/model/mod.ts";
import {
  HealthChecks,
  type MallocTrimmer,
  MemoryGuard,
  registerIngestMetrics,
  registerProcessMetrics,
  registerStorageMetrics,
  Registry,
  startMallocTrimmer,
} from "./core/selfmon/mod.ts";
import { type DB, IncidentLog, openCheckedKv, openDB } from "./core/tsdb/mod.ts";
import { openStateKv, type StateKv } from "./core/state_kv.ts";
import { createEngine, type Engine, MemoryPool, RangeResultCache } from "./core/promql/mod.ts";
import {
  GraphiteListener,
  IngestPipeline,
  KvInfluxDatabases,
  PushRegistry,
  RateLimitedError,
  SourceRateLimiter,
} from "./core/ingest/mod.ts";
import { realClock } from "./core/clock.ts";
import { createScrapeManager, parseScrapeConfigs, type ScrapeConfig } from "./core/scrape/mod.ts";
import {
  alertmanagerGlobalFields,
  createNotifier,
  type NotifyConfig,
  parseNotifyConfig,
  type QueueOptions,
} from "./core/notify/mod.ts";
import { BUILTIN_RULE_FILES, createRuleManager, engineQueryFunc } from "./core/rules/mod.ts";
import { HOST_RULE_FILE, HostCollector, hostJobs } from "./core/hostmetrics/mod.ts";
import { DashboardStore, dirSource, provisionDashboards } from "./core/dashboards/mod.ts";
import { LiveHub } from "./core/live/mod.ts";
import {
  parseRemoteWriteConfigs,
  registerRemoteWriteMetrics,
  REMOTE_KV_FILE,
  type RemoteWriteConfig,
  RemoteWriteManager,
} from "./core/remote/mod.ts";
import {
  Authenticator,
  hasCredentials,
  isLoopback,
  loadOrCreateAdminToken,
  tlsServeOptions,
  withAdminToken,
} from "./core/auth/mod.ts";
import { VERSION } from "./core/version.ts";
import { adminRoutes } from "./routes/admin.ts";
import { apiRoutes } from "./routes/api.ts";
import { createApp } from "./routes/app.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { notifyRoutes } from "./routes/notify.ts";
import { rulesRoutes } from "./routes/rules.ts";
import { scrapeRoutes } from "./routes/scrape.ts";
import { dashboardRoutes } from "./routes/dashboards.ts";
import { engineQueryFn, wsRoutes } from "./routes/ws.ts";
import { remoteRoutes } from "./routes/remote.ts";
import { authMiddleware, principalOf } from "./routes/auth.ts";
import { AsyncLocalStorage } from "node:async_hooks";
import { csrfGuard } from "./routes/csrf.ts";
import { FrontDoor, StreamLimiter } from "./core/net/mod.ts";
import { systemRoutes } from "./routes/system.ts";
import { READ, RouteScopes } from "./routes/scope.ts";

/** How to start Perch. */
export interface PerchOptions {
  /** Path of the YAML config file; none means embedded defaults only. */
  readonly configPath?: string;
  readonly flags?: FlagOverrides;
  /** Environment variables (only PERCH_* are read). */
  readonly env?: Readonly<Record<string, string>>;
  /** Where log lines go (default stderr). */
  readonly logSink?: LogSink;
  /** Watch the config file for changes (default true). */
  readonly watchConfig?: boolean;
}

/** A running Perch. */
export interface Perch {
  /** The address the HTTP listener is bound to. */
  readonly addr: { hostname: string; port: number };
  readonly config: () => Config;
  readonly logger: Logger;
  /** Re-reads the config file; the old config stays in force when the new one is rejected. */
  reload(): Promise<{ ok: true } | { ok: false; errors: readonly string[] }>;
  /** Stops every component in reverse order; resolves false on a timeout. */
  stop(): Promise<boolean>;
}

/** Thrown when the configuration at start is invalid; lists every problem. */
export class ConfigError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(`Invalid configuration:\n  ${errors.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

async function readConfigText(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ConfigError([`${path}: file not found`]);
    throw e;
  }
}

/** Sections validated by their components, compiled once per (re)load. */
interface Parts {
  readonly scrape: readonly ScrapeConfig[];
  readonly notify: NotifyConfig;
  readonly remoteWrite: readonly RemoteWriteConfig[];
}

type Resolved =
  | { ok: true; config: Config; parts: Parts; warnings: readonly string[] }
  | { ok: false; errors: readonly string[] };

/**
 * Resolves the config layers and validates the sections owned by
 * components (scrape, notify), so a bad section rejects the whole config.
 */
export function resolveAll(
  text: string | undefined,
  configPath: string | undefined,
  env: Readonly<Record<string, string>>,
  flags: FlagOverrides | undefined,
): Resolved {
  const r = resolveConfig({ fileText: text, fileName: configPath, env, flags });
  if (!r.ok) return r;
  const c = r.config;
  const errors: string[] = [];
  const baseDir = configDir(configPath);
  const scrape = parseScrapeConfigs(c.scrape_configs, c.global, { baseDir });
  if (!scrape.ok) errors.push(...scrape.errors);
  const notify = parseNotifyConfig({
    route: c.route,
    receivers: c.receivers,
    inhibit_rules: c.inhibit_rules,
    time_intervals: c.time_intervals,
    mute_time_intervals: c.mute_time_intervals,
    templates: c.templates,
    global: c.global,
  }, {
    externalLabels: c.global.external_labels,
    readFile: (f) => Deno.readTextFileSync(f.startsWith("/") ? f : `${baseDir}/${f}`),
    listDir: (d) =>
      [...Deno.readDirSync(d.startsWith("/") ? d : `${baseDir}/${d}`)]
        .filter((e) => !e.isDirectory).map((e) => e.name),
  });
  if ("errors" in notify) errors.push(...notify.errors);
  const remoteWrite = parseRemoteWriteConfigs(c.remote_write);
  if (!remoteWrite.ok) errors.push(...remoteWrite.errors);
  if (errors.length > 0 || !scrape.ok || "errors" in notify || !remoteWrite.ok) {
    return { ok: false, errors };
  }
  return {
    ok: true,
    config: c,
    parts: { scrape: scrape.configs, notify: notify.config, remoteWrite: remoteWrite.configs },
    warnings: [...r.warnings, ...notify.warnings],
  };
}

/** The directory relative paths in the config file are resolved against. */
function configDir(configPath: string | undefined): string {
  if (configPath === undefined || !configPath.includes("/")) return ".";
  return configPath.slice(0, configPath.lastIndexOf("/")) || "/";
}

/** Rule file patterns: the shipped ones, then the config's, relative to the config file. */
function ruleFilePatterns(c: Config, configPath: string | undefined): string[] {
  const dir = configDir(configPath);
  const own = c.rule_files.map((f) => f.startsWith("/") || dir === "." ? f : `${dir}/${f}`);
  const builtin = Object.keys(BUILTIN_RULE_FILES).filter((f) =>
    f === HOST_RULE_FILE ? c.host_metrics.alerts : c.self_monitoring_rules
  );
  return [...builtin, ...own];
}

function readRuleFile(path: string): Promise<string> {
  const builtin = BUILTIN_RULE_FILES[path];
  return builtin !== undefined ? Promise.resolve(builtin) : Deno.readTextFile(path);
}

/** Starts Perch; throws {@linkcode ConfigError} for a bad config. */
export async function startPerch(options: PerchOptions = {}): Promise<Perch> {
  const env = options.env ?? {};
  const resolveFrom = (text: string | undefined) =>
    resolveAll(text, options.configPath, env, options.flags);
  const first = resolveFrom(await readConfigText(options.configPath));
  if (!first.ok) throw new ConfigError(first.errors);
  let config = first.config;
  let parts = first.parts;

  const startedAt = new Date();
  const logger = new Logger({ level: config.log.level as LogLevel, sink: options.logSink });
  const log = logger.child("main");
  for (const w of first.warnings) log.warn(w);
  const registry = new Registry();
  const health = new HealthChecks();
  const lifecycle = new Lifecycle(log);
  registerProcessMetrics(registry, startedAt.getTime());

  const reloadsTotal = registry.counter({
    name: "perch_config_reloads_total",
    help: "Config reloads by result.",
    labelNames: ["result"],
  });
  const lastReloadOk = registry.gauge({
    name: "perch_config_last_reload_successful",
    help: "Whether the last config reload attempt succeeded (1) or was rejected (0).",
  });
  lastReloadOk.set(1);
  let lastReloadAt = startedAt;
  const reloadListeners: ((c: Config, p: Parts) => void | Promise<void>)[] = [];

  // Reloads run one at a time (SIGHUP, /-/reload and the file watcher may
  // overlap), and none once stop() has begun: components may be closed.
  let stopping = false;
  let reloadChain: Promise<unknown> = Promise.resolve();
  function reload(): Promise<{ ok: true } | { ok: false; errors: readonly string[] }> {
    const r = reloadChain.then(() =>
      stopping
        ? { ok: false as const, errors: ["Perch is stopping; the config was not reloaded"] }
        : reloadNow()
    );
    reloadChain = r.catch(() => {});
    return r;
  }

  async function reloadNow(): Promise<{ ok: true } | { ok: false; errors: readonly string[] }> {
    let text: string | undefined;
    try {
      text = await readConfigText(options.configPath);
    } catch (e) {
      const errors = e instanceof ConfigError ? e.errors : [String(e)];
      return rejected(errors);
    }
    const next = resolveFrom(text);
    if (!next.ok) return rejected(next.errors);
    for (const w of next.warnings) log.warn(w);
    const restartOnly = restartOnlyChanges(config, next.config);
    if (restartOnly.length > 0) {
      log.warn("config changes that need a restart were not applied", { fields: restartOnly });
    }
    config = next.config;
    parts = next.parts;
    logger.setLevel(config.log.level as LogLevel);
    for (const l of reloadListeners) {
      try {
        await l(config, parts);
      } catch (e) {
        log.error("a component failed to apply the new config", { error: e });
      }
    }
    reloadsTotal.labels("success").inc();
    lastReloadOk.set(1);
    lastReloadAt = new Date();
    log.info("config reloaded", { file: options.configPath });
    return { ok: true };
  }

  function rejected(errors: readonly string[]) {
    reloadsTotal.labels("failure").inc();
    lastReloadOk.set(0);
    log.error("config reload rejected; keeping the previous config", { errors });
    return { ok: false as const, errors };
  }

  await Deno.mkdir(config.storage.data_dir, { recursive: true });
  const dataDir = config.storage.data_dir;

  // Components are added here in order: storage → query → ingest → rules → HTTP.

  // What recovery skips, quarantines or rebuilds in the data dir, kept until
  // an admin acknowledges it (storage health stays degraded meanwhile).
  const incidents = await IncidentLog.open(dataDir);
  const recoveryLog = logger.child("recovery");

  // Storage.
  let db: DB | undefined;
  let invalidateOld: (minT: number, maxT: number) => void = () => {};
  const tsdbLog = logger.child("tsdb");
  await lifecycle.start({
    name: "storage",
    async start() {
      const s = config.storage;
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
        onOldWrite: (minT, maxT) => invalidateOld(minT, maxT),
        incidents,
      });
    },
    async stop() {
      await db?.close();
    },
  });
  const storage = db!;
  health.register("storage", () => {
    const h = storage.health();
    return {
      status: h.status,
      message: h.message,
      ...(h.incidents ? { details: { incidents: h.incidents } } : {}),
    };
  });
  registerStorageMetrics(registry, () => storage.stats());

  // Remote write out: endpoints read storage through their own cursors. Every
  // writer appends through `appender`, so late samples behind a cursor are
  // tracked and still sent.
  let remote: RemoteWriteManager | undefined;
  let remoteKv: Deno.Kv | undefined;
  await lifecycle.start({
    name: "remote_write",
    async start() {
      // A damaged remote.kv is replaced; cursors then restart at the oldest
      // stored sample: everything is re-sent rather than anything skipped.
      const opened = await openCheckedKv(dataDir, REMOTE_KV_FILE, {
        incidents,
        consequence: "Remote write endpoints start again from the oldest stored sample: " +
          "data already sent is sent again rather than anything skipped.",
        log: (level, msg, fields) => recoveryLog.log(level, msg, fields),
      });
      remoteKv = opened.kv;
      remote = await RemoteWriteManager.open({
        querier: storage,
        kv: opened.kv,
        logger: logger.child("remote"),
        externalLabels: () => config.global.external_labels,
        retentionMs: config.storage.retention,
        ...(opened.fresh ? { missingCursorFrom: () => storage.minTime() ?? 0 } : {}),
      });
      await remote.apply(parts.remoteWrite);
    },
    async stop() {
      await remote?.close();
      remoteKv?.close();
    },
  });
  const remoteWrite = remote!;
  const appender = remoteWrite.appender(storage);
  registerRemoteWriteMetrics(registry, () => remoteWrite.stats());
  health.register("remote_write", () => remoteWrite.health());
  reloadListeners.push((_c, p) => remoteWrite.apply(p.remoteWrite));

  // Query. Every query (API, rules, /ws) reserves its memory estimate from
  // one pool (query.max_memory), which outlives engines rebuilt on reload.
  const queryMemory = new MemoryPool(config.query.max_memory);
  const makeEngine = (c: Config): Engine => {
    queryMemory.limit = c.query.max_memory;
    return createEngine({
      querier: storage,
      lookbackDelta: c.query.lookback_delta,
      timeoutMs: c.query.timeout,
      maxSamples: c.query.max_samples,
      maxSeries: c.query.max_series || Infinity,
      maxSteps: c.query.max_steps,
      memory: queryMemory,
    });
  };
  registry.collected("gauge", {
    name: "perch_query_memory_reserved_bytes",
    help: "Estimated memory reserved by queries in flight (limit: query.max_memory).",
  }, () => [{ value: queryMemory.used }]);
  let engine = makeEngine(config);

  // Range results over data that can no longer change are cached: steps that
  // read only before the head's oldest sample. Storage reports every write
  // behind that point and every block it deletes or rewrites (onOldWrite),
  // and the cache drops what those ranges touched.
  const rangeCache = new RangeResultCache({
    maxBytes: config.query.cache_max_bytes,
    immutableBefore: () => storage.headMinT() ?? Date.now(),
  });
  invalidateOld = (minT, maxT) => rangeCache.invalidate(minT, maxT);
  // Query settings (lookback) shape cached results: start afresh on reload.
  reloadListeners.push(() => rangeCache.clear());
  registry.collected("counter", {
    name: "perch_query_cache_hits_total",
    help: "Range-query steps answered from the result cache.",
  }, () => [{ value: rangeCache.stats().hits }]);
  registry.collected("counter", {
    name: "perch_query_cache_misses_total",
    help: "Range-query steps computed because they were not cached.",
  }, () => [{ value: rangeCache.stats().misses }]);
  registry.collected("gauge", {
    name: "perch_query_cache_bytes",
    help: "Estimated bytes held by the range-query result cache.",
  }, () => [{ value: rangeCache.stats().bytes }]);
  reloadListeners.push((c) => {
    engine = makeEngine(c);
  });

  // Ingest: one pipeline for push and scrape; rebuilt when limits change.
  const ingestStats = registerIngestMetrics(registry);
  const makePipeline = (c: Config) =>
    new IngestPipeline({
      appender,
      // The limiter asks storage which series exist, so limits hold across restarts.
      seriesIndex: storage,
      limits: {
        maxSeries: c.limits.max_series,
        maxSeriesPerMetric: c.limits.max_series_per_metric,
      },
      maxInFlight: Math.max(1, Math.min(c.limits.max_inflight_appends, 8)),
      maxQueued: c.limits.max_inflight_appends,
      stats: ingestStats,
    });
  let pipeline = makePipeline(config);
  let pipelineLimits = config.limits;
  reloadListeners.push((c) => {
    if (JSON.stringify(c.limits) !== JSON.stringify(pipelineLimits)) {
      pipeline = makePipeline(c);
      pipelineLimits = c.limits;
    }
  });
  // Routes and scrapes keep this handle; the pipeline behind it is rebuilt
  // when limits change on reload.
  // Pushes are charged to their source (credential, else client address;
  // set per request below) before anything is appended; scrapes are not.
  const ingestSource = new AsyncLocalStorage<string>();
  const sourceLimiter = new SourceRateLimiter(
    () => config.limits.ingest_rate_per_source,
    () => config.limits.ingest_burst_per_source,
  );
  const rateLimited = registry.counter({
    name: "perch_ingest_rate_limited_requests_total",
    help: "Push requests refused with 429 by the per-source rate limit.",
  });
  const pipelineHandle: Pick<IngestPipeline, "ingest"> = {
    ingest: (protocol, rows, o) => {
      const source = ingestSource.getStore();
      if (source !== undefined) {
        try {
          sourceLimiter.take(source, rows.sampleCount, Date.now());
        } catch (e) {
          if (e instanceof RateLimitedError) rateLimited.inc();
          return Promise.reject(e);
        }
      }
      return pipeline.ingest(protocol, rows, o);
    },
  };

  // State for everything that is not samples: alert state, silences,
  // delivery queue, scrape targets added at run time, dashboards.
  // Checked at open; a damaged file is restored from its snapshot.
  let state: StateKv | undefined;
  await lifecycle.start({
    name: "state",
    async start() {
      state = await openStateKv({
        dataDir,
        incidents,
        log: (level, msg, fields) => recoveryLog.log(level, msg, fields),
      });
    },
    async stop() {
      await state?.close();
    },
  });
  const stateKv = state!.kv;

  // Pushed Pushgateway groups: kept in state.kv, exposed again every
  // self-scrape interval so a batch job's last push stays queryable.
  const pushRegistry = new PushRegistry({
    kv: stateKv,
    append: (rows) => pipelineHandle.ingest("pushgateway", rows),
    clock: realClock,
    intervalMs: () => config.self_scrape.interval,
    logger: logger.child("push"),
  });
  // The optional Graphite plaintext listener (TCP + UDP), through the same pipeline.
  if (config.graphite.listen !== "") {
    const addr = parseListen(config.graphite.listen)!;
    const graphite = new GraphiteListener({
      hostname: addr.hostname,
      port: addr.port,
      append: (rows) => pipelineHandle.ingest("graphite", rows),
      logger: logger.child("graphite"),
    });
    await lifecycle.start({
      name: "graphite",
      start: () => graphite.start(),
      stop: () => graphite.stop(),
    });
  }

  await lifecycle.start({
    name: "push",
    async start() {
      await pushRegistry.open();
      pushRegistry.start();
    },
    stop: () => pushRegistry.stop(),
  });

  // Scrape (after ingest: scrapes go through the same pipeline). The self
  // target is named after the listener; with port 0 the port is only known
  // once HTTP listens, so self-scrape starts then.
  const listen = parseListen(config.server.listen)!;
  const portKnown = listen.port !== 0;
  let selfAddress = selfTargetAddress(listen.hostname, listen.port);
  // The host collector is scraped in process like the self target (job "node").
  const host = new HostCollector();
  const hostJobsOf = (c: Config) => hostJobs(c.host_metrics, c.self_scrape.interval, host);
  const scraper = createScrapeManager({
    configs: parts.scrape,
    appendRows: (rows, protocol) => pipelineHandle.ingest(protocol, rows),
    kv: stateKv,
    logger,
    registry,
    selfMetrics: () => registry.collect(),
    selfScrape: portKnown ? config.self_scrape : { ...config.self_scrape, enabled: false },
    selfAddress,
    global: config.global,
    inProcessJobs: hostJobsOf(config),
  });
  await lifecycle.start({
    name: "scrape",
    start: () => scraper.start(),
    stop: () => scraper.stop(),
  });
  reloadListeners.push((c, p) =>
    scraper.reload(p.scrape, {
      selfScrape: c.self_scrape,
      global: c.global,
      selfAddress,
      inProcessJobs: hostJobsOf(c),
    })
  );

  // Links in notifications: without server.external_url, Prometheus's default
  // http://<hostname>:<port>, the port known once HTTP listens.
  const defaultExternalURL = (port: number) =>
    `${config.auth.tls ? "https" : "http"}://${Deno.hostname()}:${port}`;
  let externalURL = config.server.external_url || defaultExternalURL(listen.port);

  // Notifications, then rules (rules hand alerts to the notifier).
  const notifier = createNotifier({
    kv: stateKv,
    config: parts.notify,
    logger,
    registry,
    externalURL: () => externalURL,
    queue: deliveryOptions(config),
    maxSilenceDurationMs: config.silences.max_duration,
    silenceRetentionMs: config.silences.retention,
    resolveTimeoutMs: resolveTimeout(config),
  });
  await lifecycle.start({
    name: "notify",
    start: () => notifier.start(),
    stop: () => notifier.stop(),
  });
  reloadListeners.push((c, p) =>
    notifier.reload(p.notify, { queue: deliveryOptions(c), resolveTimeoutMs: resolveTimeout(c) })
  );

  const rules = createRuleManager({
    kv: stateKv,
    query: engineQueryFunc({ instantQuery: (expr, t) => engine.instantQuery(expr, t) }),
    appender,
    sink: notifier.sink,
    logger,
    registry,
    ruleFiles: ruleFilePatterns(config, options.configPath),
    readFile: readRuleFile,
    evaluationIntervalMs: config.global.evaluation_interval,
    externalURL: config.server.external_url,
    externalLabels: config.global.external_labels,
  });
  let rulesOk = true;
  await lifecycle.start({
    name: "rules",
    async start() {
      const r = await rules.start();
      rulesOk = r.ok;
      if (!r.ok) {
        log.error("rule files have errors; their rules are not loaded", { errors: r.errors });
      }
    },
    stop: () => rules.stop(),
  });
  reloadListeners.push(async (c) => {
    const r = await rules.reload(ruleFilePatterns(c, options.configPath));
    rulesOk = r.ok;
    if (!r.ok) log.error("rule files rejected; keeping the previous rules", { errors: r.errors });
  });
  health.register(
    "rules",
    () =>
      rulesOk
        ? { status: "healthy" }
        : { status: "degraded", message: "rule files have errors (see the log and /api/v1/rules)" },
  );

  health.register("config", () => ({
    status: lastReloadOk.labels().value === 1 ? "healthy" : "degraded",
    message: lastReloadOk.labels().value === 1 ? "" : "last reload was rejected",
  }));

  // Dashboards: stored in state.kv; the built-in overview and a directory
  // of JSON files are provisioned at start (a user's edits are kept).
  const dashboards = new DashboardStore(stateKv);
  const provisionFrom = (c: Config) => {
    const dir = c.dashboards.provision_dir;
    if (dir === "") return undefined;
    return dirSource(dir.startsWith("/") ? dir : `${configDir(options.configPath)}/${dir}`);
  };
  const provision = async (c: Config) => {
    const rep = await provisionDashboards(dashboards, provisionFrom(c));
    for (const e of rep.errors) log.error("dashboard not provisioned", { ...e });
  };
  await provision(config);
  reloadListeners.push((c) => provision(c));

  // Live panel updates over /ws.
  const slowClients = registry.counter({
    name: "perch_live_slow_clients_dropped_total",
    help: "WebSocket clients dropped because they could not keep up.",
  });
  const hub = new LiveHub({
    query: engineQueryFn(() => engine),
    clock: { now: Date.now },
    onSlowClient: () => slowClients.inc(),
  });
  await lifecycle.start({
    name: "live",
    start() {
      hub.start(1000);
      return Promise.resolve();
    },
    stop() {
      hub.closeAll();
      return Promise.resolve();
    },
  });

  let ready = false;
  // Each route declares its access scope where it is registered (routes/scope.ts);
  // the middleware below (CORS, shedding, CSRF, auth) looks requests up here.
  const scopes = new RouteScopes();
  const scopeOf = (method: string, path: string) => scopes.of(method, path);
  const app = createApp({
    logger,
    registry,
    maxBodyBytes: () => config.server.max_body_bytes,
    corsOrigins: () => config.server.cors_origins,
    scopeOf,
  });
  // The memory ceiling: over limits.memory_limit, shed queries and pushes.
  const memoryGuard = new MemoryGuard(() => config.limits.memory_limit);
  let trimmer: MallocTrimmer | undefined;
  await lifecycle.start({
    name: "memory_guard",
    start() {
      memoryGuard.start();
      trimmer = startMallocTrimmer();
      return Promise.resolve();
    },
    stop() {
      memoryGuard.stop();
      trimmer?.stop();
      return Promise.resolve();
    },
  });
  health.register("memory", () =>
    memoryGuard.pressure
      ? {
        status: "degraded",
        message: `resident memory ${formatBytes(memoryGuard.rss)} is over limits.memory_limit (${
          formatBytes(config.limits.memory_limit)
        }): shedding queries and pushes`,
      }
      : { status: "healthy" });
  const shed = registry.counter({
    name: "perch_http_requests_shed_total",
    help: "Requests refused with 503 because memory was over limits.memory_limit.",
  });
  app.use("*", async function shedUnderPressure(c, next) {
    if (!memoryGuard.pressure) return await next();
    const path = c.req.path;
    const scope = scopes.of(c.req.method, path);
    const sheddable = scope === "write" ||
      (scope === "read" && (path.startsWith("/api/") || path === "/federate" || path === "/ws"));
    if (!sheddable) return await next();
    shed.inc();
    c.header("Retry-After", "5");
    return c.json({
      status: "error",
      errorType: "unavailable",
      error: `Perch is over its memory limit (limits.memory_limit: ${
        formatBytes(config.limits.memory_limit)
      }, resident ${formatBytes(memoryGuard.rss)}); retry later`,
    }, 503);
  });
  // Cross-origin browser requests and non-JSON bodies never reach admin routes.
  app.use(
    "*",
    csrfGuard({
      scopeOf,
      allowedOrigins: () => config.server.cors_origins,
      externalUrl: () => config.server.external_url,
    }),
  );
  // Access control per scope (write, read, admin). With no credentials
  // configured and a listener beyond loopback, admin needs a generated token.
  const adminToken = !hasCredentials(config.auth) && !isLoopback(listen.hostname)
    ? await loadOrCreateAdminToken(dataDir)
    : undefined;
  if (adminToken?.created) {
    log.warn("generated an admin token: admin actions need it as 'Authorization: Bearer <token>'", {
      token: adminToken.token,
      file: adminToken.path,
      rotate: "delete the file and restart Perch; or configure auth: to replace it",
    });
  }
  const authFor = (c: Config) => {
    const a = new Authenticator(
      adminToken && !hasCredentials(c.auth) ? withAdminToken(c.auth, adminToken.token) : c.auth,
    );
    const open = a.openScopes();
    log.info(open.length === 3 ? "access: every scope is open" : "access", {
      open_scopes: open,
      ...(adminToken && !hasCredentials(c.auth) ? { admin_token_file: adminToken.path } : {}),
    });
    return a;
  };
  let authenticator = authFor(config);
  reloadListeners.push((c) => {
    authenticator = authFor(c);
  });
  app.use("*", authMiddleware(() => authenticator, scopeOf));
  app.use("*", function ingestSourceOf(c, next) {
    if (scopes.of(c.req.method, c.req.path) !== "write") return next();
    const who = principalOf(c.req.raw);
    const source = who !== undefined ? who : `address:${c.req.header("x-perch-peer") ?? "unknown"}`;
    return ingestSource.run(source, next);
  });
  scopes.mount(
    app,
    systemRoutes({ health, registry, ready: () => ready, reload }),
  );
  scopes.mount(
    app,
    ingestRoutes({
      pipeline: pipelineHandle,
      // After decompression a body may grow; it is bounded at 4x the wire limit.
      maxBodyBytes: () => config.server.max_body_bytes * 4,
      influxDatabases: new KvInfluxDatabases(stateKv),
      otlp: () => ({
        promoteResourceAttributes: config.otlp.promote_resource_attributes,
        promoteScopeMetadata: config.otlp.promote_scope_metadata,
        addMetricSuffixes: config.otlp.add_metric_suffixes,
        keepIdentifyingResourceAttributes: config.otlp.keep_identifying_resource_attributes,
        delta: config.otlp.delta,
        lookbackMs: config.query.lookback_delta,
      }),
      pushRegistry,
    }),
  );
  scopes.mount(
    app,
    apiRoutes({
      engine: () => engine,
      rangeCache,
      querier: storage,
      config: () => config,
      startedAt,
      flags: flagValues(options),
      reloadState: () => ({ ok: lastReloadOk.labels().value === 1, at: lastReloadAt }),
      alertmanagers: () => alertmanagerUrls(parts.notify),
    }),
  );
  scopes.mount(
    app,
    adminRoutes({
      storage,
      querier: storage,
      dataDir,
      snapshotKvs: () => [
        { file: "index.kv" },
        { file: "state.kv", kv: stateKv },
        { file: REMOTE_KV_FILE },
      ],
    }),
  );
  scopes.mount(app, scrapeRoutes({ manager: scraper }));
  scopes.mount(app, rulesRoutes({ rules }));
  scopes.mount(
    app,
    notifyRoutes({
      notifier,
      startedAt,
      alertmanagerConfig: () => alertmanagerYaml(config),
      receivers: () => [...parts.notify.receivers.keys()],
    }),
  );
  scopes.mount(app, dashboardRoutes({ store: dashboards }));
  scopes.mount(app, wsRoutes({ hub }));
  scopes.mount(
    app,
    remoteRoutes({
      querier: storage,
      pipeline: pipelineHandle,
      externalLabels: () => config.global.external_labels,
      lookbackMs: () => config.query.lookback_delta,
      minTime: () => storage.minTime(),
    }),
  );
  // The UI (server-rendered pages, embedded island bundles) is loaded on its
  // first request: it is about half of the module loading, and nothing needs
  // it to be ready. Registered last, so it only sees what no route above took.
  const uiDeps = {
    homeData: async () => ({
      health: await health.run(),
      startedAt,
      dataDir: config.storage.data_dir,
      listen: config.server.listen,
    }),
    dashboards,
  };
  let ui: Promise<{ fetch: (r: Request) => Response | Promise<Response> }> | undefined;
  const uiRouter = new Hono();
  uiRouter.all("*", READ, async (c) => {
    ui ??= import("./routes/ui/mod.tsx").then((m) => m.uiRoutes(uiDeps));
    const res = await (await ui).fetch(c.req.raw);
    return res.status === 404 ? c.notFound() : res;
  });
  scopes.mount(app, uiRouter);

  // HTTP: the front door (core/net) owns the public listener and its
  // timeouts and caps; Perch's HTTP server answers on a private Unix socket.
  const tls = await tlsServeOptions(config.auth);
  let server: Deno.HttpServer<Deno.UnixAddr> | undefined;
  let front: FrontDoor | undefined;
  let socketDir: string | undefined;
  let addr = listen;
  const dropped = registry.counter({
    name: "perch_http_connections_dropped_total",
    help: "Client connections dropped or refused by the front door, by reason.",
    labelNames: ["reason"],
  });
  registry.collected("gauge", {
    name: "perch_http_connections",
    help: "Open client connections (limit: server.max_connections).",
  }, () => [{ value: front?.connections ?? 0 }]);
  const streaming = new StreamLimiter(() => config.server.max_streams, () => front?.upgraded ?? 0);
  const handler = async (req: Request): Promise<Response> => {
    const conn = req.headers.get("x-perch-conn");
    front?.begin(conn);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      front?.end(conn);
    };
    const stream = streaming.enter(new URL(req.url).pathname);
    if (stream === false) {
      end();
      return Response.json({
        error:
          `too many streaming responses in progress (server.max_streams: ${config.server.max_streams}); retry later`,
      }, { status: 503, headers: { "retry-after": "1" } });
    }
    const done = () => {
      stream?.();
      end();
    };
    let res: Response;
    try {
      res = await app.fetch(req);
    } catch (e) {
      done();
      throw e;
    }
    if (res.status === 101 || res.body === null) {
      done();
      return res;
    }
    return new Response(
      res.body.pipeThrough(new TransformStream({ flush: done, cancel: done })),
      res,
    );
  };
  const http: Component = {
    name: "http",
    async start() {
      socketDir = await Deno.makeTempDir({ prefix: "perch-http-" });
      const path = `${socketDir}/http.sock`;
      await new Promise<void>((resolve, reject) => {
        try {
          server = Deno.serve({ path, onListen: () => resolve() }, handler);
        } catch (e) {
          reject(e);
        }
      });
      front = FrontDoor.open({
        hostname: listen.hostname,
        port: listen.port,
        ...("cert" in tls ? { tls } : {}),
        upstreamPath: path,
        limits: () => ({
          headerTimeoutMs: config.server.header_timeout,
          bodyTimeoutMs: config.server.body_timeout,
          idleTimeoutMs: config.server.idle_timeout,
          maxConnections: config.server.max_connections,
        }),
        onDrop: (reason) => dropped.labels(reason).inc(),
      });
      const a = front.addr;
      addr = { hostname: a.hostname, port: a.port };
      if (!config.server.external_url) externalURL = defaultExternalURL(a.port);
      log.info("listening", { addr: `${a.hostname}:${a.port}`, version: VERSION });
    },
    async stop() {
      // No new connections; requests in flight finish; then the rest closes.
      front?.stopAccepting();
      await server?.shutdown();
      await front?.close();
      if (socketDir) await Deno.remove(socketDir, { recursive: true }).catch(() => {});
    },
  };
  await lifecycle.start(http);
  if (!portKnown) {
    selfAddress = selfTargetAddress(addr.hostname, addr.port);
    await scraper.reload(parts.scrape, {
      selfScrape: config.self_scrape,
      global: config.global,
      selfAddress,
    });
  }

  // Config file watching (in addition to SIGHUP and POST /-/reload).
  let watcher: { close(): void } | undefined;
  if (options.configPath !== undefined && options.watchConfig !== false) {
    watcher = watchFile(options.configPath, () => void reload());
  }
  ready = true;

  return {
    get addr() {
      return addr;
    },
    config: () => config,
    logger,
    reload,
    async stop() {
      ready = false;
      stopping = true;
      watcher?.close();
      await reloadChain;
      return await lifecycle.stopAll(config.server.shutdown_timeout);
    },
  };
}

/** `host:port` of the self-scrape target, as Prometheus names its own (`localhost:9090`). */
/** The Alertmanager sections of a config as YAML, secrets hidden (`/api/v2/status`). */
function alertmanagerYaml(c: Config): string {
  const sections: Record<string, unknown> = {};
  const global = Object.fromEntries(
    Object.keys(alertmanagerGlobalFields).flatMap((k) => {
      const v = (c.global as Record<string, unknown>)[k];
      return v === undefined ? [] : [[k, v]];
    }),
  );
  if (Object.keys(global).length > 0) sections.global = global;
  const names = [
    "route",
    "receivers",
    "inhibit_rules",
    "time_intervals",
    "mute_time_intervals",
    "templates",
  ] as const;
  for (const k of names) {
    const v = c[k];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) sections[k] = v;
  }
  return toYaml(redactSecrets(sections));
}

/**
 * How long a firing alert may go without a refresh before it counts as
 * resolved: Alertmanager's `global.resolve_timeout` (default 15m here), but
 * never under 4 rule evaluation intervals, so rule alerts are refreshed in time.
 */
function resolveTimeout(c: Config): number {
  const configured = c.global.resolve_timeout === undefined
    ? 15 * 60_000
    : parseDuration(c.global.resolve_timeout) ?? 15 * 60_000;
  return Math.max(configured, 4 * c.global.evaluation_interval);
}

/** The notification retry settings of a config. */
function deliveryOptions(c: Config): QueueOptions {
  return {
    initialBackoffMs: c.notifications.min_backoff,
    maxBackoffMs: c.notifications.max_backoff,
    maxAgeMs: c.notifications.max_age,
  };
}

function selfTargetAddress(hostname: string, port: number): string {
  const host = hostname === "0.0.0.0" || hostname === "::" ? "localhost" : hostname;
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** The effective flags, for `/api/v1/status/flags`. */
function flagValues(options: PerchOptions): Record<string, string> {
  const f = options.flags ?? {};
  return {
    "config.file": options.configPath ?? "",
    "storage.data_dir": f.dataDir ?? "",
    "web.listen_address": f.listen ?? "",
    "log.level": f.logLevel ?? "",
  };
}

/** Calls `onChange` (debounced) whenever the file is written or replaced. */
function watchFile(path: string, onChange: () => void): { close(): void } | undefined {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  const base = path.slice(path.lastIndexOf("/") + 1);
  let watcher: Deno.FsWatcher;
  try {
    // Editors often replace the file, so watch its directory.
    watcher = Deno.watchFs(dir, { recursive: false });
  } catch {
    return undefined;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  (async () => {
    try {
      for await (const ev of watcher) {
        if (!ev.paths.some((p) => p.endsWith("/" + base) || p === base)) continue;
        if (ev.kind === "access") continue;
        clearTimeout(timer);
        timer = setTimeout(onChange, 250);
      }
    } catch {
      // Closed.
    }
  })();
  return {
    close() {
      // A save just before closing must not fire after it.
      clearTimeout(timer);
      watcher.close();
    },
  };
}

const HELP = `Perch ${VERSION}: metrics, dashboards and alerts in one binary.

Usage: perch [flags]

Flags:
  --config <file>       YAML config file (env PERCH_CONFIG); defaults are embedded
  --data-dir <dir>      Data directory (storage.data_dir, default ./data)
  --listen <host:port>  HTTP listen address (server.listen, default 0.0.0.0:8080)
  --log-level <level>   debug, info, warn or error (log.level)
  --check-config        Validate the configuration and exit
  --version             Print the version and exit
  --help                Show this help

Environment: PERCH_LISTEN, PERCH_DATA_DIR, PERCH_LOG_LEVEL, PERCH_RETENTION, and
PERCH_<SECTION>__<KEY> for any setting (e.g. PERCH_STORAGE__FSYNC=interval).
Reload the config with SIGHUP, POST /-/reload, or by saving the file.`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        config: { type: "string" },
        "data-dir": { type: "string" },
        listen: { type: "string" },
        "log-level": { type: "string" },
        "check-config": { type: "boolean" },
        version: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    console.error(`perch: ${e instanceof Error ? e.message : e}\n\n${HELP}`);
    return 2;
  }
  const v = args.values;
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  if (v.version) {
    console.log(`perch ${VERSION} (deno ${Deno.version.deno})`);
    return 0;
  }
  const env = Deno.env.toObject();
  const configPath = v.config ?? env.PERCH_CONFIG;
  const flags: FlagOverrides = {
    ...(v["data-dir"] !== undefined ? { dataDir: v["data-dir"] } : {}),
    ...(v.listen !== undefined ? { listen: v.listen } : {}),
    ...(v["log-level"] !== undefined ? { logLevel: v["log-level"] } : {}),
  };

  if (v["check-config"]) {
    let text: string | undefined;
    try {
      text = await readConfigText(configPath);
    } catch (e) {
      console.error(e instanceof Error ? e.message : e);
      return 1;
    }
    const r = resolveAll(text, configPath, env, flags);
    if (!r.ok) {
      console.error(`Invalid configuration:\n  ${r.errors.join("\n  ")}`);
      return 1;
    }
    for (const w of r.warnings) console.error(`warning: ${w}`);
    console.log("Configuration is valid.");
    return 0;
  }

  let perch: Perch;
  try {
    perch = await startPerch({ configPath, flags, env });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 1;
    }
    console.error(`perch: cannot start: ${e instanceof Error ? e.stack ?? e.message : e}`);
    return 1;
  }

  Deno.addSignalListener("SIGHUP", () => void perch.reload());
  const stopped = new Promise<boolean>((resolve) => {
    let stopping = false;
    const onSignal = (sig: string) => {
      if (stopping) {
        perch.logger.warn("second signal: exiting now", { signal: sig });
        Deno.exit(1);
      }
      stopping = true;
      perch.logger.info("shutting down", { signal: sig });
      perch.stop().then(resolve, () => resolve(false));
    };
    Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
    Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  });
  const clean = await stopped;
  return clean ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main());
}

/** The alert intake URLs of every `alertmanager_configs` channel, for `/api/v1/alertmanagers`. */
function alertmanagerUrls(notify: NotifyConfig): string[] {
  const urls = new Set<string>();
  for (const r of notify.receivers.values()) {
    for (const ch of r.channels) {
      if (ch.type === "alertmanager") urls.add(`${ch.url.replace(/\/+$/, "")}/api/v2/alerts`);
    }
  }
  return [...urls];
}
