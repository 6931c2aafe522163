/**
 * The component contract and the {@linkcode Lifecycle} that drives it:
 * check every component's config section, start in order, reload
 * all-or-nothing, stop in reverse within a deadline.
 *
 * @module
 */
import { ConfigError } from "./config/mod.ts";
import type { Logger } from "./logging/mod.ts";
import type { HealthChecks, Registry } from "./selfmon/mod.ts";

/** What every component factory gets: where to log, register metrics and health checks. */
export interface Basics {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health: HealthChecks;
}

/** A component's own view of the config, or every problem in its section (each with its path). */
export type Checked<T> =
  | { readonly ok: true; readonly value: T; readonly warnings?: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * One part of Perch. A module's `mod.ts` exports a factory that takes the
 * component's dependencies (other components, the logger, the metric
 * registry, the health checks) and returns one of these. The factory does no
 * IO: it registers metrics and health checks and keeps its dependencies;
 * what needs IO or another component's running state happens in `start`.
 *
 * The config goes through the component twice: `section` parses and
 * validates the part the component owns into the value it works with (no
 * side effects, so a config can be checked without running anything), then
 * `start` or `apply` receives that value.
 *
 * @typeParam C The whole config.
 * @typeParam S The component's section of it (the whole config when there is no `section`).
 */
export interface Component<C = unknown, S = unknown> {
  /** Unique name, used in logs and health checks. */
  readonly name: string;
  /**
   * Config paths read only at start (`"storage.retention"`; `"storage.*"` for
   * every key of a section): a reload that changes one logs that it needs a
   * restart, and the component keeps running with the old value.
   */
  readonly restartOnly?: readonly string[];
  /** Parses and validates this component's section of `config`; no side effects. */
  section?(config: C): Checked<S>;
  /** Starts the component; resolves when it is ready for the next one. */
  start(section: S): Promise<void>;
  /** Stops the component, flushing what must be flushed. */
  stop(): Promise<void>;
  /**
   * Applies the section of a reloaded config that every component accepted.
   * Without `apply` the component ignores reloads. A throw is logged; the
   * other components still apply the new config.
   */
  apply?(section: S): void | Promise<void>;
  /**
   * Work that can wait until Perch is ready (every component started, HTTP
   * answering): run once shortly after start-up, in start order, without
   * delaying readiness (loading rule files, helper threads). A component
   * whose routes need this work done waits for it itself. A throw is logged;
   * `stopAll` waits for work in progress.
   */
  afterReady?(): Promise<void>;
}

/**
 * `value`, which the component `name` sets in `start`: read before that (by
 * a component started earlier, say), it is a bug, and this throws.
 */
export function started<T>(name: string, value: T | undefined): T {
  if (value === undefined) throw new Error(`BUG: ${name} used before it started`);
  return value;
}

/**
 * Work a component leaves for after start-up: begun by its `afterReady` or
 * by its first use, whichever comes first, and done once.
 */
export class LoadOnce {
  #done: Promise<void> | undefined;

  constructor(readonly work: () => Promise<void>) {}

  /** Begins the work (the first time) and resolves when it is done. */
  run(): Promise<void> {
    return this.#done ??= this.work();
  }

  /** Resolves once work begun is over (at once when it never began); never rejects. */
  settled(): Promise<void> {
    return this.#done?.catch(() => {}) ?? Promise.resolve();
  }
}

/** The outcome of {@linkcode Lifecycle.reload}. */
export type ReloadOutcome =
  | { readonly ok: true; readonly restart: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Options for {@linkcode Lifecycle}. */
export interface LifecycleOptions<C> {
  readonly log: Logger;
  /** The start config. */
  readonly config: C;
  /** Called after each reload attempt (metrics, health). */
  readonly onReload?: (outcome: ReloadOutcome) => void;
}

/**
 * Starts components in order, reloads them all-or-nothing, stops them in
 * reverse. Reloads run one at a time (signals, the HTTP endpoint and a file
 * watcher may overlap) and none once `stopAll` has begun.
 */
export class Lifecycle<C> {
  readonly #components: Component<C>[] = [];
  readonly #started: Component<C>[] = [];
  readonly #log: Logger;
  readonly #onReload: (outcome: ReloadOutcome) => void;
  #config: C;
  #stopping = false;
  #reloads: Promise<unknown> = Promise.resolve();
  #afterReady: Promise<void> | undefined;

  constructor(options: LifecycleOptions<C>) {
    this.#log = options.log;
    this.#config = options.config;
    this.#onReload = options.onReload ?? (() => {});
  }

  /** The config in force: the start config, then each accepted reload. */
  get config(): C {
    return this.#config;
  }

  /**
   * Checks `config` (the one in force when not given) against every
   * component's section: every problem of every component, or each
   * component's section value (in order).
   */
  check(components: readonly Component<C>[], config: C = this.#config): Checked<unknown[]> {
    const errors: string[] = [];
    const warnings: string[] = [];
    const values: unknown[] = [];
    for (const c of components) {
      const r = c.section ? c.section(config) : { ok: true as const, value: config };
      if (!r.ok) errors.push(...r.errors);
      else {
        values.push(r.value);
        if (r.warnings) warnings.push(...r.warnings);
      }
    }
    return errors.length > 0 ? { ok: false, errors } : { ok: true, value: values, warnings };
  }

  /**
   * Checks the start config against every component, then starts them in
   * order. Throws {@linkcode ConfigError} with every problem before
   * anything starts. When a start fails, the components already started are
   * stopped and the error is rethrown.
   */
  async startAll(components: readonly Component<C>[]): Promise<void> {
    const checked = this.check(components, this.#config);
    if (!checked.ok) throw new ConfigError(checked.errors);
    for (const w of checked.warnings ?? []) this.#log.warn(w);
    for (let i = 0; i < components.length; i++) {
      await this.#start(components[i]!, checked.value[i]);
    }
  }

  /** Starts `c` with its section; on failure stops what started and rethrows. */
  async #start(c: Component<C>, section: unknown): Promise<void> {
    if (this.#components.some((s) => s.name === c.name)) {
      throw new Error(`BUG: component ${c.name} started twice`);
    }
    this.#components.push(c);
    const t0 = performance.now();
    try {
      await c.start(section);
    } catch (e) {
      this.#log.error("component failed to start", { name: c.name, error: e });
      await this.stopAll(10_000);
      throw e;
    }
    this.#started.push(c);
    this.#log.info("component started", {
      name: c.name,
      duration_ms: Math.round(performance.now() - t0),
    });
  }

  /**
   * Loads a new config and hands it to every component, all-or-nothing:
   * when loading fails or any component rejects its section, nothing is
   * applied and the old config stays in force. `fields` go on the log line.
   * A `load` that resolves undefined found nothing new to load: nothing is
   * checked, applied, counted or logged, and the reload resolves undefined.
   */
  reload(load: () => Promise<Checked<C>>, fields?: Record<string, unknown>): Promise<ReloadOutcome>;
  reload(
    load: () => Promise<Checked<C> | undefined>,
    fields?: Record<string, unknown>,
  ): Promise<ReloadOutcome | undefined>;
  reload(
    load: () => Promise<Checked<C> | undefined>,
    fields: Record<string, unknown> = {},
  ): Promise<ReloadOutcome | undefined> {
    const r = this.#reloads.then(() =>
      this.#stopping
        ? { ok: false as const, errors: ["Perch is stopping; the config was not reloaded"] }
        : this.#reloadNow(load, fields)
    );
    this.#reloads = r.catch(() => {});
    return r;
  }

  async #reloadNow(
    load: () => Promise<Checked<C> | undefined>,
    fields: Record<string, unknown>,
  ): Promise<ReloadOutcome | undefined> {
    let loaded: Checked<C> | undefined;
    try {
      loaded = await load();
    } catch (e) {
      loaded = { ok: false, errors: [e instanceof Error ? e.message : String(e)] };
    }
    if (loaded === undefined) return undefined;
    if (!loaded.ok) return this.#rejected(loaded.errors);
    for (const w of loaded.warnings ?? []) this.#log.warn(w);
    const next = loaded.value;
    const components = this.#components;
    const checked = this.check(components, next);
    if (!checked.ok) return this.#rejected(checked.errors);
    for (const w of checked.warnings ?? []) this.#log.warn(w);
    const restart = [
      ...new Set(components.flatMap((c) => changedPaths(this.#config, next, c.restartOnly))),
    ];
    if (restart.length > 0) {
      this.#log.warn("config changes that need a restart were not applied", { fields: restart });
    }
    this.#config = next;
    for (let i = 0; i < components.length; i++) {
      const c = components[i]!;
      try {
        await c.apply?.(checked.value[i]);
      } catch (e) {
        this.#log.error("a component failed to apply the new config", { name: c.name, error: e });
      }
    }
    const outcome = { ok: true as const, restart };
    this.#onReload(outcome);
    this.#log.info("config reloaded", fields);
    return outcome;
  }

  #rejected(errors: readonly string[]): ReloadOutcome {
    const outcome = { ok: false as const, errors };
    this.#onReload(outcome);
    this.#log.error("config reload rejected; keeping the previous config", { errors });
    return outcome;
  }

  /**
   * Runs the `afterReady` work of every started component once, one after
   * another in start order; nothing once `stopAll` has begun.
   */
  runAfterReady(): Promise<void> {
    return this.#afterReady ??= (async () => {
      for (const c of [...this.#started]) {
        if (this.#stopping) return;
        try {
          await c.afterReady?.();
        } catch (e) {
          this.#log.error("a component failed its work after start-up", { name: c.name, error: e });
        }
      }
    })();
  }

  /**
   * Stops every started component in reverse order, after the reload and
   * the after-start-up work in progress (neither starts any more). Each stop runs even if an earlier
   * one failed; the whole sequence gives up after `timeoutMs` and resolves
   * false.
   */
  async stopAll(timeoutMs: number): Promise<boolean> {
    this.#stopping = true;
    await this.#reloads;
    await this.#afterReady;
    const deadline = Date.now() + timeoutMs;
    let clean = true;
    while (this.#started.length > 0) {
      const c = this.#started.pop()!;
      const left = deadline - Date.now();
      if (left <= 0) {
        this.#log.error("shutdown timed out", {
          remaining: [c.name, ...this.#started.map((s) => s.name)],
        });
        this.#started.length = 0;
        return false;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const done = await Promise.race([
          c.stop().then(() => true),
          new Promise<boolean>((r) => timer = setTimeout(() => r(false), left)),
        ]);
        if (!done) {
          this.#log.error("component did not stop in time", { name: c.name });
          clean = false;
        } else {
          this.#log.info("component stopped", { name: c.name });
        }
      } catch (e) {
        clean = false;
        this.#log.error("component failed to stop", { name: c.name, error: e });
      } finally {
        clearTimeout(timer);
      }
    }
    return clean;
  }
}

/**
 * Serves signals until stopped: SIGHUP reloads, the first SIGINT or SIGTERM
 * stops (a second one exits at once). Resolves whether the stop was clean.
 */
export function untilStopped(
  target: { reload(): Promise<unknown>; stop(): Promise<boolean>; readonly logger: Logger },
): Promise<boolean> {
  Deno.addSignalListener("SIGHUP", () => void target.reload());
  return new Promise<boolean>((resolve) => {
    let stopping = false;
    const onSignal = (sig: string) => {
      if (stopping) {
        target.logger.warn("second signal: exiting now", { signal: sig });
        Deno.exit(1);
      }
      stopping = true;
      target.logger.info("shutting down", { signal: sig });
      target.stop().then(resolve, () => resolve(false));
    };
    Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
    Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  });
}

/**
 * The `paths` whose values differ between two configs; a path ending in `.*`
 * stands for every key of that section (each reported on its own).
 */
export function changedPaths(
  before: unknown,
  after: unknown,
  paths: readonly string[] = [],
): string[] {
  const out: string[] = [];
  for (const path of paths) {
    if (path.endsWith(".*")) {
      const base = path.slice(0, -2);
      const a = valueAt(before, base) ?? {};
      const b = valueAt(after, base) ?? {};
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of keys) {
        if (!sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) {
          out.push(`${base}.${k}`);
        }
      }
    } else if (!sameValue(valueAt(before, path), valueAt(after, path))) {
      out.push(path);
    }
  }
  return out;
}

function valueAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of path.split(".")) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
