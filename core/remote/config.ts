/**
 * `remote_write`: the Prometheus-compatible endpoint list, its defaults and
 * its validation. The top-level config schema keeps the section as a loose
 * list; {@linkcode parseRemoteWriteConfigs} validates it and reports every
 * problem at once, each naming its path, e.g.
 * `remote_write[1].queue_config.max_shards: must be a positive integer`.
 *
 * Perch extensions (not in Prometheus) are marked in the README: `backfill`,
 * `queue_config.max_rate`, `queue_config.settle_delay`,
 * `queue_config.max_late_bytes`, `queue_config.healthy_lag`. Prometheus's `sample_age_limit` is the lag
 * budget: data older than that when it would be sent is skipped (counted).
 *
 * @module
 */
import {
  configIssues,
  formatPath,
  type HttpAuth,
  PARSE_ONCE,
  parseDuration,
  resolveHttpAuth,
  sha256Hex,
  z,
} from "../model/mod.ts";
import { parseScrapeConfigs, type RelabelRule } from "../scrape/mod.ts";

/** How requests to an endpoint authenticate. */
export type RemoteAuth = HttpAuth;

/** TLS options of an endpoint (files are read when the client is built). */
export interface RemoteTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Queue settings of one endpoint, durations in ms. */
export interface QueueConfig {
  /** Most samples in one request. @default 2000 */
  readonly maxSamplesPerSend: number;
  /** Longest wait before a partial batch is sent; also the live poll period. @default 5s */
  readonly batchSendDeadline: number;
  /** Requests in flight at once for this endpoint. @default 4 */
  readonly maxShards: number;
  /** @default 30ms */
  readonly minBackoff: number;
  /** @default 5s */
  readonly maxBackoff: number;
  /** Retry (true) or drop (false) batches answered with 429. @default true */
  readonly retryOnHttp429: boolean;
  /** Samples per second while catching up; 0 = unlimited. @default 50000 */
  readonly maxRate: number;
  /** Lag budget: older unsent data is skipped (counted, logged); 0 = storage retention. */
  readonly sampleAgeLimit: number;
  /** Samples newer than now - settle_delay are read on a later pass. @default 10s */
  readonly settleDelay: number;
  /** Budget of the durable late-sample log of this endpoint. @default 64MiB */
  readonly maxLateBytes: number;
  /** `/health` is degraded while the endpoint is further behind than this; 0 = never. @default 5m */
  readonly healthyLag: number;
}

/** Metadata sending of one endpoint. */
export interface MetadataConfig {
  readonly send: boolean;
  /** ms @default 1m */
  readonly sendInterval: number;
  readonly maxSamplesPerSend: number;
}

/** A resolved remote write endpoint. */
export interface RemoteWriteConfig {
  /** Unique; keys the persisted cursor. Defaults to a hash of the URL. */
  readonly name: string;
  readonly url: string;
  /** Per-request timeout, ms. @default 30s */
  readonly remoteTimeout: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly auth: RemoteAuth;
  readonly tls: RemoteTls | undefined;
  readonly writeRelabelConfigs: readonly RelabelRule[];
  readonly queue: QueueConfig;
  readonly metadata: MetadataConfig;
  /** How far back a new endpoint starts (ms); 0 = from now. @default 0 */
  readonly backfill: number;
  /** A stable text of everything above, to tell on reload whether the endpoint changed. */
  readonly fingerprint: string;
}

/** Either every config, or every problem (path-prefixed strings). */
export type ParseRemoteWriteResult =
  | { readonly ok: true; readonly configs: RemoteWriteConfig[]; readonly errors?: undefined }
  | { readonly ok: false; readonly errors: string[]; readonly configs?: undefined };

const durationText = z.union([z.string(), z.number()], {
  error: "must be a duration such as 30s, 5m",
});
const str = z.string({ error: "must be a string" });
const posInt = z.number({ error: "must be a number" }).check(
  z.int("must be an integer"),
  z.positive(
    "must be positive",
  ),
);

const RESERVED_HEADERS = new Set([
  "authorization",
  "host",
  "content-encoding",
  "content-length",
  "content-type",
  "user-agent",
  "connection",
  "x-prometheus-remote-write-version",
]);

const queueSchema = z.strictObject({
  max_samples_per_send: z.optional(posInt),
  batch_send_deadline: z.optional(durationText),
  max_shards: z.optional(posInt),
  min_shards: z.optional(posInt),
  capacity: z.optional(posInt),
  min_backoff: z.optional(durationText),
  max_backoff: z.optional(durationText),
  retry_on_http_429: z.optional(z.boolean({ error: "must be true or false" })),
  sample_age_limit: z.optional(durationText),
  max_rate: z.optional(
    z.number({ error: "must be a number" }).check(z.gte(0, "must not be negative")),
  ),
  settle_delay: z.optional(durationText),
  max_late_bytes: z.optional(
    z.number({ error: "must be a number of bytes" }).check(
      z.int("must be an integer"),
      z.gte(0, "must not be negative"),
    ),
  ),
  healthy_lag: z.optional(durationText),
});

const endpointSchema = z.strictObject({
  url: str.check(z.minLength(1, "is required")),
  name: z.optional(
    str.check(
      z.minLength(1, "must not be empty"),
      z.regex(
        /^[a-zA-Z0-9_.:-]+$/,
        "must contain only letters, digits, _ . : -",
      ),
    ),
  ),
  remote_timeout: z.optional(durationText),
  headers: z.optional(z.record(z.string(), str, { error: "must map header names to strings" })),
  basic_auth: z.optional(z.strictObject({
    username: z.optional(str),
    password: z.optional(str),
    password_file: z.optional(str),
  })),
  bearer_token: z.optional(str),
  bearer_token_file: z.optional(str),
  authorization: z.optional(z.strictObject({
    type: z.optional(str),
    credentials: z.optional(str),
    credentials_file: z.optional(str),
  })),
  tls_config: z.optional(z.strictObject({
    ca_file: z.optional(str),
    cert_file: z.optional(str),
    key_file: z.optional(str),
    server_name: z.optional(str),
    insecure_skip_verify: z.optional(z.boolean({ error: "must be true or false" })),
  })),
  write_relabel_configs: z.optional(
    z.array(z.unknown(), { error: "must be a list of relabel rules" }),
  ),
  queue_config: z.optional(queueSchema),
  metadata_config: z.optional(z.strictObject({
    send: z.optional(z.boolean({ error: "must be true or false" })),
    send_interval: z.optional(durationText),
    max_samples_per_send: z.optional(posInt),
  })),
  protobuf_message: z.optional(z.literal("prometheus.WriteRequest", {
    error: "only prometheus.WriteRequest (remote write 1.0) is supported",
  })),
  send_exemplars: z.optional(z.boolean()),
  send_native_histograms: z.optional(z.boolean()),
  follow_redirects: z.optional(z.boolean()),
  enable_http2: z.optional(z.boolean()),
  backfill: z.optional(durationText),
});

type Raw = z.output<typeof endpointSchema>;
type Path = (string | number)[];

function ms(v: string | number | undefined, def: number): number | undefined {
  if (v === undefined) return def;
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
  return parseDuration(v.trim());
}

/** A default endpoint name: the first 6 bytes of the URL's SHA-256, in hex. */
export function defaultRemoteName(url: string): string {
  return sha256Hex(url).slice(0, 12);
}

/**
 * Validates `remote_write` (the raw list from the config file). Reports every
 * problem at once; each names its path from `remote_write`.
 */
export function parseRemoteWriteConfigs(raw: unknown): ParseRemoteWriteResult {
  if (raw === undefined || raw === null) return { ok: true, configs: [] };
  if (!Array.isArray(raw)) {
    return { ok: false, errors: ["remote_write: must be a list of endpoints"] };
  }
  const errors: string[] = [];
  const configs: RemoteWriteConfig[] = [];
  const names = new Map<string, number>();
  raw.forEach((item, i) => {
    const base: Path = ["remote_write", i];
    const at = (...p: Path) => formatPath([...base, ...p]);
    const parsed = endpointSchema.safeParse(item, PARSE_ONCE);
    if (!parsed.success) {
      errors.push(...configIssues(parsed.error, base));
      return;
    }
    const before = errors.length;
    const c = resolveOne(parsed.data, at, errors);
    const prev = names.get(c.name);
    if (prev !== undefined) {
      errors.push(
        `${at(parsed.data.name === undefined ? "url" : "name")}: endpoint name "${c.name}" ` +
          `is already used by remote_write[${prev}]`,
      );
    } else names.set(c.name, i);
    if (errors.length === before) configs.push(c);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, configs };
}

function resolveOne(r: Raw, at: (...p: Path) => string, errors: string[]): RemoteWriteConfig {
  let url: URL | undefined;
  try {
    url = new URL(r.url);
  } catch {
    errors.push(`${at("url")}: "${r.url}" is not a valid URL`);
  }
  if (url && url.protocol !== "http:" && url.protocol !== "https:") {
    errors.push(`${at("url")}: scheme must be http or https`);
  }
  const dur = (field: Path, v: string | number | undefined, def: number, positive = true) => {
    const n = ms(v, def);
    if (n === undefined || (positive && n <= 0)) {
      errors.push(
        `${at(...field)}: must be a ${positive ? "positive " : ""}duration such as 30s, 5m`,
      );
      return def;
    }
    return n;
  };

  for (const h of Object.keys(r.headers ?? {})) {
    if (RESERVED_HEADERS.has(h.toLowerCase())) {
      errors.push(`${at("headers", h)}: header "${h}" is set by Perch and cannot be configured`);
    }
  }

  const auth: RemoteAuth = resolveHttpAuth(r, errors, {
    at: (...p) => at(...p),
    requireUsername: true,
  });

  let tls: RemoteTls | undefined;
  if (r.tls_config) {
    const t = r.tls_config;
    if (t.insecure_skip_verify) {
      errors.push(
        `${at("tls_config", "insecure_skip_verify")}: not supported by Deno's HTTP client; ` +
          "give the server's CA in ca_file instead",
      );
    }
    if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
      errors.push(`${at("tls_config", "cert_file")}: cert_file and key_file go together`);
    }
    tls = { caFile: t.ca_file ?? "", certFile: t.cert_file ?? "", keyFile: t.key_file ?? "" };
  }

  const writeRelabelConfigs = compileWriteRelabel(r.write_relabel_configs ?? [], at, errors);

  const q = r.queue_config ?? {};
  const minBackoff = dur(["queue_config", "min_backoff"], q.min_backoff, 30);
  const maxBackoff = dur(["queue_config", "max_backoff"], q.max_backoff, 5000);
  if (maxBackoff < minBackoff) {
    errors.push(`${at("queue_config", "max_backoff")}: must not be less than min_backoff`);
  }
  const queue: QueueConfig = {
    maxSamplesPerSend: q.max_samples_per_send ?? 2000,
    batchSendDeadline: dur(["queue_config", "batch_send_deadline"], q.batch_send_deadline, 5000),
    maxShards: q.max_shards ?? 4,
    minBackoff,
    maxBackoff,
    retryOnHttp429: q.retry_on_http_429 ?? true,
    maxRate: q.max_rate ?? 50_000,
    sampleAgeLimit: dur(["queue_config", "sample_age_limit"], q.sample_age_limit, 0, false),
    settleDelay: dur(["queue_config", "settle_delay"], q.settle_delay, 10_000, false),
    maxLateBytes: q.max_late_bytes ?? 64 * 1024 * 1024,
    healthyLag: dur(["queue_config", "healthy_lag"], q.healthy_lag, 300_000, false),
  };
  const m = r.metadata_config ?? {};
  const metadata: MetadataConfig = {
    send: m.send ?? true,
    sendInterval: dur(["metadata_config", "send_interval"], m.send_interval, 60_000),
    maxSamplesPerSend: m.max_samples_per_send ?? 2000,
  };
  const resolved = {
    name: r.name ?? defaultRemoteName(r.url),
    url: r.url,
    remoteTimeout: dur(["remote_timeout"], r.remote_timeout, 30_000),
    headers: r.headers ?? {},
    auth,
    tls,
    writeRelabelConfigs,
    queue,
    metadata,
    backfill: dur(["backfill"], r.backfill, 0, false),
  };
  return {
    ...resolved,
    fingerprint: JSON.stringify(resolved, (k, v) => (k === "re" ? undefined : v)),
  };
}

/**
 * Validates relabel rules with the scrape helper's validator (same rules as
 * `metric_relabel_configs`), rewriting its error paths to ours.
 */
function compileWriteRelabel(
  raw: readonly unknown[],
  at: (...p: Path) => string,
  errors: string[],
): RelabelRule[] {
  if (raw.length === 0) return [];
  const res = parseScrapeConfigs(
    [{ job_name: "remote_write", metric_relabel_configs: raw }],
    { scrape_interval: 60_000, scrape_timeout: 10_000 },
  );
  if (!res.ok) {
    const prefix = "scrape_configs[0].metric_relabel_configs";
    for (const e of res.errors) {
      errors.push(
        e.startsWith(prefix) ? at("write_relabel_configs") + e.slice(prefix.length) : e,
      );
    }
    return [];
  }
  return [...res.configs[0]!.metricRelabelConfigs];
}
