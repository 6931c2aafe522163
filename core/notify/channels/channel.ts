/**
 * The seam between the delivery queue and the channels.
 *
 * @module
 */
import type { Logger } from "../../logging/mod.ts";
import type { ChannelConfig } from "../config.ts";
import type { HttpConfig } from "../config_fields.ts";
import type { Notification } from "../notification.ts";

/** The outcome of one delivery attempt. */
export type SendResult =
  | { readonly ok: true }
  | {
    readonly ok: false;
    /** False for errors a retry cannot fix (e.g. 400, 401, 403). */
    readonly retry: boolean;
    readonly error: string;
    /** From a `Retry-After` header, when the receiver sent one. */
    readonly retryAfterMs?: number;
  };

/** What a channel gets besides its config and the notification. */
export interface SendContext {
  readonly fetch: typeof fetch;
  readonly logger: Logger;
  /** Stable across retries and restarts; sent as `Idempotency-Key` where the protocol allows. */
  readonly idempotencyKey: string;
  readonly now: number;
}

/** Delivers one notification through one channel config. Must not throw. */
export type ChannelSender<C extends ChannelConfig = ChannelConfig> = (
  n: Notification,
  config: C,
  ctx: SendContext,
) => Promise<SendResult>;

/** Headers for an HTTP channel: JSON, auth and the config's extra headers. */
export function httpHeaders(http: HttpConfig, idempotencyKey?: string): Headers {
  const h = new Headers({ "Content-Type": "application/json", "User-Agent": "Perch" });
  if (idempotencyKey) h.set("Idempotency-Key", idempotencyKey);
  if (http.basicAuth) {
    const bytes = new TextEncoder().encode(`${http.basicAuth.username}:${http.basicAuth.password}`);
    const token = btoa(String.fromCharCode(...bytes));
    h.set("Authorization", `Basic ${token}`);
  } else if (http.bearerToken) {
    h.set("Authorization", `Bearer ${http.bearerToken}`);
  }
  for (const [k, v] of Object.entries(http.headers)) h.set(k, v);
  return h;
}

/** One HTTP client per channel config that needs its own CA, client certificate or proxy. */
const clients = new WeakMap<HttpConfig, Deno.HttpClient>();

/** The HTTP client for `http`, or undefined when the default one does. */
function clientFor(http: HttpConfig): Deno.HttpClient | undefined {
  const tls = http.tls;
  if (!tls && !http.proxyUrl) return undefined;
  let client = clients.get(http);
  if (!client) {
    client = Deno.createHttpClient({
      ...(tls?.ca ? { caCerts: [tls.ca] } : {}),
      ...(tls?.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
      ...(http.proxyUrl ? { proxy: { url: http.proxyUrl } } : {}),
    });
    clients.set(http, client);
  }
  return client;
}

/**
 * Posts `body` and classifies the answer: 2xx ok; 408, 429 and 5xx retried
 * (honouring `Retry-After`); other 4xx not (never 401/403); network errors
 * and timeouts retried. `http` gives the timeout and, when set, the CAs,
 * client certificate and proxy (`http_config.tls_config`, `proxy_url`).
 */
export async function postJson(
  f: typeof fetch,
  url: string,
  body: string,
  headers: Headers,
  http: HttpConfig,
): Promise<SendResult> {
  let res: Response;
  try {
    const client = clientFor(http);
    res = await f(url, {
      method: "POST",
      body,
      headers,
      signal: AbortSignal.timeout(http.timeoutMs),
      ...(client ? { client } : {}),
    });
  } catch (e) {
    return { ok: false, retry: true, error: `POST ${redact(url)}: ${errText(e)}` };
  }
  const text = await res.text().catch(() => "");
  if (res.ok) return { ok: true };
  const s = res.status;
  const retry = s === 408 || s === 429 || s >= 500;
  const retryAfterMs = parseRetryAfter(res.headers.get("Retry-After"));
  return {
    ok: false,
    retry,
    error: `POST ${redact(url)}: HTTP ${s}${text ? `: ${text.slice(0, 200)}` : ""}`,
    retryAfterMs,
  };
}

function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

/** Drops credentials and query strings (tokens often live there) from a URL for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${
      u.pathname.length > 24 ? u.pathname.slice(0, 24) + "\u2026" : u.pathname
    }`;
  } catch {
    return "(bad url)";
  }
}

/** The message of an unknown error, with its cause (fetch hides the TLS or DNS reason there). */
export function errText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  return e.cause !== undefined && e.cause !== e ? `${e.message}: ${errText(e.cause)}` : e.message;
}
