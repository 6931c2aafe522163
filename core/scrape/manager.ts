/**
 * The scrape manager: one pool per job (from `scrape_configs`, from targets
 * added through `/api/v1/scrape`, and Perch's own `perch` job), each turning
 * discovered groups into targets and running one {@linkcode ScrapeLoop} per
 * target. Reloads stop removed targets (with staleness markers), start new
 * ones and leave unchanged targets' loops running.
 *
 * @module
 */
import type { Logger } from "../logging/mod.ts";
import type { MetricMetadata } from "../model/mod.ts";
import type { Registry } from "../selfmon/mod.ts";
import {
  apiPoolConfig,
  type ApiTarget,
  apiTargetGroup,
  type ApiTargetProblem,
  deleteApiTarget,
  loadApiTargets,
  parseApiTargetInput,
  saveApiTarget,
} from "./api_targets.ts";
import { type Clock, realClock } from "./clock.ts";
import { DEFAULT_BODY_SIZE_LIMIT, type ScrapeConfig, type ScrapeGlobals } from "./config.ts";
import { FileSd } from "./file_sd.ts";
import { registerScrapeMetrics, type ScrapeMetrics } from "./metrics.ts";
import { type AppendRows, type FetchFn, ScrapeLoop, type TargetHealth } from "./scrape_loop.ts";
import { populateGroups, type Target, type TargetGroup } from "./targets.ts";

/** Self-scrape settings (`self_scrape` in the config). */
export interface SelfScrapeSettings {
  readonly enabled: boolean;
  /** ms */
  readonly interval: number;
}

/**
 * A job scraped in process rather than over HTTP, like the `perch` job: the
 * text `metrics()` returns goes through the same scrape loop (target labels,
 * `up`, staleness markers, metadata). The host collector is one.
 */
export interface InProcessJob {
  readonly job: string;
  /** The target address, which becomes the `instance` label. */
  readonly instance: string;
  /** ms */
  readonly interval: number;
  /** Exposition text in the Prometheus text format. */
  readonly metrics: () => string | Promise<string>;
}

/** Options for {@linkcode createScrapeManager}. */
export interface ScrapeManagerOptions {
  /** Resolved `scrape_configs` (see `parseScrapeConfigs`). */
  readonly configs: readonly ScrapeConfig[];
  /** The shared append pipeline, e.g. `(rows, p) => pipeline.ingest(p, rows)`. */
  readonly appendRows: AppendRows;
  /** Where run-time targets persist; without it they live in memory only. */
  readonly kv?: Deno.Kv;
  readonly logger: Logger;
  /** Gets `perch_scrape_*` metrics when given. */
  readonly registry?: Registry;
  /** @default {realClock} */
  readonly clock?: Clock;
  /** Perch's own exposition text, scraped in-process for the `perch` job. */
  readonly selfMetrics?: () => string | Promise<string>;
  /** @default {{enabled: true, interval: 15000}} */
  readonly selfScrape?: SelfScrapeSettings;
  /** The `instance` of the self-scrape target (Perch's listen address). @default {"localhost:8080"} */
  readonly selfAddress?: string;
  /** Defaults for run-time targets. @default {{scrape_interval: 15000, scrape_timeout: 10000}} */
  readonly global?: ScrapeGlobals;
  /** More in-process jobs; a configured job of the same name wins. @default {[]} */
  readonly inProcessJobs?: readonly InProcessJob[];
  /** @default {globalThis.fetch} */
  readonly fetch?: FetchFn;
}

/** A target as `/api/v1/targets` shows it. */
export interface ActiveTargetInfo {
  readonly pool: string;
  readonly discoveredLabels: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly scrapeUrl: string;
  /** ms */
  readonly interval: number;
  /** ms */
  readonly timeout: number;
  readonly health: TargetHealth;
  /** Metadata from the last scrape, by metric family. */
  readonly metadata: ReadonlyMap<string, MetricMetadata>;
}

/** A target removed by relabeling (or invalid), with the labels it was discovered with. */
export interface DroppedTargetInfo {
  readonly pool: string;
  readonly discoveredLabels: Readonly<Record<string, string>>;
}

/** Every target, active and dropped. */
export interface TargetsSnapshot {
  readonly active: ActiveTargetInfo[];
  readonly dropped: DroppedTargetInfo[];
}

/** A POST body was invalid; `problems` name the fields (HTTP 400). */
export class ApiTargetInputError extends Error {
  constructor(readonly problems: ApiTargetProblem[]) {
    super(`Invalid scrape target: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
    this.name = "ApiTargetInputError";
  }
}

/** The target clashes with an existing one or a configured job (HTTP 409). */
export class ApiTargetConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApiTargetConflictError";
  }
}

/** What {@linkcode createScrapeManager} returns. */
export interface ScrapeManager {
  /** Loads run-time targets, starts discovery and every loop. */
  start(): Promise<void>;
  /** Stops every loop and watcher (no staleness markers: Perch is going down). */
  stop(): Promise<void>;
  /** Applies new configs; unchanged jobs and targets keep running. */
  reload(
    configs: readonly ScrapeConfig[],
    options?: {
      selfScrape?: SelfScrapeSettings;
      global?: ScrapeGlobals;
      selfAddress?: string;
      inProcessJobs?: readonly InProcessJob[];
    },
  ): Promise<void>;
  /** Every target with its health. */
  targets(): TargetsSnapshot;
  /** Names of the scrape pools (jobs), sorted. */
  pools(): string[];
  /** Run-time targets. */
  listApiTargets(): ApiTarget[];
  /** Adds a run-time target; throws ApiTargetInputError / ApiTargetConflictError. */
  addApiTarget(body: unknown): Promise<ApiTarget>;
  /** Removes a run-time target; false when there is none with that id. */
  removeApiTarget(id: string): Promise<boolean>;
}

/** The job name of Perch's own metrics. */
export const SELF_JOB = "perch";

type PoolKind = "config" | "api" | "self";

/** The loop-relevant parts of a config: a loop is reused only when these are unchanged. */
function loopFingerprint(c: ScrapeConfig): string {
  return JSON.stringify({
    auth: c.auth,
    honorLabels: c.honorLabels,
    honorTimestamps: c.honorTimestamps,
    mr: c.metricRelabelConfigs.map((r) => [
      r.action,
      r.sourceLabels,
      r.separator,
      r.regex,
      r.targetLabel,
      r.replacement,
      r.modulus,
    ]),
    sampleLimit: c.sampleLimit,
    labelLimit: c.labelLimit,
    bodySizeLimit: c.bodySizeLimit,
  });
}

interface PoolDeps {
  readonly appendRows: AppendRows;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: ScrapeMetrics;
  readonly fetch?: FetchFn;
  readonly onSdError?: () => void;
}

/** The targets and loops of one job. */
class ScrapePool {
  config: ScrapeConfig;
  readonly kind: PoolKind;
  readonly #deps: PoolDeps;
  readonly #fetch: FetchFn | undefined;
  /** Groups by provider (`static`, `file_sd:<i>`, `api`). */
  readonly #groups = new Map<string, TargetGroup[]>();
  #fileSds: FileSd[] = [];
  readonly #loops = new Map<string, ScrapeLoop>();
  #dropped: Readonly<Record<string, string>>[] = [];
  #syncing: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(config: ScrapeConfig, kind: PoolKind, deps: PoolDeps, fetch?: FetchFn) {
    this.config = config;
    this.kind = kind;
    this.#deps = deps;
    this.#fetch = fetch ?? deps.fetch;
  }

  async start(): Promise<void> {
    this.#setStatic();
    await this.#startFileSds();
    await this.sync();
  }

  /** Switches to a changed config of the same job. */
  async update(config: ScrapeConfig): Promise<void> {
    await this.#stopFileSds();
    this.config = config;
    for (const k of [...this.#groups.keys()]) if (k.startsWith("file_sd:")) this.#groups.delete(k);
    this.#setStatic();
    await this.#startFileSds();
    await this.sync();
  }

  setGroups(provider: string, groups: TargetGroup[]): void {
    this.#groups.set(provider, groups);
  }

  #setStatic(): void {
    this.#groups.set(
      "static",
      this.config.staticConfigs.map((s, i) => ({
        source: `static:${i}`,
        targets: s.targets,
        labels: s.labels,
      })),
    );
  }

  async #startFileSds(): Promise<void> {
    this.#fileSds = this.config.fileSdConfigs.map((cfg, i) =>
      new FileSd({
        config: cfg,
        clock: this.#deps.clock,
        logger: this.#deps.logger,
        onError: this.#deps.onSdError,
        onUpdate: (groups) => {
          this.#groups.set(`file_sd:${i}`, groups);
          void this.sync();
        },
      })
    );
    await Promise.all(this.#fileSds.map((s) => s.start()));
  }

  async #stopFileSds(): Promise<void> {
    await Promise.all(this.#fileSds.map((s) => s.stop()));
    this.#fileSds = [];
  }

  /** Recomputes targets; starts new loops, stops (with staleness) removed ones. Serialised. */
  sync(): Promise<void> {
    this.#syncing = this.#syncing.then(() => this.#sync()).catch((e) => {
      this.#deps.logger.error("BUG: scrape pool sync failed", {
        job: this.config.jobName,
        error: e,
      });
    });
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    if (this.#stopped) return;
    const all = [...this.#groups.keys()].sort().flatMap((k) => this.#groups.get(k)!);
    const { targets, dropped, errors } = populateGroups(this.config, all);
    for (const e of errors) {
      this.#deps.logger.warn("invalid scrape target", { job: this.config.jobName, error: e });
    }
    this.#dropped = dropped;
    const fp = loopFingerprint(this.config);
    const wanted = new Map<string, Target>();
    for (const t of targets) wanted.set(t.key + "\u0000" + fp, t);
    const stopping: Promise<void>[] = [];
    for (const [key, loop] of this.#loops) {
      if (!wanted.has(key)) {
        this.#loops.delete(key);
        stopping.push(loop.stop({ stale: true }));
      }
    }
    for (const [key, t] of wanted) {
      if (this.#loops.has(key)) continue;
      const loop = new ScrapeLoop({
        target: t,
        config: this.config,
        appendRows: this.#deps.appendRows,
        clock: this.#deps.clock,
        logger: this.#deps.logger,
        fetch: this.#fetch,
        metrics: this.#deps.metrics,
      });
      this.#loops.set(key, loop);
      loop.start();
    }
    await Promise.all(stopping);
  }

  /** Stops everything; `stale` writes end-of-series markers (job removed, not shutdown). */
  async stop(stale: boolean): Promise<void> {
    this.#stopped = true;
    await this.#stopFileSds();
    await this.#syncing;
    const loops = [...this.#loops.values()];
    this.#loops.clear();
    await Promise.all(loops.map((l) => l.stop({ stale })));
  }

  loops(): ScrapeLoop[] {
    return [...this.#loops.values()];
  }

  dropped(): Readonly<Record<string, string>>[] {
    return this.#dropped;
  }
}

/**
 * Creates the scrape manager. Nothing runs until `start()`.
 *
 * @example
 * ```ts
 * const scrape = createScrapeManager({
 *   configs, logger, registry, kv,
 *   appendRows: (rows, p) => pipeline.ingest(p, rows),
 *   selfMetrics: () => registry.collect(),
 * });
 * await scrape.start();
 * ```
 */
export function createScrapeManager(opts: ScrapeManagerOptions): ScrapeManager {
  const clock = opts.clock ?? realClock;
  const logger = opts.logger.child("scrape");
  const metrics = opts.registry ? registerScrapeMetrics(opts.registry) : undefined;
  const sdErrors = opts.registry?.counter({
    name: "perch_scrape_sd_file_errors_total",
    help: "Failed reads or parses of file_sd files.",
  });
  const deps: PoolDeps = {
    appendRows: opts.appendRows,
    clock,
    logger,
    metrics,
    fetch: opts.fetch,
    onSdError: () => sdErrors?.inc(),
  };
  let configs = [...opts.configs];
  let selfScrape: SelfScrapeSettings = opts.selfScrape ?? { enabled: true, interval: 15_000 };
  let global: ScrapeGlobals = opts.global ?? { scrape_interval: 15_000, scrape_timeout: 10_000 };
  let selfAddress = opts.selfAddress ?? "localhost:8080";
  let inProcessJobs: readonly InProcessJob[] = opts.inProcessJobs ?? [];
  const pools = new Map<string, ScrapePool>();
  const apiTargets = new Map<string, ApiTarget>();
  let started = false;
  let op: Promise<unknown> = Promise.resolve();

  /** Runs manager operations one at a time. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = op.then(fn);
    op = p.catch(() => {});
    return p;
  }

  opts.registry?.collected("gauge", {
    name: "perch_scrape_targets",
    help: "Scrape targets by job and health (up, down, unknown).",
    labelNames: ["job", "health"],
  }, () => {
    const counts = new Map<string, number>();
    for (const [job, pool] of pools) {
      for (const h of ["up", "down", "unknown"]) counts.set(`${job}\u0000${h}`, 0);
      for (const l of pool.loops()) {
        const k = `${job}\u0000${l.health.health}`;
        counts.set(k, counts.get(k)! + 1);
      }
    }
    return [...counts].map(([k, value]) => {
      const [job, health] = k.split("\u0000");
      return { labels: { job: job!, health: health! }, value };
    });
  });

  function inProcessConfig(job: string, interval: number): ScrapeConfig {
    const base = apiPoolConfig(job, {
      scrape_interval: interval,
      scrape_timeout: Math.min(10_000, interval),
    });
    return {
      ...base,
      bodySizeLimit: DEFAULT_BODY_SIZE_LIMIT,
      fingerprint: `self\u0000${interval}`,
    };
  }

  function inProcessFetch(fn: (() => string | Promise<string>) | undefined): FetchFn | undefined {
    if (!fn) return undefined;
    return async () =>
      new Response(await fn(), { headers: { "content-type": "text/plain; version=0.0.4" } });
  }

  function apiGroupsByJob(): Map<string, TargetGroup[]> {
    const byJob = new Map<string, TargetGroup[]>();
    for (const t of apiTargets.values()) {
      const list = byJob.get(t.job) ?? [];
      list.push(apiTargetGroup(t, global));
      byJob.set(t.job, list);
    }
    return byJob;
  }

  /** Brings the pools in line with configs, self-scrape and run-time targets. */
  async function apply(): Promise<void> {
    const desired = new Map<
      string,
      { config: ScrapeConfig; kind: PoolKind; groups?: TargetGroup[]; fetch?: FetchFn }
    >();
    for (const c of configs) desired.set(c.jobName, { config: c, kind: "config" });
    if (selfScrape.enabled && !desired.has(SELF_JOB)) {
      desired.set(SELF_JOB, {
        config: inProcessConfig(SELF_JOB, selfScrape.interval),
        kind: "self",
        groups: [{ source: "self", targets: [selfAddress], labels: {} }],
        fetch: inProcessFetch(opts.selfMetrics),
      });
    }
    for (const j of inProcessJobs) {
      if (desired.has(j.job)) {
        logger.info("built-in job not started: a scrape config uses its job name", { job: j.job });
        continue;
      }
      desired.set(j.job, {
        config: inProcessConfig(j.job, j.interval),
        kind: "self",
        groups: [{ source: "self", targets: [j.instance], labels: {} }],
        fetch: inProcessFetch(j.metrics),
      });
    }
    for (const [job, groups] of apiGroupsByJob()) {
      if (desired.has(job)) {
        logger.warn("run-time scrape targets ignored: their job is configured", { job });
        continue;
      }
      desired.set(job, { config: apiPoolConfig(job, global), kind: "api", groups });
    }
    const work: Promise<void>[] = [];
    for (const [job, pool] of pools) {
      const d = desired.get(job);
      if (!d || d.kind !== pool.kind) {
        pools.delete(job);
        work.push(pool.stop(true));
      }
    }
    await Promise.all(work);
    const starting: Promise<void>[] = [];
    for (const [job, d] of desired) {
      let pool = pools.get(job);
      if (pool === undefined) {
        pool = new ScrapePool(d.config, d.kind, deps, d.fetch);
        pools.set(job, pool);
        if (d.groups) pool.setGroups("api", d.groups);
        starting.push(pool.start());
        continue;
      }
      if (d.groups) pool.setGroups("api", d.groups);
      if (pool.config.fingerprint !== d.config.fingerprint) starting.push(pool.update(d.config));
      else if (d.groups) starting.push(pool.sync());
    }
    await Promise.all(starting);
  }

  function targets(): TargetsSnapshot {
    const active: ActiveTargetInfo[] = [];
    const dropped: DroppedTargetInfo[] = [];
    for (const job of [...pools.keys()].sort()) {
      const pool = pools.get(job)!;
      const loops = pool.loops().sort((a, b) => a.target.url < b.target.url ? -1 : 1);
      for (const l of loops) {
        active.push({
          pool: job,
          discoveredLabels: l.target.discoveredLabels,
          labels: l.target.labels,
          scrapeUrl: l.target.url,
          interval: l.target.interval,
          timeout: l.target.timeout,
          health: l.health,
          metadata: l.metadata,
        });
      }
      for (const d of pool.dropped()) dropped.push({ pool: job, discoveredLabels: d });
    }
    return { active, dropped };
  }

  return {
    start: () =>
      serial(async () => {
        if (started) throw new Error("BUG: scrape manager started twice");
        started = true;
        if (opts.kv) {
          for (const t of await loadApiTargets(opts.kv)) apiTargets.set(t.id, t);
        }
        await apply();
        logger.info("scraping started", { jobs: pools.size, targets: targets().active.length });
      }),
    stop: () =>
      serial(async () => {
        const all = [...pools.values()];
        pools.clear();
        started = false;
        await Promise.all(all.map((p) => p.stop(false)));
      }),
    reload: (next, options = {}) =>
      serial(async () => {
        configs = [...next];
        if (options.selfScrape) selfScrape = options.selfScrape;
        if (options.global) global = options.global;
        if (options.selfAddress) selfAddress = options.selfAddress;
        if (options.inProcessJobs) inProcessJobs = options.inProcessJobs;
        if (started) await apply();
      }),
    targets,
    pools: () => [...pools.keys()].sort(),
    listApiTargets: () => [...apiTargets.values()],
    addApiTarget: (body) =>
      serial(async () => {
        const r = parseApiTargetInput(body, global);
        if ("errors" in r) throw new ApiTargetInputError(r.errors);
        const spec = r.spec;
        if (
          configs.some((c) => c.jobName === spec.job) ||
          (spec.job === SELF_JOB && selfScrape.enabled) ||
          inProcessJobs.some((j) => j.job === spec.job)
        ) {
          throw new ApiTargetConflictError(`job "${spec.job}" is defined in the configuration`);
        }
        for (const t of apiTargets.values()) {
          if (t.job === spec.job && t.url === spec.url) {
            throw new ApiTargetConflictError(
              `target ${spec.url} of job "${spec.job}" already exists (id ${t.id})`,
            );
          }
        }
        const t: ApiTarget = { ...spec, id: crypto.randomUUID(), createdAt: clock.now() };
        if (opts.kv) await saveApiTarget(opts.kv, t);
        apiTargets.set(t.id, t);
        if (started) await apply();
        return t;
      }),
    removeApiTarget: (id) =>
      serial(async () => {
        if (!apiTargets.has(id)) return false;
        if (opts.kv) await deleteApiTarget(opts.kv, id);
        apiTargets.delete(id);
        if (started) await apply();
        return true;
      }),
  };
}
