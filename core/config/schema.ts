/**
 * The configuration schema: every setting, its default and its validation.
 *
 * Input is YAML-shaped (snake_case keys, durations like `15s`, sizes like
 * `64MiB`); output is the resolved, typed {@linkcode Config} with durations in
 * milliseconds and sizes in bytes. Unknown keys are errors, as in Prometheus,
 * so a typo never silently falls back to a default.
 *
 * @module
 */
import { durationFieldMs, parseBytes, parsedNumber, parseDuration, z } from "../model/mod.ts";
import { authSchema } from "./auth_schema.ts";
import { alertmanagerGlobalFields } from "./alertmanager_fields.ts";

/** A duration field: `"1h30m"`, `"0"` or a number of seconds. */
function duration(def: string, opts: { allowZero?: boolean } = {}) {
  const allowZero = opts.allowZero ?? false;
  const message = allowZero
    ? "must be a duration such as 30s, 5m, 1h30m (0 turns it off)"
    : "must be a positive duration such as 30s, 5m, 1h30m";
  return z.prefault(
    parsedNumber((v) => {
      const ms = durationFieldMs(v);
      return ms === 0 && !allowZero ? undefined : ms;
    }, message),
    def,
  );
}

/** A byte size field: `"64MiB"`, `"1GB"`, or a number of bytes. */
function bytes(def: string | number) {
  return z.prefault(
    parsedNumber((v) => {
      const n = typeof v === "number" ? v : parseBytes(v);
      return n !== undefined && Number.isFinite(n) && n >= 0 ? n : undefined;
    }, "must be a size such as 512MiB, 1GB or a number of bytes (0 turns it off)"),
    def,
  );
}

function positiveInt(def: number) {
  return z.prefault(
    z.number({ error: "must be a number" }).check(
      z.int("must be an integer"),
      z.gte(
        0,
        "must not be negative",
      ),
    ),
    def,
  );
}

const listenSchema = z.prefault(z.string(), "0.0.0.0:8080").check(z.refine(
  (s) => parseListen(s) !== undefined,
  { message: "must be host:port, e.g. 0.0.0.0:8080 or 127.0.0.1:9090" },
));

/** Splits `host:port` (IPv6 in brackets); undefined when malformed. */
export function parseListen(s: string): { hostname: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = m[1]!.replace(/^\[|\]$/g, "");
  return { hostname: host === "" ? "0.0.0.0" : host, port };
}

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

const serverSchema = z.prefault(
  z.strictObject({
    listen: listenSchema,
    /** Largest accepted request body, before decompression. */
    max_body_bytes: bytes("32MiB"),
    /** How long stopping may take before Perch exits anyway. */
    shutdown_timeout: duration("15s"),
    /** A request's line and headers must arrive within this (else 408 and the connection closes). */
    header_timeout: duration("10s"),
    /** Longest pause while a request body is being received before the connection is dropped. */
    body_timeout: duration("30s"),
    /** Keep-alive connections with nothing in flight are closed after this. */
    idle_timeout: duration("60s"),
    /** Open client connections; more get 503 + Retry-After. */
    max_connections: z.prefault(
      z.number({ error: "must be a number" }).check(
        z.int("must be an integer"),
        z.gte(
          1,
          "must be at least 1",
        ),
      ),
      512,
    ),
    /** Concurrent streaming responses (/ws, /federate, /api/v1/export); more get 503. */
    max_streams: z.prefault(
      z.number({ error: "must be a number" }).check(
        z.int("must be an integer"),
        z.gte(
          1,
          "must be at least 1",
        ),
      ),
      64,
    ),
    /** The URL users reach Perch at (links in notifications). */
    external_url: z.prefault(z.string(), ""),
    /**
     * Origins (`https://host:port`) other than Perch's own whose pages may call
     * admin endpoints from a browser. Read and ingest endpoints allow any origin.
     */
    cors_origins: z.prefault(
      z.array(
        z.string().check(z.refine((o) => ORIGIN_REGEXP.test(o), {
          message: "must be an origin such as https://grafana.example:3000 (scheme, host, port)",
        })),
      ),
      [],
    ),
  }),
  {},
);

const ORIGIN_REGEXP = /^https?:\/\/[^/\s?#]+$/;

const logSchema = z.prefault(
  z.strictObject({
    level: z.prefault(
      z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }),
      "info",
    ),
  }),
  {},
);

const tierSchema = z.strictObject({
  /** Samples older than this are kept only at `resolution`. */
  after: duration("24h"),
  resolution: duration("1m"),
});

const storageSchema = z.prefault(
  z.strictObject({
    /** Where WAL, blocks and the KV database live. Relative to the working directory. */
    data_dir: z.prefault(z.string().check(z.minLength(1, "must not be empty")), "./data"),
    /** Delete data older than this; 0 keeps everything. */
    retention: duration("28d", { allowZero: true }),
    /** Disk budget for the data dir; oldest blocks are deleted first; 0 = no budget. */
    max_bytes: bytes(0),
    /** `always`: fsync before every acknowledgement; `interval`: fsync every fsync_interval. */
    fsync: z.prefault(
      z.enum(["always", "interval"], { error: "must be always or interval" }),
      "always",
    ),
    fsync_interval: duration("1s"),
    /**
     * Opt-in limit on how far a sample may lie behind the newest sample of its
     * own series; `unlimited` (the default) accepts everything newer than
     * `retention`, 0 rejects every out-of-order sample.
     */
    out_of_order_window: z.pipe(
      z.prefault(z.union([z.literal("unlimited"), z.string(), z.number()]), "unlimited"),
      z.transform((v, ctx) => {
        if (v === "unlimited") return Infinity;
        const ms = typeof v === "number" ? v * 1000 : parseDuration(v);
        if (ms === undefined || ms < 0) {
          ctx.issues.push({ code: "custom", message: "must be a duration or unlimited", input: v });
          return z.NEVER;
        }
        return ms;
      }),
    ),
    /** How far ahead of the clock a sample may be. */
    future_tolerance: duration("10m", { allowZero: true }),
    block_range: duration("2h"),
    /** Flush the head early rather than grow past this. */
    head_memory_budget: bytes("64MiB"),
    /** Downsampling tiers, ascending by `after`. */
    downsampling: z.prefault(z.array(tierSchema), [
      { after: "24h", resolution: "1m" },
      { after: "7d", resolution: "5m" },
    ]),
  }),
  {},
).check(z.superRefine((s, ctx) => {
  for (let i = 1; i < s.downsampling.length; i++) {
    if (s.downsampling[i]!.after <= s.downsampling[i - 1]!.after) {
      ctx.addIssue({
        code: "custom",
        path: ["downsampling", i, "after"],
        message: "tiers must be in ascending order of after",
      });
    }
  }
}));

const querySchema = z.prefault(
  z.strictObject({
    timeout: duration("2m"),
    max_samples: positiveInt(50_000_000),
    max_series: positiveInt(100_000),
    /** Most steps of one subquery's grid over the query range. */
    max_steps: z.prefault(
      z.number({ error: "must be a number" }).check(
        z.int("must be an integer"),
        z.gte(
          1,
          "must be at least 1",
        ),
      ),
      100_000,
    ),
    /** Memory all queries in flight may use together (estimated); 0 = no limit. */
    max_memory: bytes("256MiB"),
    max_concurrent: positiveInt(4),
    lookback_delta: duration("5m"),
    cache_max_bytes: bytes("8MiB"),
  }),
  {},
);

const limitsSchema = z.prefault(
  z.strictObject({
    /** Total series; new series beyond it are refused (429). 0 = no limit. */
    max_series: positiveInt(1_000_000),
    max_series_per_metric: positiveInt(0),
    /** Concurrent append requests before 503 + Retry-After. */
    max_inflight_appends: positiveInt(64),
    /** Samples per second each source (credential, else client address) may push; 0 = no limit. */
    ingest_rate_per_source: positiveInt(0),
    /** Samples a source may push at once before its rate applies; 0 = ten seconds of the rate. */
    ingest_burst_per_source: positiveInt(0),
    /** Resident memory ceiling: over it, queries and pushes get 503 + Retry-After; 0 = off. */
    memory_limit: bytes(0),
  }),
  {},
);

const globalSchema = z.prefault(
  z.strictObject({
    scrape_interval: duration("15s"),
    scrape_timeout: duration("10s"),
    evaluation_interval: duration("1m"),
    external_labels: z.prefault(z.record(z.string(), z.string()), {}),
    // Alertmanager's global settings, so an alertmanager.yml loads as it is.
    ...alertmanagerGlobalFields,
  }),
  {},
);

/** OpenTelemetry (OTLP/HTTP) ingestion, translated as Prometheus 3 does. */
const otlpSchema = z.prefault(
  z.strictObject({
    /** Resource attributes copied onto every series as labels. */
    promote_resource_attributes: z.prefault(
      z.array(z.string().check(z.minLength(1, "must not be empty"))),
      [],
    ),
    /** Add otel_scope_name/version/schema_url and otel_scope_<attribute> labels. */
    promote_scope_metadata: z.prefault(z.boolean({ error: "must be true or false" }), false),
    /** Unit and type suffixes on metric names (`_seconds`, `_total`, `_ratio`). */
    add_metric_suffixes: z.prefault(z.boolean({ error: "must be true or false" }), true),
    /** Keep service.name/namespace/instance.id on target_info as well. */
    keep_identifying_resource_attributes: z.prefault(
      z.boolean({ error: "must be true or false" }),
      false,
    ),
    /** Delta sums and histograms: turned into cumulative per series, or refused. */
    delta: z.prefault(
      z.enum(["convert", "reject"], { error: "must be convert or reject" }),
      "convert",
    ),
  }),
  {},
);

/** The Graphite plaintext listener (TCP and UDP on one port); off while `listen` is empty. */
const graphiteSchema = z.prefault(
  z.strictObject({
    listen: z.prefault(z.string(), "").check(
      z.refine((s) => s === "" || parseListen(s) !== undefined, {
        message: "must be host:port, e.g. 0.0.0.0:2003 (empty turns the listener off)",
      }),
    ),
  }),
  {},
);

const selfScrapeSchema = z.prefault(
  z.strictObject({
    enabled: z.prefault(z.boolean({ error: "must be true or false" }), true),
    interval: duration("15s"),
  }),
  {},
);

const hostMetricsSchema = z.prefault(
  z.strictObject({
    /** Collect the host's CPU, memory, disks, network and temperatures (node_exporter names). */
    enabled: z.prefault(z.boolean({ error: "must be true or false" }), true),
    /** How often; 0 = the self_scrape interval. */
    interval: duration("0", { allowZero: true }),
    /** The `job` label of the host series. */
    job: z.prefault(z.string().check(z.minLength(1, "must not be empty")), "node"),
    /** The `instance` label; empty = the host name. */
    instance: z.prefault(z.string(), ""),
    /** Load the built-in host alerts (disk almost full, memory pressure, too hot, clock). */
    alerts: z.prefault(z.boolean({ error: "must be true or false" }), true),
  }),
  {},
);

/** Sections owned by later components: accepted as objects, validated by their owners. */
const looseList = z.prefault(z.array(z.record(z.string(), z.unknown())), []);

/** The whole configuration file. */
export const configSchema = z.strictObject({
  server: serverSchema,
  log: logSchema,
  storage: storageSchema,
  query: querySchema,
  limits: limitsSchema,
  global: globalSchema,
  self_scrape: selfScrapeSchema,
  otlp: otlpSchema,
  /** The built-in host collector (core/hostmetrics). */
  host_metrics: hostMetricsSchema,
  graphite: graphiteSchema,
  scrape_configs: looseList,
  rule_files: z.prefault(z.array(z.string()), []),
  /** Load the rule files shipped with Perch (self-monitoring alerts). */
  self_monitoring_rules: z.prefault(z.boolean({ error: "must be true or false" }), true),
  remote_write: looseList,
  /** Access control per scope and TLS; off by default (core/auth). */
  auth: authSchema,
  route: z.optional(z.record(z.string(), z.unknown())),
  receivers: looseList,
  inhibit_rules: looseList,
  time_intervals: looseList,
  /** Alertmanager's older name for time_intervals. */
  mute_time_intervals: looseList,
  /** Alertmanager's template files (not loaded; a warning says so). */
  templates: z.prefault(z.array(z.string()), []),
  silences: z.prefault(
    z.strictObject({
      /** Longest silence that may be created. */
      max_duration: duration("1w"),
      /** How long expired silences stay visible for audit. */
      retention: duration("5d"),
    }),
    {},
  ),
  /** Delivery of notifications: retried until delivered, superseded or older than max_age. */
  notifications: z.prefault(
    z.strictObject({
      /** First retry after a failed delivery; each next one waits ×1.5 longer. */
      min_backoff: duration("1s"),
      /** Longest wait between two tries of a receiver that is down. */
      max_backoff: duration("1m"),
      /** A notification not delivered this long after it was due is given up (logged, counted). */
      max_age: duration("24h"),
    }),
    {},
  ),
  dashboards: z.prefault(
    z.strictObject({
      provision_dir: z.prefault(z.string(), ""),
    }),
    {},
  ),
}).check(z.superRefine((c, ctx) => {
  if (c.notifications.min_backoff > c.notifications.max_backoff) {
    ctx.addIssue({
      code: "custom",
      path: ["notifications", "min_backoff"],
      message: "must not be greater than notifications.max_backoff",
    });
  }
  if (c.global.scrape_timeout > c.global.scrape_interval) {
    ctx.addIssue({
      code: "custom",
      path: ["global", "scrape_timeout"],
      message: "must not be greater than global.scrape_interval",
    });
  }
}));

/** The resolved configuration: every field present, durations in ms, sizes in bytes. */
export type Config = z.output<typeof configSchema>;
/** What a user may write: every field optional. */
export type ConfigInput = z.input<typeof configSchema>;
