/**
 * The alert state machine as a pure function: previous instances + one
 * evaluation's query result + `now` -> next instances + transitions.
 *
 * ```
 *   inactive --cond--> pending --held for `for`--> firing --cond false (after keep_firing_for,
 *      ^                 |                           |       or below resolve_threshold)--> resolved
 *      '--cond false-----' (no notification)         '--------------------------------------'
 *   resolved --cond--> pending (a new alert: new activeAt/startsAt, flap history kept)
 *   resolved --after resolvedRetention--> inactive (forgotten)
 * ```
 *
 * One instance per output series: labels are the series labels without
 * `__name__`, plus the rule's (templated) labels, plus `alertname`.
 *
 * @module
 */
import {
  fromPairs,
  type Labels,
  labelsToObject,
  METRIC_NAME,
  type NativeHistogram,
  seriesId,
} from "../model/mod.ts";
import { type AlertingRule, compareThreshold } from "./rule.ts";
import { expandAlertTemplate, type TemplateQueries } from "../template/mod.ts";

/** Persisted states; "inactive" instances are not kept. */
export type AlertState = "pending" | "firing" | "resolved";

/** What was last handed to the sink for an instance. */
export type SentState = "none" | "firing" | "resolved";

/** One alert instance, as kept in memory and in KV. Plain data (structured-clone safe). */
export interface AlertRecord {
  readonly fingerprint: string;
  readonly ruleKey: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: AlertState;
  /** When the condition became true (pending began), ms. */
  readonly activeAt: number;
  /** When it started firing, ms; 0 if it has not. This is the sink's `startsAt`. */
  readonly firedAt: number;
  /** When it resolved, ms; 0 unless resolved. */
  readonly resolvedAt: number;
  /** When the condition went false while keep_firing_for holds it firing, ms; 0 otherwise. */
  readonly keepFiringSince: number;
  /** The value at the last evaluation (NaN for no-data instances). */
  readonly value: number;
  /** Times of firing/resolved changes inside the flapping window. */
  readonly changes: readonly number[];
  readonly flapping: boolean;
  /** The last state delivered to the sink for this `firedAt` (written after `put` returns). */
  readonly sent: SentState;
  /** Incremented on every persisted change of state. */
  readonly seq: number;
}

/** A change of state of one instance. `to: "inactive"` means it was dropped. */
export interface Transition {
  readonly fingerprint: string;
  readonly from: AlertState | "inactive";
  readonly to: AlertState | "inactive";
  /** The record after the change (the last record for `to: "inactive"`). */
  readonly record: AlertRecord;
}

/** One sample of a query result. */
export interface QuerySample {
  readonly labels: Labels;
  /** The float value (0 for a native histogram, as Prometheus alerts see it). */
  readonly value: number;
  /** The native histogram, when the sample is one (recording rules store it as such). */
  readonly histogram?: NativeHistogram;
}

/** Settings that are not part of the rule. */
export interface StepContext {
  readonly externalLabels?: Readonly<Record<string, string>>;
  readonly externalURL?: string;
  /** Flapping: more than `flapMaxChanges` changes in `flapWindowMs` marks an instance flapping. */
  readonly flapWindowMs: number;
  readonly flapMaxChanges: number;
  /** How long a resolved instance is kept (and its flap history), ms. @default 15 m */
  readonly resolvedRetentionMs: number;
  /** Most active instances; more is an error and nothing changes. 0 = no limit. */
  readonly limit?: number;
  /**
   * Answers the templates' `query` calls (see `renderWithQueries`); without
   * it, `query` in a template is a render error.
   */
  readonly templateQueries?: TemplateQueries;
}

/** Default flapping and retention settings. */
export const DEFAULT_STEP_CONTEXT: StepContext = {
  flapWindowMs: 10 * 60_000,
  flapMaxChanges: 5,
  resolvedRetentionMs: 15 * 60_000,
};

/** The outcome of one step. */
export interface StepResult {
  /** Instances after the step, by fingerprint (inactive ones removed). */
  readonly next: Map<string, AlertRecord>;
  readonly transitions: Transition[];
  /** Template problems (the text fell back to the raw template). */
  readonly templateErrors: string[];
  /** Set when the result could not be applied (duplicate label sets, limit); `next` is `prev`. */
  readonly error?: string;
}

/** The label set of the no-data instance. */
export const NODATA_LABEL = "perch_nodata";

function seriesLabels(labels: Labels): Record<string, string> {
  const o = labelsToObject(labels);
  delete o[METRIC_NAME];
  return o;
}

/** Fingerprint of an alert label set: {@linkcode seriesId} of the labels. */
export function alertFingerprint(labels: Readonly<Record<string, string>>): string {
  return seriesId(fromPairs(Object.entries(labels)));
}

interface Candidate {
  fp: string;
  labels: Record<string, string>;
  value: number;
  active: boolean;
  seriesLabels: Record<string, string>;
}

/**
 * Advances every instance of `rule` by one evaluation at `now`.
 * `samples` is the query result (for threshold rules: the raw expression's values).
 */
export function stepAlerts(
  rule: AlertingRule,
  prev: ReadonlyMap<string, AlertRecord>,
  samples: readonly QuerySample[],
  now: number,
  ctx: StepContext = DEFAULT_STEP_CONTEXT,
): StepResult {
  const templateErrors: string[] = [];
  const tdata = (labels: Record<string, string>, value: number) => ({
    labels,
    value,
    externalLabels: ctx.externalLabels,
    externalURL: ctx.externalURL,
    time: now,
    queries: ctx.templateQueries,
  });
  const expand = (src: string, labels: Record<string, string>, value: number, what: string) => {
    const r = expandAlertTemplate(src, tdata(labels, value));
    if (r.error) templateErrors.push(`${what}: ${r.error}`);
    return r.text;
  };
  const instanceLabels = (sl: Record<string, string>, value: number) => {
    const out: Record<string, string> = { ...sl };
    for (const [k, v] of Object.entries(rule.labels)) {
      const text = expand(v, sl, value, `label ${k}`);
      if (text === "") delete out[k];
      else out[k] = text;
    }
    out.alertname = rule.name;
    return out;
  };

  // 1. Candidates from the result.
  const seen = new Map<string, Candidate>();
  for (const s of samples) {
    const sl = seriesLabels(s.labels);
    const labels = instanceLabels(sl, s.value);
    const fp = alertFingerprint(labels);
    if (seen.has(fp)) {
      return {
        next: new Map(prev),
        transitions: [],
        templateErrors,
        error: "vector contains metrics with the same labelset after applying alert labels",
      };
    }
    let active = true;
    if (rule.threshold) {
      const p = prev.get(fp);
      const holding = p?.state === "firing" && rule.threshold.resolve !== undefined;
      active = compareThreshold(
        rule.threshold.op,
        s.value,
        holding ? rule.threshold.resolve! : rule.threshold.value,
      );
    }
    seen.set(fp, { fp, labels, value: s.value, active, seriesLabels: sl });
  }
  if (rule.noData === "firing") {
    // Absent instances stay active; an empty result raises the no-data instance.
    let held = 0;
    for (const [fp, p] of prev) {
      if (!seen.has(fp) && p.state !== "resolved" && p.labels[NODATA_LABEL] === undefined) {
        const sl = { ...p.labels };
        seen.set(fp, { fp, labels: sl, value: NaN, active: true, seriesLabels: sl });
        held++;
      }
    }
    if (samples.length === 0 && held === 0) {
      const labels = { ...instanceLabels({}, NaN), [NODATA_LABEL]: "true" };
      const fp = alertFingerprint(labels);
      seen.set(fp, { fp, labels, value: NaN, active: true, seriesLabels: {} });
    }
  }
  const limit = ctx.limit ?? 0;
  if (limit > 0) {
    let n = 0;
    for (const c of seen.values()) if (c.active) n++;
    if (n > limit) {
      return {
        next: new Map(prev),
        transitions: [],
        templateErrors,
        error: `exceeded limit of ${limit} with ${n} alerts`,
      };
    }
  }

  // 2. Transitions.
  const next = new Map<string, AlertRecord>();
  const transitions: Transition[] = [];
  const flapUpdate = (changes: readonly number[], add: boolean, wasFlapping: boolean) => {
    const kept = changes.filter((t) => t > now - ctx.flapWindowMs);
    if (add) kept.push(now);
    const flapping = wasFlapping
      ? kept.length > Math.floor(ctx.flapMaxChanges / 2)
      : kept.length > ctx.flapMaxChanges;
    return { changes: kept, flapping };
  };
  const annotationsFor = (c: Candidate) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(rule.annotations)) {
      out[k] = expand(v, c.seriesLabels, c.value, `annotation ${k}`);
    }
    return out;
  };

  for (const c of seen.values()) {
    const p = prev.get(c.fp);
    if (!c.active) continue; // handled with the absent ones below
    if (!p || p.state === "resolved") {
      const f = flapUpdate(p?.changes ?? [], false, p?.flapping ?? false);
      let rec: AlertRecord = {
        fingerprint: c.fp,
        ruleKey: rule.key,
        labels: c.labels,
        annotations: annotationsFor(c),
        state: "pending",
        activeAt: now,
        firedAt: 0,
        resolvedAt: 0,
        keepFiringSince: 0,
        value: c.value,
        changes: f.changes,
        flapping: f.flapping,
        sent: "none",
        seq: (p?.seq ?? 0) + 1,
      };
      transitions.push({
        fingerprint: c.fp,
        from: p ? "resolved" : "inactive",
        to: "pending",
        record: rec,
      });
      if (rule.forMs <= 0) {
        const f2 = flapUpdate(rec.changes, true, rec.flapping);
        rec = { ...rec, state: "firing", firedAt: now, seq: rec.seq + 1, ...f2 };
        transitions.push({ fingerprint: c.fp, from: "pending", to: "firing", record: rec });
      }
      next.set(c.fp, rec);
    } else if (p.state === "pending") {
      if (now - p.activeAt >= rule.forMs) {
        const f = flapUpdate(p.changes, true, p.flapping);
        const rec: AlertRecord = {
          ...p,
          labels: c.labels,
          annotations: annotationsFor(c),
          state: "firing",
          firedAt: now,
          value: c.value,
          seq: p.seq + 1,
          sent: "none",
          ...f,
        };
        transitions.push({ fingerprint: c.fp, from: "pending", to: "firing", record: rec });
        next.set(c.fp, rec);
      } else {
        next.set(c.fp, { ...p, value: c.value, annotations: annotationsFor(c) });
      }
    } else {
      // Firing and still active: refresh value and annotations; leave keep_firing_for.
      const f = flapUpdate(p.changes, false, p.flapping);
      const rec = {
        ...p,
        value: c.value,
        annotations: annotationsFor(c),
        keepFiringSince: 0,
        ...f,
      };
      if (rec.flapping !== p.flapping) {
        const moved = { ...rec, seq: p.seq + 1 };
        transitions.push({ fingerprint: c.fp, from: "firing", to: "firing", record: moved });
        next.set(c.fp, moved);
      } else next.set(c.fp, rec);
    }
  }

  for (const [fp, p] of prev) {
    const c = seen.get(fp);
    if (c?.active) continue;
    const value = c ? c.value : p.value;
    if (p.state === "pending") {
      transitions.push({
        fingerprint: fp,
        from: "pending",
        to: "inactive",
        record: { ...p, value },
      });
    } else if (p.state === "firing") {
      const since = p.keepFiringSince || now;
      if (rule.keepFiringForMs > 0 && now - since < rule.keepFiringForMs) {
        const rec = { ...p, value, keepFiringSince: since };
        if (p.keepFiringSince === 0) {
          // Persist the start of keep_firing_for so a restart does not extend it.
          const moved = { ...rec, seq: p.seq + 1 };
          transitions.push({ fingerprint: fp, from: "firing", to: "firing", record: moved });
          next.set(fp, moved);
        } else next.set(fp, rec);
        continue;
      }
      const f = flapUpdate(p.changes, true, p.flapping);
      const rec: AlertRecord = {
        ...p,
        value,
        state: "resolved",
        resolvedAt: now,
        keepFiringSince: 0,
        seq: p.seq + 1,
        ...f,
      };
      transitions.push({ fingerprint: fp, from: "firing", to: "resolved", record: rec });
      next.set(fp, rec);
    } else {
      // Resolved: kept for a while (re-sends after a restart, flap history), then dropped.
      if (now - p.resolvedAt >= ctx.resolvedRetentionMs) {
        transitions.push({ fingerprint: fp, from: "resolved", to: "inactive", record: p });
      } else {
        const f = flapUpdate(p.changes, false, p.flapping);
        next.set(fp, f.flapping !== p.flapping ? { ...p, ...f } : p);
      }
    }
  }
  return { next, transitions, templateErrors };
}

/** Resolves every open instance at `now` (its rule was removed); returns the transitions. */
export function resolveAll(prev: ReadonlyMap<string, AlertRecord>, now: number): Transition[] {
  const out: Transition[] = [];
  for (const [fp, p] of prev) {
    if (p.state === "firing") {
      const rec: AlertRecord = {
        ...p,
        state: "resolved",
        resolvedAt: now,
        keepFiringSince: 0,
        seq: p.seq + 1,
      };
      out.push({ fingerprint: fp, from: "firing", to: "resolved", record: rec });
    } else {
      out.push({ fingerprint: fp, from: p.state, to: "inactive", record: p });
    }
  }
  return out;
}
