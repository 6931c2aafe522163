/**
 * A running Perch: the config source, the root logger, the metric registry
 * and health checks, the {@linkcode Lifecycle} driving the components
 * `main.ts` lists, config reloads (SIGHUP, `POST /-/reload`, the file
 * watcher) and `--check-config`.
 *
 * @module
 */
import {
  type Config,
  ConfigError,
  type ConfigSource,
  flagValues,
  loadConfig,
  watchFile,
} from "./config/mod.ts";
import { type Basics, type Component, Lifecycle, type ReloadOutcome } from "./lifecycle.ts";
import { Logger, type LogLevel, type LogSink, silentLogger } from "./logging/mod.ts";
import { ReloadStatus } from "./reload_status.ts";
import {
  HealthChecks,
  processCpuSeconds,
  registerProcessMetrics,
  Registry,
} from "./selfmon/mod.ts";

/** How to start Perch. */
export interface PerchOptions extends ConfigSource {
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

/** Perch's own state, as its routes show it. */
export interface PerchInfo {
  /** The config in force. */
  readonly config: () => Config;
  readonly startedAt: Date;
  /** The effective flags, for `/api/v1/status/flags`. */
  readonly flags: Readonly<Record<string, string>>;
  readonly reload: () => Promise<ReloadOutcome>;
  readonly reloadState: () => { ok: boolean; at: Date };
  /** False until every component started. */
  readonly ready: () => boolean;
}

/** Builds the components in start order (no IO), and says where HTTP listens. */
export type BuildComponents = (
  b: Basics,
  config: Config,
  source: ConfigSource,
  info?: PerchInfo,
) => { list: Component<Config>[]; addr: () => { hostname: string; port: number } };

/**
 * How long after Perch is ready the components' `afterReady` work starts: a
 * restarted Perch answers its first health checks and queries before it
 * loads rule files.
 */
const AFTER_READY_DELAY_MS = 200;

/** Starts the components `build` lists; throws {@linkcode ConfigError} for a bad config. */
export async function startRuntime(options: PerchOptions, build: BuildComponents): Promise<Perch> {
  const source: ConfigSource = { ...options, env: options.env ?? {} };
  const first = await loadConfig(source);
  if (!first.ok) throw new ConfigError(first.errors);
  const startedAt = new Date();
  const logger = new Logger({ level: first.value.log.level as LogLevel, sink: options.logSink });
  const log = logger.child("main");
  for (const w of first.warnings ?? []) log.warn(w);
  const b = { logger, registry: new Registry(), health: new HealthChecks() };
  registerProcessMetrics(b.registry, startedAt.getTime());
  const reloads = new ReloadStatus(b.registry, b.health, startedAt);
  const onReload = (o: ReloadOutcome) => reloads.record(o);
  const lifecycle = new Lifecycle({ log, config: first.value, onReload });
  // The config file's text at the last load, accepted or not. The watcher
  // reloads only when the text differs: a save that SIGHUP or `/-/reload`
  // already loaded is not loaded, applied and logged a second time.
  let text = first.text;
  const load = async () => {
    const r = await loadConfig(source);
    text = r.text;
    return r;
  };
  const loadIfChanged = async () => {
    const before = text;
    const r = await load();
    return r.text === before ? undefined : r;
  };
  const fields = { file: options.configPath };
  const reload = () => lifecycle.reload(load, fields);
  let ready = false;
  const perch = build(b, first.value, source, {
    config: () => lifecycle.config,
    startedAt,
    flags: flagValues(source),
    reload,
    reloadState: () => reloads.state(),
    ready: () => ready,
  });
  await lifecycle.startAll(perch.list);
  const watcher = options.configPath !== undefined && options.watchConfig !== false
    ? watchFile(options.configPath, () => void lifecycle.reload(loadIfChanged, fields))
    : undefined;
  ready = true;
  const cpu = processCpuSeconds();
  log.info("ready", {
    // Since the runtime started (performance.now()'s origin), module loading included.
    startup_ms: Math.round(performance.now()),
    ...(cpu !== undefined ? { cpu_ms: Math.round(cpu * 1000) } : {}),
  });
  // Work the components left for after start-up (rule files, helper threads)
  // begins once the first requests had their turn.
  const afterReady = setTimeout(() => void lifecycle.runAfterReady(), AFTER_READY_DELAY_MS);
  return {
    get addr() {
      return perch.addr();
    },
    config: () => lifecycle.config,
    logger,
    reload,
    stop() {
      ready = false;
      clearTimeout(afterReady);
      watcher?.close();
      return lifecycle.stopAll(lifecycle.config.server.shutdown_timeout);
    },
  };
}

/** `--check-config`: every problem of every component, nothing started; the exit code. */
export async function checkConfig(source: ConfigSource, build: BuildComponents): Promise<number> {
  const r = await loadConfig(source);
  if (!r.ok) return invalid(r.errors);
  const b = { logger: silentLogger(), registry: new Registry(), health: new HealthChecks() };
  const lifecycle = new Lifecycle({ log: b.logger, config: r.value });
  const checked = lifecycle.check(build(b, r.value, source).list);
  if (!checked.ok) return invalid(checked.errors);
  for (const w of [...r.warnings ?? [], ...checked.warnings ?? []]) console.error(`warning: ${w}`);
  console.log("Configuration is valid.");
  return 0;
}

function invalid(errors: readonly string[]): number {
  console.error(`Invalid configuration:\n  ${errors.join("\n  ")}`);
  return 1;
}
