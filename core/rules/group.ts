/**
 * One rule group at run time: its schedule (a stable offset per group, no
 * overlapping runs, missed iterations counted) and one evaluation (rules in
 * order; recording rules and `ALERTS`/`ALERTS_FOR_STATE` written through the
 * appender; alert transitions written to KV before the sink is called).
 *
 * @module
 */
import {
  type AlertInstance,
  type AlertSink,
  type Appender,
  type Labels,
  labelsKey,
  labelsToObject,
  METRIC_NAME,
  type NativeHistogram,
  SampleBatch,
  STALE_NAN,
  toLabels,
} from "../model/mod.ts";
import type { Logger } from "../logging/mod.ts";
import type { Counter, Gauge } from "../selfmon/mod.ts";
import { type Expr, parseExpr } from "../promql/mod.ts";
import {
  type AlertRecord,
  type QuerySample,
  stepAlerts,
  type StepContext,
  type StepResult,
} from "./alert_state.ts";
import type { Clock, TimerId } from "./clock.ts";
import { type AlertingRule, groupKey, type RecordingRule, type RuleGroup } from "./rule.ts";
import type { RuleStore } from "./store.ts";
import { renderWithQueries, TemplateQueries } from "../template/mod.ts";

/** One output sample of a rule: a float, or a native histogram. */
interface Written {
  labels: Labels;
  v: number;
  h?: NativeHistogram;
}

/**
 * Evaluates a PromQL expression at `t` (ms) and returns an instant vector; a
 * scalar result is one sample with no labels. Errors reject the promise.
 */
export type QueryFunc = (expr: Expr, t: number) => Promise<readonly QuerySample[]>;

/** Runs the PromQL strings of templates' `query` calls through `query` at `ts` (ms). */
export function templateQueries(query: QueryFunc, ts: number): TemplateQueries {
  return new TemplateQueries((q) => query(parseExpr(q), ts));
}

/**
 * {@linkcode stepAlerts} with the templates' `query` calls answered through
 * `query` at the evaluation time: the pure step runs again after the queries
 * it asked for are fetched (once if no template uses `query`).
 */
export function stepAlertsWithQueries(
  rule: AlertingRule,
  prev: ReadonlyMap<string, AlertRecord>,
  samples: readonly QuerySample[],
  ts: number,
  ctx: StepContext,
  query: QueryFunc,
): Promise<StepResult> {
  const queries = templateQueries(query, ts);
  return renderWithQueries(
    queries,
    () => stepAlerts(rule, prev, samples, ts, { ...ctx, templateQueries: queries }),
  );
}

/** Self-metrics of rule evaluation (children by `rule_group` = `file;name`). */
export interface RuleMetrics {
  readonly lastDuration: Gauge;
  readonly lastEvaluation: Gauge;
  readonly interval: Gauge;
  readonly evaluations: Counter;
  readonly failures: Counter;
  readonly iterations: Counter;
  readonly missed: Counter;
  readonly templateErrors: Counter;
  readonly sinkFailures: Counter;
}

/** What a group needs from the manager. */
export interface GroupDeps {
  readonly query: QueryFunc;
  readonly appender: Appender;
  readonly sink: AlertSink;
  readonly store: RuleStore;
  readonly logger: Logger;
  readonly metrics: RuleMetrics;
  readonly clock: Clock;
  readonly step: StepContext;
  readonly externalURL: string;
  /** A firing alert is re-put at most this often, ms (transitions are put at once). */
  readonly resendDelayMs: number;
}

/** Health of one rule after its last evaluation. */
export interface RuleStatus {
  health: "ok" | "err" | "unknown";
  lastError: string;
  /** Evaluation timestamp, ms; 0 before the first. */
  lastEvaluation: number;
  evaluationTimeMs: number;
}

/** 32-bit FNV-1a, for the group's schedule offset. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The first evaluation slot at or after `now`: slots are `offset + k·interval`. */
export function nextSlot(now: number, intervalMs: number, offsetMs: number): number {
  const r = (((now - offsetMs) % intervalMs) + intervalMs) % intervalMs;
  return r === 0 ? now : now - r + intervalMs;
}

/** The stable offset of a group within its interval (as Prometheus hashes the group). */
export function groupOffset(g: RuleGroup): number {
  return fnv1a(groupKey(g)) % g.intervalMs;
}

/** The generator link of an alerting rule. */
export function generatorURL(externalURL: string, expr: string): string {
  return `${externalURL.replace(/\/$/, "")}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`;
}

/**
 * The key notify can dedupe hand-overs by: the same alert re-put (resends,
 * restarts) has the same key; a new firing period or its resolution has a new one.
 */
export function alertIdempotencyKey(a: AlertInstance): string {
  return `${a.fingerprint}:${a.startsAt}:${a.endsAt > 0 ? "resolved" : "firing"}`;
}

/** An alert record as the sink sees it. */
export function toAlertInstance(
  rec: AlertRecord,
  rule: AlertingRule,
  externalURL: string,
): AlertInstance {
  return {
    fingerprint: rec.fingerprint,
    labels: rec.labels,
    annotations: rec.annotations,
    startsAt: rec.firedAt,
    endsAt: rec.state === "resolved" ? rec.resolvedAt : 0,
    generatorURL: generatorURL(externalURL, rule.expr),
    value: rec.value,
    flapping: rec.flapping,
  };
}

/** A group being scheduled and evaluated. */
export class GroupRunner {
  /** Alert instances by rule key, then fingerprint. */
  readonly alerts = new Map<string, Map<string, AlertRecord>>();
  readonly status = new Map<string, RuleStatus>();
  lastEvaluation = 0;
  evaluationTimeMs = 0;
  readonly key: string;
  #timer: TimerId | undefined;
  #next = 0;
  #stopped = true;
  #chain: Promise<void> = Promise.resolve();
  /** Series written at the last evaluation, per rule key, for stale markers. */
  #written = new Map<string, Map<string, Labels>>();
  #lastPut = new Map<string, number>();

  constructor(readonly group: RuleGroup, readonly deps: GroupDeps) {
    this.key = groupKey(group);
    for (const r of group.rules) {
      this.status.set(r.key, {
        health: "unknown",
        lastError: "",
        lastEvaluation: 0,
        evaluationTimeMs: 0,
      });
    }
    deps.metrics.interval.labels(this.key).set(group.intervalMs / 1000);
    // Children exist from the start, so `rate()` over them works from the first scrape.
    for (const c of [deps.metrics.evaluations, deps.metrics.failures, deps.metrics.missed]) {
      c.labels(this.key);
    }
  }

  /** Starts the schedule at the group's next slot. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#next = nextSlot(this.deps.clock.now(), this.group.intervalMs, groupOffset(this.group));
    this.#schedule();
  }

  /** Stops the schedule and waits for a running evaluation to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#chain;
  }

  #schedule(): void {
    this.#timer = this.deps.clock.setTimeout(
      () => this.#tick(),
      this.#next - this.deps.clock.now(),
    );
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    const ts = this.#next;
    await this.evaluate(ts);
    this.deps.metrics.iterations.labels(this.key).inc();
    if (this.#stopped) return;
    const now = this.deps.clock.now();
    const iv = this.group.intervalMs;
    const k = Math.max(1, Math.ceil((now - ts) / iv));
    if (k > 1) {
      this.deps.metrics.missed.labels(this.key).inc(k - 1);
      this.deps.logger.warn("Rule group evaluation took longer than its interval", {
        group: this.key,
        missed: k - 1,
      });
    }
    this.#next = ts + k * iv;
    this.#schedule();
  }

  /** Evaluates every rule at `ts`; runs after any evaluation in progress (never overlapping). */
  evaluate(ts: number): Promise<void> {
    const run = this.#chain.then(() => this.#evaluate(ts));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #evaluate(ts: number): Promise<void> {
    const t0 = performance.now();
    const m = this.deps.metrics;
    for (const rule of this.group.rules) {
      const r0 = performance.now();
      m.evaluations.labels(this.key).inc();
      const st = this.status.get(rule.key)!;
      try {
        const samples = await this.deps.query(rule.query, ts);
        if (rule.kind === "recording") await this.#record(rule, samples, ts);
        else await this.#alert(rule, samples, ts);
        st.health = "ok";
        st.lastError = "";
      } catch (e) {
        m.failures.labels(this.key).inc();
        st.health = "err";
        st.lastError = e instanceof Error ? e.message : String(e);
        this.deps.logger.warn("Rule evaluation failed", {
          group: this.key,
          rule: rule.name,
          error: st.lastError,
        });
      }
      st.lastEvaluation = ts;
      st.evaluationTimeMs = performance.now() - r0;
    }
    this.lastEvaluation = ts;
    this.evaluationTimeMs = performance.now() - t0;
    m.lastDuration.labels(this.key).set(this.evaluationTimeMs / 1000);
    m.lastEvaluation.labels(this.key).set(ts / 1000);
  }

  async #record(rule: RecordingRule, samples: readonly QuerySample[], ts: number): Promise<void> {
    const out = new Map<string, Written>();
    for (const s of samples) {
      const map = labelsToObject(s.labels);
      delete map[METRIC_NAME];
      for (const [k, v] of Object.entries(rule.labels)) {
        if (v === "") delete map[k];
        else map[k] = v;
      }
      const labels = toLabels(rule.name, map);
      const key = labelsKey(labels);
      if (out.has(key)) {
        throw new Error(
          "vector contains metrics with the same labelset after applying rule labels",
        );
      }
      out.set(key, s.histogram ? { labels, v: 0, h: s.histogram } : { labels, v: s.value });
    }
    if (this.group.limit > 0 && out.size > this.group.limit) {
      throw new Error(`exceeded limit of ${this.group.limit} with ${out.size} series`);
    }
    await this.#writeSeries(rule.key, out, ts);
  }

  /** Appends `series` at `ts` plus stale markers for the rule's series that are gone. */
  async #writeSeries(
    ruleKey: string,
    series: Map<string, Written>,
    ts: number,
  ) {
    const batch = new SampleBatch(series.size + 4);
    for (const [key, s] of series) {
      const ref = batch.addSeries(s.labels, key);
      if (s.h) batch.addHistogram(ref, ts, s.h);
      else batch.add(ref, ts, s.v);
    }
    const prev = this.#written.get(ruleKey);
    if (prev) {
      for (const [key, labels] of prev) {
        if (!series.has(key)) batch.add(batch.addSeries(labels, key), ts, STALE_NAN);
      }
    }
    this.#written.set(ruleKey, new Map([...series].map(([k, s]) => [k, s.labels])));
    if (batch.length === 0) return;
    const res = await this.deps.appender.append(batch);
    if (res.rejected.length > 0) {
      this.deps.logger.warn("Rule output samples rejected", {
        group: this.key,
        rejected: res.rejected.length,
        first: res.rejected[0]!.message,
      });
    }
  }

  async #alert(rule: AlertingRule, samples: readonly QuerySample[], ts: number): Promise<void> {
    const prev = this.alerts.get(rule.key) ?? new Map<string, AlertRecord>();
    const res = await stepAlertsWithQueries(
      rule,
      prev,
      samples,
      ts,
      { ...this.deps.step, limit: this.group.limit },
      this.deps.query,
    );
    for (const e of res.templateErrors) {
      this.deps.metrics.templateErrors.labels(this.key).inc();
      this.deps.logger.warn("Alert template failed to render; raw text used", {
        group: this.key,
        rule: rule.name,
        error: e,
      });
    }
    if (res.error) throw new Error(res.error);
    // Every transition is durable before anything is handed to the sink.
    const puts = new Map<string, AlertRecord>(), dels: AlertRecord[] = [];
    for (const t of res.transitions) {
      if (t.to === "inactive") dels.push(t.record);
      else puts.set(t.fingerprint, res.next.get(t.fingerprint)!);
    }
    if (puts.size > 0 || dels.length > 0) await this.deps.store.write([...puts.values()], dels);
    for (const d of dels) this.#lastPut.delete(d.fingerprint);
    this.alerts.set(rule.key, res.next);
    await this.deliver(rule, ts);
    await this.#writeAlertSeries(rule, res.next, ts);
  }

  /**
   * Puts the rule's alerts that are due: firing ones not yet delivered or not
   * re-sent for `resendDelayMs`, and resolved ones not yet delivered. Marks
   * them delivered in KV once `put` returns. With `undeliveredOnly` (on
   * start), only hand-overs a crash cut short are made; firing alerts already
   * delivered count as just sent, so a restart does not re-put them at once.
   */
  async deliver(
    rule: AlertingRule,
    ts: number,
    opts: { undeliveredOnly?: boolean } = {},
  ): Promise<void> {
    const recs = this.alerts.get(rule.key);
    if (!recs) return;
    const out: AlertInstance[] = [];
    const mark: AlertRecord[] = [];
    for (const rec of recs.values()) {
      let due = false;
      if (opts.undeliveredOnly) {
        due = rec.state !== "pending" && rec.sent !== rec.state;
        if (!due && rec.state === "firing") this.#lastPut.set(rec.fingerprint, ts);
      } else if (rec.state === "firing") {
        const last = this.#lastPut.get(rec.fingerprint);
        due = rec.sent !== "firing" || last === undefined || ts - last >= this.deps.resendDelayMs;
      } else if (rec.state === "resolved") due = rec.sent !== "resolved";
      if (!due) continue;
      out.push(toAlertInstance(rec, rule, this.deps.externalURL));
      if (rec.sent !== rec.state) mark.push({ ...rec, sent: rec.state as "firing" | "resolved" });
    }
    if (out.length === 0) return;
    try {
      await this.deps.sink.put(out, ts);
    } catch (e) {
      this.deps.metrics.sinkFailures.inc();
      this.deps.logger.error("Cannot hand alerts to delivery; retrying at the next evaluation", {
        group: this.key,
        rule: rule.name,
        error: e instanceof Error ? e.message : String(e),
      });
      return;
    }
    for (const a of out) this.#lastPut.set(a.fingerprint, ts);
    if (mark.length > 0) {
      await this.deps.store.write(mark);
      for (const r of mark) recs.set(r.fingerprint, r);
    }
  }

  async #writeAlertSeries(rule: AlertingRule, recs: Map<string, AlertRecord>, ts: number) {
    const series = new Map<string, { labels: Labels; v: number }>();
    for (const rec of recs.values()) {
      if (rec.state !== "pending" && rec.state !== "firing") continue;
      const a = toLabels("ALERTS", { ...rec.labels, alertstate: rec.state });
      series.set(labelsKey(a), { labels: a, v: 1 });
      const f = toLabels("ALERTS_FOR_STATE", rec.labels);
      series.set(labelsKey(f), { labels: f, v: rec.activeAt / 1000 });
    }
    try {
      await this.#writeSeries(rule.key, series, ts);
    } catch (e) {
      // The alert state is already durable; losing one ALERTS sample is not a rule failure.
      this.deps.logger.warn("Cannot write ALERTS series", {
        group: this.key,
        rule: rule.name,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }
}
