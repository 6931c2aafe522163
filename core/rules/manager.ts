/**
 * The rule manager: loads rule files and API threshold rules, runs one
 * {@linkcode GroupRunner} per group, restores alert state from Deno KV on
 * start (reconciled with the current rules), and serves the API's reads and
 * threshold-rule writes.
 *
 * @example
 * ```ts
 * const rules = createRuleManager({ kv, query: engineQueryFunc(engine), appender, sink, logger,
 *   registry, ruleFiles: config.rule_files, evaluationIntervalMs: config.global.evaluation_interval,
 *   externalURL: config.server.external_url });
 * await rules.start();
 * ```
 *
 * @module
 */
import type { AlertInstance, AlertSink, Appender, NativeHistogram } from "../model/mod.ts";
import type { Logger } from "../logging/mod.ts";
import type { Registry } from "../selfmon/mod.ts";
import type { Expr } from "../promql/mod.ts";
import {
  type AlertRecord,
  DEFAULT_STEP_CONTEXT,
  type QuerySample,
  resolveAll,
  type StepContext,
  type Transition,
} from "./alert_state.ts";
import { type Clock, realClock } from "./clock.ts";
import { RuleConflictError, RuleNotFoundError, RuleValidationError } from "./errors.ts";
import {
  GroupRunner,
  type QueryFunc,
  type RuleMetrics,
  type RuleStatus,
  stepAlertsWithQueries,
} from "./group.ts";
import { loadRuleFiles } from "./loader.ts";
import { type AlertingRule, formatRuleError, type Rule, type RuleGroup } from "./rule.ts";
import { RuleStore } from "./store.ts";
import {
  normaliseThresholdRule,
  parseThresholdRule,
  type ThresholdRule,
  thresholdWarnings,
} from "./threshold.ts";

/** Options of {@linkcode createRuleManager}. */
export interface RuleManagerOptions {
  readonly kv: Deno.Kv;
  readonly query: QueryFunc;
  readonly appender: Appender;
  readonly sink: AlertSink;
  readonly logger: Logger;
  readonly registry: Registry;
  /** @default the wall clock */
  readonly clock?: Clock;
  /** Paths and globs of rule files. */
  readonly ruleFiles: readonly string[];
  /** Interval of groups and threshold rules that set none, ms. */
  readonly evaluationIntervalMs: number;
  /** Perch's external URL, for generator links and `$externalURL`. @default "" */
  readonly externalURL?: string;
  /** `global.external_labels`, for `$externalLabels`. @default {} */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** A firing alert is re-put at most this often, ms. @default 60000 */
  readonly resendDelayMs?: number;
  /** Flapping window, ms. @default 600000 */
  readonly flapWindowMs?: number;
  /** More changes than this within the window is flapping. @default 5 */
  readonly flapMaxChanges?: number;
  /** How long resolved instances are kept, ms. @default 900000 */
  readonly resolvedRetentionMs?: number;
  /** Reads a rule file. @default Deno.readTextFile */
  readonly readFile?: (path: string) => Promise<string>;
}

/** The outcome of loading rules: ok, or every problem (the old rules stay). */
export interface ReloadResult {
  readonly ok: boolean;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

/** One rule with its health and (for alerting rules) its instances. */
export interface RuleInfo {
  readonly rule: Rule;
  readonly status: Readonly<RuleStatus>;
  readonly alerts: readonly AlertRecord[];
}

/** One group as the API shows it. */
export interface GroupInfo {
  readonly name: string;
  readonly file: string;
  readonly intervalMs: number;
  readonly limit: number;
  readonly lastEvaluation: number;
  readonly evaluationTimeMs: number;
  readonly rules: readonly RuleInfo[];
}

/** A pending or firing alert with its rule. */
export interface ActiveAlert extends AlertRecord {
  readonly ruleName: string;
}

/** Where a threshold rule comes from. */
export interface ThresholdRuleInfo {
  readonly rule: ThresholdRule;
  /** `"api"` or the rule file. */
  readonly source: string;
}

/** What `POST /api/v1/alerts/<id>/test` returns: what would happen now, nothing changed. */
export interface RuleTestResult {
  readonly time: number;
  readonly samples: readonly QuerySample[];
  /** Instances after this evaluation (pending, firing and resolved). */
  readonly alerts: readonly AlertRecord[];
  readonly transitions: readonly Transition[];
  /** Alerts that would be handed to delivery. */
  readonly wouldNotify: readonly AlertInstance[];
  readonly error?: string;
}

/** The rule manager. */
export interface RuleManager {
  /** Loads rules and state, resolves alerts of removed rules, starts every group. */
  start(): Promise<ReloadResult>;
  /** Stops every group, waiting for evaluations in progress. */
  stop(): Promise<void>;
  /** Loads rule files again (optionally new paths); on any error keeps the old rules. */
  reload(ruleFiles?: readonly string[]): Promise<ReloadResult>;
  groups(): GroupInfo[];
  /** Pending and firing alerts. */
  alerts(): ActiveAlert[];
  listThresholdRules(): ThresholdRuleInfo[];
  getThresholdRule(id: string): ThresholdRuleInfo;
  /** Validates and stores an API threshold rule; throws typed errors. */
  createThresholdRule(input: unknown): Promise<ThresholdRule>;
  updateThresholdRule(id: string, input: unknown): Promise<ThresholdRule>;
  deleteThresholdRule(id: string): Promise<void>;
  /** Evaluates a threshold rule now against a copy of its state. */
  testThresholdRule(id: string): Promise<RuleTestResult>;
  /** Evaluates every group once at `now` (tests, `promtool`-like checks); respects no-overlap. */
  evaluateAll(now: number): Promise<void>;
}

function createMetrics(registry: Registry, runners: () => Iterable<GroupRunner>): RuleMetrics {
  const l = ["rule_group"];
  const m: RuleMetrics = {
    lastDuration: registry.gauge({
      name: "perch_rule_group_last_duration_seconds",
      help: "Duration of the last evaluation of the rule group.",
      labelNames: l,
    }),
    lastEvaluation: registry.gauge({
      name: "perch_rule_group_last_evaluation_timestamp_seconds",
      help: "Timestamp of the last evaluation of the rule group.",
      labelNames: l,
    }),
    interval: registry.gauge({
      name: "perch_rule_group_interval_seconds",
      help: "Evaluation interval of the rule group.",
      labelNames: l,
    }),
    evaluations: registry.counter({
      name: "perch_rule_evaluations_total",
      help: "Rule evaluations.",
      labelNames: l,
    }),
    failures: registry.counter({
      name: "perch_rule_evaluation_failures_total",
      help: "Rule evaluations that failed.",
      labelNames: l,
    }),
    iterations: registry.counter({
      name: "perch_rule_group_iterations_total",
      help: "Scheduled evaluations of the rule group.",
      labelNames: l,
    }),
    missed: registry.counter({
      name: "perch_rule_group_iterations_missed_total",
      help: "Evaluations skipped because the previous one took longer than the interval.",
      labelNames: l,
    }),
    templateErrors: registry.counter({
      name: "perch_rule_template_errors_total",
      help: "Alert label or annotation templates that failed to render (raw text used).",
      labelNames: l,
    }),
    sinkFailures: registry.counter({
      name: "perch_rule_alert_sink_failures_total",
      help: "Failed hand-overs of alerts to delivery (retried at the next evaluation).",
    }),
  };
  registry.collected("gauge", {
    name: "perch_rule_alerts",
    help: "Alert instances by state.",
    labelNames: ["state"],
  }, () => {
    const n = { pending: 0, firing: 0, resolved: 0 };
    for (const r of runners()) {
      for (const m of r.alerts.values()) for (const a of m.values()) n[a.state]++;
    }
    return Object.entries(n).map(([state, value]) => ({ labels: { state }, value }));
  });
  return m;
}

/** Creates the rule manager; nothing runs before `start()`. */
export function createRuleManager(opts: RuleManagerOptions): RuleManager {
  const clock = opts.clock ?? realClock;
  const logger = opts.logger;
  const store = new RuleStore(opts.kv);
  const externalURL = opts.externalURL ?? "";
  const step: StepContext = {
    ...DEFAULT_STEP_CONTEXT,
    externalLabels: opts.externalLabels ?? {},
    externalURL,
    flapWindowMs: opts.flapWindowMs ?? DEFAULT_STEP_CONTEXT.flapWindowMs,
    flapMaxChanges: opts.flapMaxChanges ?? DEFAULT_STEP_CONTEXT.flapMaxChanges,
    resolvedRetentionMs: opts.resolvedRetentionMs ?? DEFAULT_STEP_CONTEXT.resolvedRetentionMs,
  };
  let runners = new Map<string, GroupRunner>();
  const metrics = createMetrics(opts.registry, () => runners.values());
  const deps = {
    query: opts.query,
    appender: opts.appender,
    sink: opts.sink,
    store,
    logger,
    metrics,
    clock,
    step,
    externalURL,
    resendDelayMs: opts.resendDelayMs ?? 60_000,
  };
  let ruleFiles = [...opts.ruleFiles];
  let fileGroups: RuleGroup[] = [];
  let fileThresholds: ThresholdRule[] = [];
  const api = new Map<string, ThresholdRule>();
  /** Alert state of rules not loaded because the rule files had errors at start. */
  const parked = new Map<string, Map<string, AlertRecord>>();
  let started = false;
  /** True while the rule files have failed to load since start (no good load yet). */
  let filesBroken = false;
  let lock: Promise<unknown> = Promise.resolve();

  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = lock.then(fn);
    lock = run.catch(() => {});
    return run;
  }

  function apiGroups(): RuleGroup[] {
    const out: RuleGroup[] = [];
    for (const r of api.values()) {
      const n = normaliseThresholdRule(r, {
        file: "api",
        defaultIntervalMs: opts.evaluationIntervalMs,
      });
      if (n.ok) out.push(n.group);
      else logger.error("Stored alert rule is invalid; skipped", { id: r.id, errors: n.errors });
    }
    return out;
  }

  /** Resolves (and hands over once) alerts whose rule is gone, then forgets them. */
  async function resolveOrphans(orphans: Map<string, Map<string, AlertRecord>>): Promise<void> {
    if (orphans.size === 0) return;
    const now = clock.now();
    const out: AlertInstance[] = [];
    const all: AlertRecord[] = [];
    for (const [ruleKey, recs] of orphans) {
      const ts = resolveAll(recs, now);
      for (const t of ts) {
        all.push(t.record);
        const r = t.record;
        if (r.state === "resolved" && r.sent !== "resolved") {
          out.push({
            fingerprint: r.fingerprint,
            labels: r.labels,
            annotations: r.annotations,
            startsAt: r.firedAt,
            endsAt: r.resolvedAt,
            generatorURL: externalURL,
            value: r.value,
            flapping: r.flapping,
          });
        }
      }
      logger.info("Alerts of a removed rule resolved", {
        rule: ruleKey.split("\u001f").join(" "),
        count: ts.length,
      });
    }
    // The resolution is durable first; the records are forgotten once handed over.
    await store.write(all.filter((r) => r.state === "resolved"));
    if (out.length > 0) {
      try {
        await opts.sink.put(out, now);
      } catch (e) {
        metrics.sinkFailures.inc();
        logger.error(
          "Cannot hand resolved alerts of removed rules to delivery; kept for next start",
          {
            error: e instanceof Error ? e.message : String(e),
          },
        );
        return;
      }
    }
    await store.write([], all);
  }

  /**
   * Replaces the runners with ones for the current rules, carrying state by
   * rule key. Alerts of rules that are gone are resolved, unless the rule
   * files failed to load since start: then they are parked, untouched,
   * until a good load, so a typo never resolves every alert.
   */
  async function apply(state: Map<string, Map<string, AlertRecord>>): Promise<void> {
    const reconcile = !filesBroken;
    for (const [k, m] of parked) if (!state.has(k)) state.set(k, m);
    parked.clear();
    const groups = [...fileGroups, ...apiGroups()];
    const next = new Map<string, GroupRunner>();
    for (const g of groups) {
      const runner = new GroupRunner(g, deps);
      const old = runners.get(runner.key);
      for (const rule of g.rules) {
        const st = old?.status.get(rule.key);
        if (st) runner.status.set(rule.key, st);
        if (rule.kind !== "alerting") continue;
        const recs = state.get(rule.key);
        if (recs) {
          runner.alerts.set(rule.key, recs);
          state.delete(rule.key);
        }
      }
      if (old) {
        runner.lastEvaluation = old.lastEvaluation;
        runner.evaluationTimeMs = old.evaluationTimeMs;
      }
      next.set(runner.key, runner);
    }
    runners = next;
    if (reconcile) await resolveOrphans(state);
    else for (const [k, m] of state) parked.set(k, m);
    if (started) { for (const r of runners.values()) r.start(); }
  }

  /** Stops the runners and returns their alert state by rule key. */
  async function detach(): Promise<Map<string, Map<string, AlertRecord>>> {
    await Promise.all([...runners.values()].map((r) => r.stop()));
    const state = new Map<string, Map<string, AlertRecord>>();
    for (const r of runners.values()) for (const [k, m] of r.alerts) state.set(k, m);
    return state;
  }

  async function loadFiles(files: readonly string[]): Promise<
    { ok: true; groups: RuleGroup[]; thresholds: ThresholdRule[]; warnings: string[] } | {
      ok: false;
      errors: string[];
      warnings: string[];
    }
  > {
    const res = await loadRuleFiles(files, {
      defaultIntervalMs: opts.evaluationIntervalMs,
      readFile: opts.readFile,
    });
    const warnings = res.warnings.map(formatRuleError);
    const errors = res.errors.map(formatRuleError);
    for (const t of res.thresholdRules) {
      if (api.has(t.id)) errors.push(`alert rule id "${t.id}" is also defined through the API`);
    }
    if (errors.length > 0) return { ok: false, errors, warnings };
    return { ok: true, groups: res.groups, thresholds: res.thresholdRules, warnings };
  }

  function findThreshold(id: string): ThresholdRuleInfo | undefined {
    const a = api.get(id);
    if (a) return { rule: a, source: "api" };
    const f = fileThresholds.find((t) => t.id === id);
    if (f) {
      const g = fileGroups.find((g) => g.name === `threshold/${id}`);
      return { rule: f, source: g?.file ?? "file" };
    }
    return undefined;
  }

  function validate(input: unknown, id?: string): ThresholdRule {
    const parsed = parseThresholdRule(input);
    if (!parsed.ok) throw new RuleValidationError(parsed.errors);
    if (id !== undefined) {
      if (parsed.spec.id !== undefined && parsed.spec.id !== id) {
        throw new RuleValidationError([{
          field: "id",
          message: `must be "${id}" (the URL's id) or absent`,
        }]);
      }
      parsed.spec.id = id;
    }
    const n = normaliseThresholdRule(parsed.spec, {
      file: "api",
      defaultIntervalMs: opts.evaluationIntervalMs,
    });
    if (!n.ok) throw new RuleValidationError(n.errors);
    for (const w of thresholdWarnings(n.rule)) {
      logger.warn("Alert rule warning", { id: n.rule.id, warning: w });
    }
    return n.rule;
  }

  const manager: RuleManager = {
    start: () =>
      serial(async () => {
        if (started) throw new Error("rule manager already running");
        for (const r of await store.loadThresholdRules()) api.set(r.id, r);
        const loaded = await loadFiles(ruleFiles);
        let result: ReloadResult;
        if (loaded.ok) {
          fileGroups = loaded.groups;
          fileThresholds = loaded.thresholds;
          result = { ok: true, errors: [], warnings: loaded.warnings };
        } else {
          for (const e of loaded.errors) logger.error("Invalid rule file", { error: e });
          result = { ok: false, errors: loaded.errors, warnings: loaded.warnings };
        }
        const state = new Map<string, Map<string, AlertRecord>>();
        const records = await store.loadAlerts();
        for (const r of records) {
          let m = state.get(r.ruleKey);
          if (!m) state.set(r.ruleKey, m = new Map());
          m.set(r.fingerprint, r);
        }
        filesBroken = !loaded.ok;
        await apply(state);
        // Deliveries cut short by a crash: the transition is in KV, the hand-over may not have happened.
        const now = clock.now();
        for (const runner of runners.values()) {
          for (const rule of runner.group.rules) {
            if (rule.kind === "alerting") {
              await runner.deliver(rule, now, { undeliveredOnly: true });
            }
          }
        }
        logger.info("Rules loaded", {
          groups: runners.size,
          rules: [...runners.values()].reduce((n, r) => n + r.group.rules.length, 0),
          restoredAlerts: records.length,
        });
        started = true;
        for (const r of runners.values()) r.start();
        return result;
      }),

    stop: () =>
      serial(async () => {
        started = false;
        await Promise.all([...runners.values()].map((r) => r.stop()));
      }),

    reload: (files) =>
      serial(async () => {
        const loaded = await loadFiles(files ?? ruleFiles);
        if (!loaded.ok) {
          for (const e of loaded.errors) {
            logger.error("Invalid rule file; keeping the old rules", { error: e });
          }
          return { ok: false, errors: loaded.errors, warnings: loaded.warnings };
        }
        if (files) ruleFiles = [...files];
        const state = await detach();
        fileGroups = loaded.groups;
        fileThresholds = loaded.thresholds;
        filesBroken = false;
        await apply(state);
        logger.info("Rules reloaded", { groups: runners.size });
        return { ok: true, errors: [], warnings: loaded.warnings };
      }),

    groups() {
      return [...runners.values()].map((r) => ({
        name: r.group.name,
        file: r.group.file,
        intervalMs: r.group.intervalMs,
        limit: r.group.limit,
        lastEvaluation: r.lastEvaluation,
        evaluationTimeMs: r.evaluationTimeMs,
        rules: r.group.rules.map((rule) => ({
          rule,
          status: r.status.get(rule.key)!,
          alerts: [...(r.alerts.get(rule.key)?.values() ?? [])],
        })),
      }));
    },

    alerts() {
      const out: ActiveAlert[] = [];
      for (const r of runners.values()) {
        for (const rule of r.group.rules) {
          for (const a of r.alerts.get(rule.key)?.values() ?? []) {
            if (a.state === "pending" || a.state === "firing") {
              out.push({ ...a, ruleName: rule.name });
            }
          }
        }
      }
      return out;
    },

    listThresholdRules() {
      return [
        ...fileThresholds.map((t) => findThreshold(t.id)!),
        ...[...api.values()].map((rule) => ({ rule, source: "api" })),
      ];
    },

    getThresholdRule(id) {
      const t = findThreshold(id);
      if (!t) throw new RuleNotFoundError(id);
      return t;
    },

    createThresholdRule: (input) =>
      serial(async () => {
        const rule = validate(input);
        const existing = findThreshold(rule.id);
        if (existing) {
          throw new RuleConflictError(
            `Alert rule "${rule.id}" already exists${
              existing.source === "api" ? "" : ` in ${existing.source}`
            }`,
          );
        }
        await store.putThresholdRule(rule);
        api.set(rule.id, rule);
        await apply(await detach());
        return rule;
      }),

    updateThresholdRule: (id, input) =>
      serial(async () => {
        const existing = findThreshold(id);
        if (!existing) throw new RuleNotFoundError(id);
        if (existing.source !== "api") {
          throw new RuleConflictError(
            `Alert rule "${id}" is defined in ${existing.source}; edit the file`,
          );
        }
        const rule = validate(input, id);
        await store.putThresholdRule(rule);
        api.set(id, rule);
        await apply(await detach());
        return rule;
      }),

    deleteThresholdRule: (id) =>
      serial(async () => {
        const existing = findThreshold(id);
        if (!existing) throw new RuleNotFoundError(id);
        if (existing.source !== "api") {
          throw new RuleConflictError(
            `Alert rule "${id}" is defined in ${existing.source}; edit the file`,
          );
        }
        await store.deleteThresholdRule(id);
        api.delete(id);
        await apply(await detach());
        // With broken rule files other orphans stay parked, but this rule is gone for sure.
        const key = `threshold\u001f${id}`;
        const left = parked.get(key);
        if (left) {
          parked.delete(key);
          await resolveOrphans(new Map([[key, left]]));
        }
      }),

    async testThresholdRule(id) {
      if (!findThreshold(id)) throw new RuleNotFoundError(id);
      let runner: GroupRunner | undefined, rule: AlertingRule | undefined;
      for (const r of runners.values()) {
        for (const x of r.group.rules) {
          if (x.kind === "alerting" && x.thresholdId === id) [runner, rule] = [r, x];
        }
      }
      if (!runner || !rule) throw new RuleNotFoundError(id);
      const now = clock.now();
      const samples = await opts.query(rule.query, now);
      const prev = new Map(runner.alerts.get(rule.key) ?? []);
      const res = await stepAlertsWithQueries(
        rule,
        prev,
        samples,
        now,
        { ...step, limit: runner.group.limit },
        opts.query,
      );
      const wouldNotify: AlertInstance[] = [];
      for (const t of res.transitions) {
        if (t.to === "firing" || t.to === "resolved") {
          wouldNotify.push({
            fingerprint: t.fingerprint,
            labels: t.record.labels,
            annotations: t.record.annotations,
            startsAt: t.record.firedAt,
            endsAt: t.to === "resolved" ? t.record.resolvedAt : 0,
            generatorURL: externalURL,
            value: t.record.value,
          });
        }
      }
      return {
        time: now,
        samples,
        alerts: [...res.next.values()],
        transitions: res.transitions,
        wouldNotify,
        error: res.error,
      };
    },

    async evaluateAll(now) {
      await Promise.all([...runners.values()].map((r) => r.evaluate(now)));
    },
  };
  return manager;
}

/** The shape of an engine result this adapter understands (core/promql's `QueryResult`). */
export interface EngineLike {
  instantQuery(expr: Expr | string, t: number): Promise<{
    readonly result:
      | {
        readonly type: "vector";
        readonly samples: readonly {
          labels: QuerySample["labels"];
          v: number;
          h?: { toNative(): NativeHistogram };
        }[];
      }
      | { readonly type: "scalar"; readonly v: number }
      | { readonly type: "string" | "matrix" };
  }>;
}

/** Adapts a PromQL engine to a {@linkcode QueryFunc} (scalars become one unlabelled sample). */
export function engineQueryFunc(engine: EngineLike): QueryFunc {
  return async (expr, t) => {
    const { result } = await engine.instantQuery(expr, t);
    if (result.type === "vector") {
      return result.samples.map((s) =>
        s.h
          ? { labels: s.labels, value: s.v, histogram: s.h.toNative() }
          : { labels: s.labels, value: s.v }
      );
    }
    if (result.type === "scalar") return [{ labels: [], value: result.v }];
    throw new Error(`rule expression returned a ${result.type}, not an instant vector or scalar`);
  };
}
