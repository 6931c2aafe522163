/**
 * The Prometheus HTTP API (`/api/v1/query`, `query_range`, `series`, `labels`,
 * `label/<name>/values`, `metadata`, `format_query`, `parse_query`,
 * `status/*`), with Prometheus's parameters, JSON envelope and status codes,
 * plus the product spec's simple form `/api/v1/query?metric=NAME&start&end&func`.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { type Config, presentConfig, redactSecrets } from "../core/config/mod.ts";
import { labelsToObject, loadYaml, type Querier } from "../core/model/mod.ts";
import {
  type Engine,
  formatExpr,
  MAX_RANGE_POINTS,
  parseExpr,
  PromQLParseError,
  QueryError,
  QueryOverloadError,
  type QueryResult,
  QueryTimeoutError,
  QueryTooManySeriesError,
  type RangeResultCache,
  type Value,
} from "../core/promql/mod.ts";
import { buildInfo } from "../core/version.ts";
import { type Envelope, queryJsonStream } from "./api_json.ts";
import {
  BadParam,
  MAX_TIME,
  MIN_TIME,
  parseDurationParam,
  parseLimit,
  parseMatchParam,
  parseTime,
} from "./api_params.ts";
import { READ } from "./scope.ts";

/** What the API needs. */
export interface ApiDeps {
  readonly engine: () => Engine;
  readonly querier: Querier;
  readonly config: () => Config;
  readonly startedAt: Date;
  readonly flags: Readonly<Record<string, string>>;
  readonly reloadState: () => { ok: boolean; at: Date };
  readonly now?: () => number;
  /** Caches the immutable part of range query results when set. */
  readonly rangeCache?: RangeResultCache;
  /** Alertmanager alert URLs alerts are forwarded to (`alertmanager_configs`). @default none */
  readonly alertmanagers?: () => readonly string[];
}

type ErrorType = "bad_data" | "execution" | "timeout" | "canceled" | "internal" | "unavailable";
const ERROR_STATUS: Record<ErrorType, 400 | 422 | 503 | 500> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  canceled: 503,
  internal: 500,
  unavailable: 503,
};

function apiError(c: Context, type: ErrorType, message: string): Response {
  return c.json({ status: "error", errorType: type, error: message }, ERROR_STATUS[type]);
}

function success(c: Context, data: unknown, warnings: string[] = [], infos: string[] = []) {
  const body: Record<string, unknown> = { status: "success", data };
  if (warnings.length) body.warnings = warnings;
  if (infos.length) body.infos = infos;
  return c.json(body);
}

/** Reads a parameter from the URL or a form body (GET and form POST alike). */
class Params {
  constructor(readonly url: URL, readonly form: URLSearchParams | undefined) {}
  get(name: string): string | undefined {
    return this.form?.get(name) ?? this.url.searchParams.get(name) ?? undefined;
  }
  all(name: string): string[] {
    return [...this.url.searchParams.getAll(name), ...(this.form?.getAll(name) ?? [])];
  }
}

async function readParams(c: Context): Promise<Params> {
  const url = new URL(c.req.url);
  let form: URLSearchParams | undefined;
  if (c.req.method === "POST") {
    const type = c.req.header("content-type") ?? "";
    if (type.includes("application/x-www-form-urlencoded")) {
      form = new URLSearchParams(await c.req.text());
    }
  }
  return new Params(url, form);
}

/** Bounds concurrent queries; waiters queue until a slot frees or their deadline passes. */
class Gate {
  #active = 0;
  #waiting: (() => void)[] = [];
  constructor(readonly max: () => number) {}
  async run<T>(deadlineMs: number, fn: () => Promise<T>): Promise<T> {
    if (this.#active >= Math.max(1, this.max())) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = this.#waiting.indexOf(go);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(new QueryTimeoutError(deadlineMs, "query queue"));
        }, deadlineMs);
        const go = () => {
          clearTimeout(timer);
          resolve();
        };
        this.#waiting.push(go);
      });
    }
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

/** Mounts the Prometheus-compatible query API. */
export function apiRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  const now = deps.now ?? Date.now;
  const gate = new Gate(() => deps.config().query.max_concurrent);

  const handle =
    (fn: (c: Context, p: Params) => Promise<Response> | Response) => async (c: Context) => {
      try {
        return await fn(c, await readParams(c));
      } catch (e) {
        return mapError(c, e);
      }
    };

  async function runQuery(
    p: Params,
    run: (engine: Engine) => Promise<QueryResult>,
  ): Promise<TimedResult> {
    const timeoutText = p.get("timeout");
    let timeout = deps.config().query.timeout;
    if (timeoutText !== undefined) {
      timeout = Math.min(timeout, parseDurationParam("timeout", timeoutText));
    }
    const t0 = performance.now();
    let queued = 0;
    const r = await gate.run(timeout, () => {
      queued = performance.now() - t0;
      return run(deps.engine());
    });
    return { ...r, execQueue: queued / 1000, execTotal: (performance.now() - t0) / 1000 };
  }

  const query = handle(async (c, p) => {
    if (p.get("metric") !== undefined && p.get("query") === undefined) {
      return await simpleQuery(c, p);
    }
    const q = p.get("query");
    if (q === undefined || q === "") {
      return apiError(c, "bad_data", `invalid parameter "query": query must not be empty`);
    }
    const t = parseTime("time", p.get("time"), now());
    const expr = parseQuery(q);
    const r = await runQuery(p, (e) => e.instantQuery(expr, t));
    return queryJson(c, r.result, { stats: statsOf(r, p), warnings: r.warnings, infos: r.infos });
  });

  /** The product spec's form: raw samples of one metric, optionally aggregated. */
  async function simpleQuery(c: Context, p: Params): Promise<Response> {
    const name = p.get("metric")!;
    const end = parseTime("end", p.get("end"), now());
    const start = parseTime("start", p.get("start"), end - 3_600_000);
    if (end < start) {
      return apiError(
        c,
        "bad_data",
        `invalid parameter "end": end timestamp must not be before start time`,
      );
    }
    const fn = p.get("func");
    const selector = parseQuery(name);
    if (selector.type !== "VectorSelector") {
      return apiError(
        c,
        "bad_data",
        `invalid parameter "metric": must be a metric name or selector`,
      );
    }
    const sel = formatExpr(selector);
    if (fn === undefined || fn === "") {
      // Every stored sample in [start, end], as an absolute range selector.
      const r = await runQuery(
        p,
        (e) => e.instantQuery(`${sel}[${isoOf(start)}:${isoOf(end)}]`, end),
      );
      return queryJson(c, r.result, { warnings: r.warnings });
    }
    const allowed = ["sum", "avg", "min", "max", "count", "rate"];
    if (!allowed.includes(fn)) {
      return apiError(
        c,
        "bad_data",
        `invalid parameter "func": must be one of ${allowed.join(", ")}`,
      );
    }
    const stepText = p.get("step");
    const step = stepText !== undefined
      ? parseDurationParam("step", stepText)
      : Math.max(1000, Math.ceil((end - start) / 250 / 1000) * 1000);
    const expr = fn === "rate"
      ? `rate(${sel}[${Math.max(step * 4, 60_000) / 1000}s])`
      : `${fn}(${sel})`;
    const r = await runQuery(p, (e) => e.rangeQuery(expr, start, end, step));
    return queryJson(c, r.result, { warnings: r.warnings });
  }

  const queryRange = handle(async (c, p) => {
    const q = p.get("query");
    if (q === undefined || q === "") {
      return apiError(c, "bad_data", `invalid parameter "query": query must not be empty`);
    }
    const startText = p.get("start"), endText = p.get("end"), stepText = p.get("step");
    if (startText === undefined) {
      return apiError(
        c,
        "bad_data",
        `invalid parameter "start": cannot parse "" to a valid timestamp`,
      );
    }
    if (endText === undefined) {
      return apiError(
        c,
        "bad_data",
        `invalid parameter "end": cannot parse "" to a valid timestamp`,
      );
    }
    const start = parseTime("start", startText, 0);
    const end = parseTime("end", endText, 0);
    if (end < start) {
      return apiError(
        c,
        "bad_data",
        `invalid parameter "end": end timestamp must not be before start time`,
      );
    }
    if (stepText === undefined) {
      return apiError(
        c,
        "bad_data",
        `invalid parameter "step": cannot parse "" to a valid duration`,
      );
    }
    const step = parseDurationParam("step", stepText);
    if (step <= 0) {
      return apiError(
        c,
        "bad_data",
        `invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer`,
      );
    }
    if ((end - start) / step > MAX_RANGE_POINTS) {
      return apiError(
        c,
        "bad_data",
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
      );
    }
    const expr = parseQuery(q);
    const cache = deps.rangeCache;
    const r = await runQuery(
      p,
      (e) =>
        cache ? cache.rangeQuery(e, expr, start, end, step) : e.rangeQuery(expr, start, end, step),
    );
    return queryJson(c, r.result, { stats: statsOf(r, p), warnings: r.warnings, infos: r.infos });
  });

  app.on(["GET", "POST"], "/api/v1/query", READ, query);
  app.on(["GET", "POST"], "/api/v1/query_range", READ, queryRange);

  app.on(
    ["GET", "POST"],
    "/api/v1/series",
    READ,
    handle(async (c, p) => {
      const matches = p.all("match[]");
      if (matches.length === 0) return apiError(c, "bad_data", "no match[] parameter provided");
      const hints = timeHints(p);
      const limit = parseLimit(p.get("limit"));
      // Without a limit under it, query.max_series bounds what one answer may build.
      const max = deps.config().query.max_series || Infinity;
      const seen = new Map<string, Record<string, string>>();
      outer: for (const m of matches) {
        for (const labels of await deps.querier.series(parseMatchParam(m), hints)) {
          const o = labelsToObject(labels);
          seen.set(JSON.stringify(o), o);
          if (seen.size > limit) break outer;
          if (seen.size > max) throw new QueryTooManySeriesError(max);
        }
      }
      const all = [...seen.values()];
      const warnings = all.length > limit ? ["results truncated due to limit"] : [];
      return success(c, all.slice(0, limit), warnings);
    }),
  );

  app.on(
    ["GET", "POST"],
    "/api/v1/labels",
    READ,
    handle(async (c, p) => {
      const hints = timeHints(p);
      const limit = parseLimit(p.get("limit"));
      const matches = p.all("match[]");
      const names = new Set<string>();
      if (matches.length === 0) {
        for (const n of await deps.querier.labelNames([], hints)) names.add(n);
      } else {
        for (const m of matches) {
          for (const n of await deps.querier.labelNames(parseMatchParam(m), hints)) names.add(n);
        }
      }
      const out = [...names].sort();
      return success(
        c,
        out.slice(0, limit),
        out.length > limit ? ["results truncated due to limit"] : [],
      );
    }),
  );

  app.get(
    "/api/v1/label/:name/values",
    READ,
    handle(async (c, p) => {
      let name = c.req.param("name") ?? "";
      if (name.startsWith("U__")) name = unescapeUtf8Name(name);
      const hints = timeHints(p);
      const limit = parseLimit(p.get("limit"));
      const matches = p.all("match[]");
      const values = new Set<string>();
      const sets = matches.length === 0 ? [[]] : matches.map(parseMatchParam);
      for (const ms of sets) {
        for (const v of await deps.querier.labelValues(name, ms, hints)) values.add(v);
      }
      const out = [...values].sort();
      return success(
        c,
        out.slice(0, limit),
        out.length > limit ? ["results truncated due to limit"] : [],
      );
    }),
  );

  // Perch stores no exemplars: the answer is Prometheus's for a store without any.
  app.on(
    ["GET", "POST"],
    "/api/v1/query_exemplars",
    READ,
    handle((c, p) => {
      const start = parseTime("start", p.get("start"), MIN_TIME);
      const end = parseTime("end", p.get("end"), MAX_TIME);
      if (end < start) {
        return apiError(c, "bad_data", "end timestamp must not be before start timestamp");
      }
      parseQuery(p.get("query") ?? "");
      return success(c, []);
    }),
  );

  app.get("/api/v1/alertmanagers", READ, (c) =>
    success(c, {
      activeAlertmanagers: (deps.alertmanagers?.() ?? []).map((url) => ({ url })),
      droppedAlertmanagers: [],
    }));

  app.get(
    "/api/v1/metadata",
    READ,
    handle(async (c, p) => {
      const limit = parseLimit(p.get("limit"));
      const perMetric = parseLimit(p.get("limit_per_metric"));
      const only = p.get("metric");
      const md = await deps.querier.metadata();
      const out: Record<string, { type: string; help: string; unit: string }[]> = {};
      let n = 0;
      for (const name of [...md.keys()].sort()) {
        if (only !== undefined && only !== "" && name !== only) continue;
        if (n >= limit) break;
        const m = md.get(name)!;
        out[name] = [{ type: m.type, help: m.help, unit: m.unit }].slice(0, perMetric);
        n++;
      }
      return success(c, out);
    }),
  );

  app.on(
    ["GET", "POST"],
    "/api/v1/format_query",
    READ,
    handle((c, p) => {
      const q = p.get("query") ?? "";
      return success(c, formatExpr(parseQuery(q)));
    }),
  );

  app.on(
    ["GET", "POST"],
    "/api/v1/parse_query",
    READ,
    handle((c, p) => {
      const q = p.get("query") ?? "";
      return success(c, astJson(parseQuery(q)));
    }),
  );

  app.get("/api/v1/status/buildinfo", READ, (c) => success(c, buildInfo()));

  app.get("/api/v1/status/runtimeinfo", READ, (c) => {
    const cfg = deps.config();
    const reload = deps.reloadState();
    return success(c, {
      startTime: deps.startedAt.toISOString(),
      CWD: Deno.cwd(),
      reloadConfigSuccess: reload.ok,
      lastConfigTime: reload.at.toISOString(),
      corruptionCount: 0,
      goroutineCount: 0,
      GOMAXPROCS: navigator.hardwareConcurrency,
      GOGC: "",
      GODEBUG: "",
      storageRetention: cfg.storage.retention === 0
        ? "unlimited"
        : formatRetention(cfg.storage.retention, cfg.storage.max_bytes),
    });
  });

  app.get("/api/v1/status/flags", READ, (c) => success(c, deps.flags));

  app.get(
    "/api/v1/status/config",
    READ,
    async (c) =>
      success(c, {
        yaml: (await loadYaml()).stringify(presentConfig(redactSecrets(deps.config()))),
      }),
  );

  function timeHints(p: Params) {
    return {
      minT: parseTime("start", p.get("start"), MIN_TIME),
      maxT: parseTime("end", p.get("end"), MAX_TIME),
    };
  }

  return app;
}

function parseQuery(q: string) {
  try {
    return parseExpr(q);
  } catch (e) {
    if (e instanceof PromQLParseError) {
      throw new BadParam(`invalid parameter "query": ${e.message}`);
    }
    throw e;
  }
}

/** A query result with the time it waited for a slot and the time in all (seconds). */
interface TimedResult extends QueryResult {
  readonly execQueue: number;
  readonly execTotal: number;
}

/**
 * Adds Prometheus's `stats` object when the `stats` parameter is not empty:
 * `timings` (seconds) and `samples`. Perch counts samples per query, not per
 * step, so `stats=all` has no `totalQueryableSamplesPerStep`.
 */
/** Prometheus's `data.stats` when the request asks for it (`stats=...`). */
function statsOf(r: TimedResult, p: Params): unknown {
  const param = p.get("stats");
  if (param === undefined || param === "") return undefined;
  const t = r.stats.timings;
  const evalTotal = t ? t.preparation + t.innerEval + t.resultSort : 0;
  return {
    timings: {
      evalTotalTime: evalTotal,
      resultSortTime: t?.resultSort ?? 0,
      queryPreparationTime: t?.preparation ?? 0,
      innerEvalTime: t?.innerEval ?? 0,
      execQueueTime: r.execQueue,
      execTotalTime: r.execTotal,
    },
    samples: {
      totalQueryableSamples: r.stats.samples,
      samplesRead: r.stats.samples,
      peakSamples: r.stats.peakSamples,
    },
    series: r.stats.series,
  };
}

/** A query result in Prometheus's envelope, JSON streamed as the client reads it. */
function queryJson(c: Context, value: Value, env: Envelope): Response {
  return c.body(queryJsonStream(value, env), 200, { "content-type": "application/json" });
}

function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

function formatRetention(ms: number, bytes: number): string {
  const d = ms / 86_400_000;
  const t = Number.isInteger(d) ? `${d}d` : `${ms / 1000}s`;
  return bytes > 0 ? `${t} or ${bytes}B` : t;
}

/** Prometheus's `U__` escaping of UTF-8 label names in URL paths. */
function unescapeUtf8Name(s: string): string {
  return s.slice(3).replace(
    /_([0-9a-fA-F]+)_|__/g,
    (m, hex) => m === "__" ? "_" : String.fromCodePoint(parseInt(hex, 16)),
  );
}

/** The AST as JSON without positions. */
function astJson(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(astJson);
  if (node !== null && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === "pos") continue;
      if (typeof v === "function") continue;
      out[k] = astJson(v);
    }
    return out;
  }
  return node;
}

function mapError(c: Context, e: unknown): Response {
  if (e instanceof BadParam) return apiError(c, "bad_data", e.message);
  if (e instanceof PromQLParseError) {
    return apiError(c, "bad_data", `invalid parameter "query": ${e.message}`);
  }
  if (e instanceof QueryTimeoutError) return apiError(c, "timeout", e.message);
  if (e instanceof QueryOverloadError) {
    c.header("Retry-After", "1");
    return apiError(c, "unavailable", e.message);
  }
  if (e instanceof QueryError) return apiError(c, "execution", e.message);
  if (e instanceof SyntaxError || e instanceof RangeError) {
    return apiError(c, "bad_data", e.message);
  }
  return apiError(c, "internal", e instanceof Error ? e.message : String(e));
}
