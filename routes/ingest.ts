/**
 * The HTTP edge of push ingestion. Each endpoint reads the body (size
 * limit after decompression), runs the protocol's pure parser, hands the
 * rows to the shared pipeline and maps the outcome to a status:
 *
 * | outcome                              | status                                  |
 * |--------------------------------------|-----------------------------------------|
 * | all stored                           | 200 `{}` (JSON, Pushgateway), 204 (Influx, remote write, import) |
 * | some or all input invalid            | 400 `{"errors":[...],"accepted":n,...}` (valid samples ARE stored) |
 * | body too large                       | 413                                     |
 * | unsupported Content-Encoding / RW 2.0| 415                                     |
 * | new series refused by a limit        | 429 with `cardinality` details          |
 * | pipeline saturated                   | 503 with `Retry-After`                  |
 * | storage full                         | 507                                     |
 *
 * Pushgateway paths (`/metrics/job/<job>{/<label>/<value>}`): `PUT` replaces
 * the group, `POST` replaces the families it carries, `DELETE` removes the
 * group (202), `PUT /api/v1/admin/wipe` removes every group (202). With a
 * push registry the groups are kept and exposed again every interval; a push
 * with a syntax error then changes nothing (400), one the pipeline refuses
 * sets `push_failure_time_seconds`.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { BufferPool } from "../core/buffer_pool.ts";
import { checkLabelName, StorageFullError } from "../core/model/mod.ts";
import {
  answerInfluxQuery,
  BodyEncodingError,
  BodyTooLargeError,
  decodeBase64Text,
  decodeOtlpJson,
  decodeOtlpProto,
  encodeOtlpResponse,
  encodeRpcStatus,
  type InfluxDatabaseStore,
  influxPrecision,
  InfluxQueryError,
  type IngestPipeline,
  type IngestProblem,
  type IngestResult,
  MemInfluxDatabases,
  OtlpDeltaState,
  OtlpJsonError,
  type OtlpSettings,
  OverloadedError,
  parseCollectdJson,
  type ParsedRows,
  ParsedRowsPool,
  parseInfluxLines,
  parseJsonMetrics,
  parsePrometheusText,
  parseRemoteWrite,
  ProtoError,
  type PushRegistry,
  RateLimitedError,
  readBody,
  translateOtlp,
  UnsupportedEncodingError,
} from "../core/ingest/mod.ts";
import { ADMIN, READ, WRITE } from "./scope.ts";

/** What the ingest routes need. */
export interface IngestDeps {
  /** The shared append pipeline. */
  readonly pipeline: Pick<IngestPipeline, "ingest">;
  /** Clock for samples without a timestamp (ms). @default {Date.now} */
  readonly now?: () => number;
  /** Largest body in bytes, after decompression. @default {67108864} (64 MiB) */
  readonly maxBodyBytes?: number | (() => number);
  /** Keeps pushed Pushgateway groups and exposes them every interval. @default none */
  readonly pushRegistry?: Pick<PushRegistry, "pushed" | "failed" | "delete" | "wipe">;
  /** Influx 1.x database names (`CREATE DATABASE`, `/write?db=`). @default in memory */
  readonly influxDatabases?: InfluxDatabaseStore;
  /** OTLP translation settings, read per request. @default {() => ({})} */
  readonly otlp?: () => OtlpSettings;
}

/** The InfluxDB version `/ping` reports: the 1.x API Perch answers. */
const INFLUX_VERSION = "1.8.10";

const DEFAULT_MAX_BODY = 64 << 20;
/** Parsed remote write rows kept for reuse, and the most samples they may have room for. */
const ROWS_KEPT = 4;
const ROWS_KEPT_SAMPLES = 1 << 18;

class BadRequest extends Error {
  constructor(readonly problem: IngestProblem) {
    super(problem.message);
  }
}

/** Builds the push ingestion routes; see the module doc for statuses. */
export function ingestRoutes(deps: IngestDeps): Hono {
  const app = new Hono();
  const now = deps.now ?? Date.now;
  const limit = deps.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const maxBodyBytes = typeof limit === "function" ? limit : () => limit;

  async function body(
    c: Context,
    defaultEncoding?: string,
    pool?: BufferPool,
  ): Promise<Uint8Array> {
    const len = Number(c.req.header("content-length") ?? "NaN");
    const maxBytes = maxBodyBytes();
    if (len > maxBytes) throw new BodyTooLargeError(maxBytes);
    return await readBody(c.req.raw.body, {
      encoding: c.req.header("content-encoding") ?? null,
      defaultEncoding,
      maxBytes,
      pool,
    });
  }
  // Remote write bodies are decoded into reused buffers (parsing copies what it keeps),
  // and parsed into reused rows: a request leaves no per-series arrays to the collector.
  const decodePool = new BufferPool();
  const rowsPool = new ParsedRowsPool(ROWS_KEPT, ROWS_KEPT_SAMPLES);
  const keepRows = (rows: ParsedRows) => rowsPool.give(rows);

  async function text(c: Context): Promise<string> {
    return new TextDecoder().decode(await body(c));
  }

  /** Parses, ingests and answers; `done` gets the rows once nothing reads them any more. */
  async function run(
    c: Context,
    protocol: string,
    parse: () => Promise<ParsedRows>,
    ok: () => Response,
    done?: (rows: ParsedRows) => void,
  ): Promise<Response> {
    let rows: ParsedRows | undefined;
    try {
      rows = await parse();
      const result = await deps.pipeline.ingest(protocol, rows);
      return outcome(c, result, protocol === "influx") ?? ok();
    } catch (e) {
      return failure(c, e);
    } finally {
      if (rows !== undefined) done?.(rows);
    }
  }

  app.post("/api/v1/metrics", WRITE, (c) =>
    run(
      c,
      "json",
      async () => parseJsonMetrics(await text(c), { now: now() }),
      () => c.json({}, 200),
    ));

  // collectd's write_http plugin with `Format "JSON"`.
  app.post("/api/v1/collectd", WRITE, (c) =>
    run(
      c,
      "collectd",
      async () => parseCollectdJson(await text(c), { now: now() }),
      () => c.body(null, 204),
    ));

  app.post("/api/v1/import/prometheus", WRITE, (c) =>
    run(
      c,
      "prometheus",
      async () => parsePrometheusText(await text(c), { now: now(), openMetrics: isOpenMetrics(c) }),
      () => c.body(null, 204),
    ));

  const push = deps.pushRegistry;
  const pushgateway = async (c: Context) => {
    let labels: Record<string, string>;
    try {
      labels = groupingLabels(new URL(c.req.url).pathname);
    } catch (e) {
      return failure(c, e);
    }
    if (c.req.method === "DELETE") {
      if (!push) return c.json({ error: "pushed groups are not kept: nothing to delete" }, 404);
      await push.delete(labels);
      return c.body(null, 202);
    }
    const t = now();
    try {
      const rows = parsePrometheusText(await text(c), { now: t, openMetrics: isOpenMetrics(c) });
      // As the Pushgateway: a push with a syntax error changes nothing (not
      // even push_failure_time_seconds, which records refused valid pushes).
      if (push && rows.errors.length > 0) {
        return c.json({
          message: "No samples were stored; the push has errors (see errors)",
          accepted: 0,
          rejected: rows.sampleCount + rows.invalidSamples,
          errors: rows.errors.map((e) => ({ field: e.field, value: e.value, message: e.message })),
        }, 400);
      }
      const result = await deps.pipeline.ingest("pushgateway", rows, { extraLabels: labels });
      const bad = outcome(c, result);
      if (push) {
        if (bad) await push.failed(labels, t, rows);
        else await push.pushed(labels, rows, t, c.req.method === "PUT");
      }
      return bad ?? c.json({}, 200);
    } catch (e) {
      return failure(c, e);
    }
  };
  // `/metrics/*`, not `/metrics/job/*`: the job may come as `job@base64`.
  app.put("/metrics/*", WRITE, pushgateway);
  app.post("/metrics/*", WRITE, pushgateway);
  app.delete("/metrics/*", WRITE, pushgateway);
  // The Pushgateway's admin API: delete every group.
  app.put("/api/v1/admin/wipe", ADMIN, async (c) => {
    if (!push) return c.json({ error: "pushed groups are not kept: nothing to wipe" }, 404);
    await push.wipe();
    return c.body(null, 202);
  });

  const databases = deps.influxDatabases ?? new MemInfluxDatabases();
  const influx = async (c: Context) => {
    const db = c.req.query("db");
    if (db !== undefined && db !== "") await databases.add(db);
    const param = c.req.query("precision");
    const precision = influxPrecision(param);
    if (precision === undefined) {
      return c.json({
        errors: [{
          field: "precision",
          value: param ?? "",
          message: "precision must be ns, us, ms, s, m or h",
        }],
        accepted: 0,
      }, 400);
    }
    return run(
      c,
      "influx",
      async () => parseInfluxLines(await text(c), { now: now(), precision }),
      () => c.body(null, 204),
    );
  };
  app.post("/write", WRITE, influx);
  app.post("/api/v2/write", WRITE, influx);
  // InfluxDB clients ping first (the CLI prints the version header), and
  // Telegraf asks to create its database.
  app.on(["GET", "HEAD"], "/ping", READ, (c) => {
    c.header("X-Influxdb-Version", INFLUX_VERSION);
    c.header("X-Influxdb-Build", "OSS");
    if (c.req.query("verbose") === "true") return c.json({ version: INFLUX_VERSION }, 200);
    return c.body(null, 204);
  });
  async function influxQuery(c: Context) {
    c.header("X-Influxdb-Version", INFLUX_VERSION);
    let q = c.req.query("q");
    if (q === undefined && c.req.method === "POST") {
      const type = c.req.header("content-type") ?? "";
      if (type.includes("application/x-www-form-urlencoded")) {
        q = new URLSearchParams(await text(c)).get("q") ?? undefined;
      } else if (type.includes("application/vnd.influxql")) {
        q = await text(c);
      }
    }
    try {
      return c.json({ results: await answerInfluxQuery(q ?? "", databases) }, 200);
    } catch (e) {
      if (e instanceof InfluxQueryError) return c.json({ error: e.message }, 400);
      throw e;
    }
  }
  // Clients send statements that change state (CREATE DATABASE) by POST.
  app.get("/query", READ, influxQuery);
  app.post("/query", WRITE, influxQuery);

  app.post("/api/v1/write", WRITE, (c) => {
    const type = c.req.header("content-type") ?? "";
    if (/proto=io\.prometheus\.write\.v2\.Request/.test(type)) {
      return c.json({
        errors: [{
          field: "content-type",
          value: type,
          message: "remote write 2.0 is not supported, send 1.0",
        }],
        accepted: 0,
      }, 415);
    }
    return run(
      c,
      "remote_write",
      async () => {
        const buf = await body(c, "snappy", decodePool);
        try {
          return parseRemoteWrite(buf, rowsPool.take());
        } finally {
          decodePool.give(buf);
        }
      },
      () => c.body(null, 204),
      keepRows,
    );
  });

  // OTLP/HTTP metrics (protobuf or JSON), at Prometheus's path and OTLP's default path.
  const otlpDelta = new OtlpDeltaState();
  const otlp = async (c: Context): Promise<Response> => {
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    const json = type === "application/json";
    const reply = (
      status: 200 | 400 | 413 | 415 | 429 | 503 | 507,
      rejected: number,
      msg: string,
    ) => {
      if (status !== 200) {
        // OTLP/HTTP error bodies are a google.rpc.Status (code 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE).
        const code = status === 400 || status === 415 ? 3 : status === 503 ? 14 : 8;
        return json
          ? c.json({ code, message: msg }, status)
          : c.body(encodeRpcStatus(code, msg) as Uint8Array<ArrayBuffer>, status, {
            "content-type": "application/x-protobuf",
          });
      }
      if (json) {
        return c.json(
          rejected > 0 || msg !== ""
            ? { partialSuccess: { rejectedDataPoints: String(rejected), errorMessage: msg } }
            : {},
          200,
        );
      }
      return c.body(encodeOtlpResponse(rejected, msg) as Uint8Array<ArrayBuffer>, 200, {
        "content-type": "application/x-protobuf",
      });
    };
    if (!json && type !== "application/x-protobuf" && type !== "") {
      return reply(
        415,
        0,
        `content-type must be application/x-protobuf or application/json, not ${type}`,
      );
    }
    try {
      const bytes = await body(c);
      const req = json ? decodeOtlpJson(new TextDecoder().decode(bytes)) : decodeOtlpProto(bytes);
      const tr = translateOtlp(req, deps.otlp?.() ?? {}, otlpDelta);
      const r = await deps.pipeline.ingest("otlp", tr.rows);
      const first = r.errors.slice(0, 3).map((e) => `${e.field}: ${e.message}`);
      let msg = first.join("; ");
      if (r.errorCount > first.length) msg += ` (and ${r.errorCount - first.length} more)`;
      if (r.cardinality) {
        msg = (msg ? msg + "; " : "") + "new series refused by a cardinality limit";
      }
      return reply(200, r.rejected, r.rejected > 0 || msg !== "" ? msg : "");
    } catch (e) {
      if (e instanceof ProtoError) {
        return reply(400, 0, `body is not a valid OTLP request: ${e.message}`);
      }
      if (e instanceof OtlpJsonError) return reply(400, 0, e.message);
      const f = classify(c, e);
      if (!f) throw e;
      return reply(f.status, 0, f.problem.message);
    }
  };
  app.post("/api/v1/otlp/v1/metrics", WRITE, otlp);
  app.post("/v1/metrics", WRITE, otlp);

  return app;
}

function isOpenMetrics(c: Context): boolean | undefined {
  const type = c.req.header("content-type") ?? "";
  return type.includes("application/openmetrics-text") ? true : undefined;
}

/**
 * The error response for a result with problems, or undefined when all went
 * in. For InfluxDB clients (`influx`) the body also has InfluxDB 1.x's
 * `error` string (`partial write: ...` when some points were stored), which
 * the influx CLI and Telegraf print.
 */
function outcome(c: Context, r: IngestResult, influx = false): Response | undefined {
  if (r.errorCount === 0 && r.cardinality === undefined) return undefined;
  const message = r.accepted > 0
    ? `${r.accepted} samples were stored; ${r.rejected} were rejected (see errors)`
    : `No samples were stored; ${r.rejected} were rejected (see errors)`;
  const first = r.errors[0];
  const body = {
    ...(influx
      ? {
        error: `${r.accepted > 0 ? "partial write: " : ""}${
          first ? `${first.field}: ${first.message}` : message
        } dropped=${r.rejected}`,
      }
      : {}),
    message,
    accepted: r.accepted,
    rejected: r.rejected,
    errors: r.errors.map((e) => ({ field: e.field, value: e.value, message: e.message })),
    ...(r.errorCount > r.errors.length ? { errorsNotListed: r.errorCount - r.errors.length } : {}),
    ...(r.cardinality ? { cardinality: r.cardinality } : {}),
  };
  return c.json(body, r.cardinality ? 429 : 400);
}

type FailureStatus = 400 | 413 | 415 | 429 | 503 | 507;

/**
 * The status and problem for an error every push protocol can meet (bad
 * body, too large, saturated, rate-limited, storage full), setting
 * `Retry-After` where it applies; undefined for any other error.
 */
function classify(
  c: Context,
  e: unknown,
): { status: FailureStatus; problem: IngestProblem } | undefined {
  const of = (status: FailureStatus, message: string, field = "", value = "") => ({
    status,
    problem: { field, value, message },
  });
  if (e instanceof RateLimitedError || e instanceof OverloadedError) {
    c.header("Retry-After", String(e.retryAfterSeconds));
    return of(e instanceof RateLimitedError ? 429 : 503, e.message);
  }
  if (e instanceof BadRequest) return { status: 400, problem: e.problem };
  if (e instanceof BodyTooLargeError) return of(413, e.message, "body");
  if (e instanceof UnsupportedEncodingError) {
    return of(415, e.message, "content-encoding", e.encoding);
  }
  if (e instanceof BodyEncodingError) return of(400, e.message, "body");
  if (e instanceof StorageFullError) return of(507, `Storage is full: ${e.message}`);
  return undefined;
}

/** Maps a thrown error to a response; unknown errors are rethrown (500 by Hono). */
function failure(c: Context, e: unknown): Response {
  const f = classify(c, e);
  if (!f) throw e;
  return c.json({ errors: [f.problem], accepted: 0 }, f.status);
}

/**
 * Grouping labels from a Pushgateway path `/metrics/job/<job>{/<label>/<value>}`.
 * A `@base64` suffix on a name means the value is base64url-encoded (as the
 * Pushgateway allows, for values with `/`); `=` alone encodes "".
 */
export function groupingLabels(pathname: string): Record<string, string> {
  const prefix = "/metrics/";
  const rest = pathname.startsWith(prefix) ? pathname.slice(prefix.length) : pathname;
  const parts = rest.split("/");
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length < 2 || parts.length % 2 !== 0) {
    throw new BadRequest({
      field: "path",
      value: pathname,
      message: "path must be /metrics/job/<job>{/<label>/<value>}",
    });
  }
  const out: Record<string, string> = {};
  for (let i = 0; i < parts.length; i += 2) {
    let name: string, value: string;
    try {
      name = decodeURIComponent(parts[i]!);
      value = decodeURIComponent(parts[i + 1]!);
    } catch {
      throw new BadRequest({
        field: "path",
        value: pathname,
        message: "path is not valid percent-encoding",
      });
    }
    if (name.endsWith("@base64")) {
      name = name.slice(0, -7);
      const decoded = value === "=" ? "" : decodeBase64Text(value);
      if (decoded === undefined) {
        throw new BadRequest({
          field: `path.${name}`,
          value,
          message: "value is not valid base64",
        });
      }
      value = decoded;
    }
    const problem = checkLabelName(name);
    if (problem) throw new BadRequest({ field: `path.${name}`, value: name, message: problem });
    if (i === 0 && name !== "job") {
      throw new BadRequest({
        field: "path",
        value: pathname,
        message: "path must start with /metrics/job/",
      });
    }
    if (name === "job" && value === "") {
      throw new BadRequest({ field: "path.job", value: "", message: "job must not be empty" });
    }
    out[name] = value;
  }
  return out;
}
