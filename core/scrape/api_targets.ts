/**
 * Targets added at run time through `/api/v1/scrape`: input validation (pure)
 * and their Deno KV store (keys `["scrape", "targets", id]`).
 *
 * @module
 */
import { formatDuration, parseDuration } from "../model/mod.ts";
import { checkTargetAddress, type ScrapeConfig, type ScrapeGlobals } from "./config.ts";
import {
  METRICS_PATH_LABEL,
  PARAM_LABEL_PREFIX,
  SCHEME_LABEL,
  SCRAPE_INTERVAL_LABEL,
  SCRAPE_TIMEOUT_LABEL,
  type TargetGroup,
} from "./targets.ts";

/** A stored run-time target. */
export interface ApiTarget {
  readonly id: string;
  readonly job: string;
  /** The full scrape URL (`http://host:port/metrics?x=y`). */
  readonly url: string;
  /** Scrape interval in ms. */
  readonly interval: number;
  readonly labels: Readonly<Record<string, string>>;
  /** ms since the epoch. */
  readonly createdAt: number;
}

/** One problem with the request body, naming the field. */
export interface ApiTargetProblem {
  readonly field: string;
  readonly value?: unknown;
  readonly message: string;
}

/** What a valid POST body resolves to (before an id is given). */
export type ApiTargetSpec = Omit<ApiTarget, "id" | "createdAt">;

/** The KV key prefix of run-time targets. */
export const API_TARGETS_PREFIX: Deno.KvKey = ["scrape", "targets"];

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Validates a POST body `{url | target, job, interval?, labels?}`. `url` is a
 * full http(s) URL; `target` is `host:port` scraped at `/metrics`.
 * `interval` is a duration (`30s`) or seconds; default `global.scrape_interval`.
 */
export function parseApiTargetInput(
  body: unknown,
  global: ScrapeGlobals,
): { spec: ApiTargetSpec } | { errors: ApiTargetProblem[] } {
  const errors: ApiTargetProblem[] = [];
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return { errors: [{ field: "body", message: "must be a JSON object" }] };
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!["url", "target", "job", "interval", "labels"].includes(k)) {
      errors.push({ field: k, message: "unknown field" });
    }
  }
  let url = "";
  if (b.url !== undefined && b.target !== undefined) {
    errors.push({ field: "target", message: "give either url or target, not both" });
  } else if (b.url !== undefined) {
    if (typeof b.url !== "string") {
      errors.push({ field: "url", value: b.url, message: "must be a string" });
    } else {
      let u: URL | undefined;
      try {
        u = new URL(b.url);
      } catch {
        errors.push({ field: "url", value: b.url, message: "must be an absolute http(s) URL" });
      }
      if (u) {
        if (u.protocol !== "http:" && u.protocol !== "https:") {
          errors.push({ field: "url", value: b.url, message: "scheme must be http or https" });
        } else if (u.username || u.password) {
          errors.push({
            field: "url",
            value: b.url,
            message: "credentials in the URL are not supported",
          });
        } else {
          u.hash = "";
          url = u.toString();
        }
      }
    }
  } else if (b.target !== undefined) {
    const m = typeof b.target === "string" ? checkTargetAddress(b.target) : "must be a string";
    if (m) errors.push({ field: "target", value: b.target, message: m });
    else url = `http://${b.target}/metrics`;
  } else {
    errors.push({ field: "url", message: "url or target is required" });
  }
  let job = "";
  if (typeof b.job !== "string" || b.job.trim() === "") {
    errors.push({ field: "job", value: b.job, message: "is required (a non-empty string)" });
  } else if (b.job.length > 1024) {
    errors.push({ field: "job", message: "must be at most 1024 characters" });
  } else job = b.job;
  let interval = global.scrape_interval;
  if (b.interval !== undefined) {
    const ms = typeof b.interval === "number"
      ? b.interval * 1000
      : typeof b.interval === "string"
      ? parseDuration(b.interval.trim())
      : undefined;
    if (ms === undefined || !Number.isFinite(ms) || ms < 1000) {
      errors.push({
        field: "interval",
        value: b.interval,
        message: "must be a duration of at least 1s, e.g. 30s or 1m (or a number of seconds)",
      });
    } else interval = Math.round(ms);
  }
  const labels: Record<string, string> = {};
  if (b.labels !== undefined) {
    if (b.labels === null || typeof b.labels !== "object" || Array.isArray(b.labels)) {
      errors.push({ field: "labels", message: "must be an object of label names to strings" });
    } else {
      for (const [k, v] of Object.entries(b.labels)) {
        if (!LABEL_NAME.test(k) || k.startsWith("__")) {
          errors.push({
            field: `labels.${k}`,
            message: "must be a label name matching [a-zA-Z_][a-zA-Z0-9_]* not starting with __",
          });
        } else if (k === "job") {
          errors.push({ field: "labels.job", message: "set the job with the job field" });
        } else if (typeof v !== "string") {
          errors.push({ field: `labels.${k}`, value: v, message: "must be a string" });
        } else if (v.length > 1024) {
          errors.push({ field: `labels.${k}`, message: "must be at most 1024 characters" });
        } else labels[k] = v;
      }
    }
  }
  if (errors.length > 0) return { errors };
  return { spec: { job, url, interval, labels } };
}

/** The target group a run-time target becomes (one target, its settings as meta labels). */
export function apiTargetGroup(t: ApiTarget, global: ScrapeGlobals): TargetGroup {
  const u = new URL(t.url);
  const labels: Record<string, string> = { ...t.labels };
  labels[SCHEME_LABEL] = u.protocol.slice(0, -1);
  labels[METRICS_PATH_LABEL] = u.pathname || "/";
  labels[SCRAPE_INTERVAL_LABEL] = formatDuration(t.interval);
  labels[SCRAPE_TIMEOUT_LABEL] = formatDuration(Math.min(global.scrape_timeout, t.interval));
  for (const [k, v] of u.searchParams) labels[PARAM_LABEL_PREFIX + k] = v;
  return { source: `api:${t.id}`, targets: [u.host], labels };
}

/** The scrape config of a pool of run-time targets of one job. */
export function apiPoolConfig(job: string, global: ScrapeGlobals): ScrapeConfig {
  const c: Omit<ScrapeConfig, "fingerprint"> = {
    jobName: job,
    scrapeInterval: global.scrape_interval,
    scrapeTimeout: global.scrape_timeout,
    metricsPath: "/metrics",
    scheme: "http",
    params: {},
    auth: { kind: "none" },
    staticConfigs: [],
    fileSdConfigs: [],
    honorLabels: false,
    honorTimestamps: true,
    relabelConfigs: [],
    metricRelabelConfigs: [],
    sampleLimit: 0,
    labelLimit: 0,
    bodySizeLimit: 64 * 1024 * 1024,
  };
  return { ...c, fingerprint: `api\u0000${job}\u0000${JSON.stringify(global)}` };
}

/** Loads every stored run-time target. */
export async function loadApiTargets(kv: Deno.Kv): Promise<ApiTarget[]> {
  const out: ApiTarget[] = [];
  for await (const e of kv.list<ApiTarget>({ prefix: API_TARGETS_PREFIX })) out.push(e.value);
  return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

/** Stores a run-time target. */
export async function saveApiTarget(kv: Deno.Kv, t: ApiTarget): Promise<void> {
  await kv.set([...API_TARGETS_PREFIX, t.id], t);
}

/** Deletes a run-time target. */
export async function deleteApiTarget(kv: Deno.Kv, id: string): Promise<void> {
  await kv.delete([...API_TARGETS_PREFIX, id]);
}
