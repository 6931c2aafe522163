/**
 * What the channel configs share: the compiled HTTP client settings, the
 * `rate_limit` every channel takes, and {@linkcode ChannelContext}, what a
 * channel's compile function gets from the config around it (the field types
 * and Alertmanager's `global` settings are core/config's).
 *
 * @module
 */
import {
  alertmanagerGlobalFields,
  amBool as bool,
  amDuration as duration,
  amHttpConfigSchema as httpConfigSchema,
} from "../config/mod.ts";
import { parseDuration, z } from "../model/mod.ts";

/** Basic or bearer auth, extra headers, TLS and proxy for an HTTP channel. */
export interface HttpConfig {
  readonly basicAuth?: { readonly username: string; readonly password: string };
  readonly bearerToken?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** An extra trusted CA and a client certificate (PEM; `*_file`s are read at load). */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  readonly proxyUrl?: string;
}

/** Token bucket: `burst` notifications at once, refilled at `burst` per `period`. */
export interface RateLimit {
  readonly burst: number;
  readonly periodMs: number;
}

/** Settings every channel has. */
export interface ChannelBase {
  readonly sendResolved: boolean;
  readonly rateLimit?: RateLimit;
}

export const rateLimitSchema = z.optional(z.strictObject({
  burst: z.number({ error: "must be a number" }).check(
    z.int("must be an integer"),
    z.gte(
      1,
      "must be at least 1",
    ),
  ),
  period: duration,
}));

/** `send_resolved` and `rate_limit`, which every channel takes. */
export const channelCommon = {
  send_resolved: z.optional(bool),
  rate_limit: rateLimitSchema,
};

export function httpConfig(
  c: z.output<typeof httpConfigSchema>,
  headers: Record<string, string> = {},
  secret: (value: string | undefined, file: string | undefined, key: string) => string | undefined,
): HttpConfig {
  const basic = c?.basic_auth;
  const bearer = c?.authorization
    ? secret(
      c.authorization.credentials,
      c.authorization.credentials_file,
      "authorization.credentials_file",
    )
    : secret(c?.bearer_token, c?.bearer_token_file, "bearer_token_file");
  const tls = c?.tls_config;
  const ca = secret(tls?.ca, tls?.ca_file, "tls_config.ca_file");
  const cert = secret(tls?.cert, tls?.cert_file, "tls_config.cert_file");
  const key = secret(tls?.key, tls?.key_file, "tls_config.key_file");
  const tlsOut = ca || (cert && key) ? { ca, cert, key } : undefined;
  return {
    tls: tlsOut,
    proxyUrl: c?.proxy_url,
    basicAuth: basic
      ? {
        username: secret(basic.username, basic.username_file, "basic_auth.username_file") ?? "",
        password: secret(basic.password, basic.password_file, "basic_auth.password_file") ?? "",
      }
      : undefined,
    bearerToken: bearer,
    headers,
    timeoutMs: c?.timeout ? parseDuration(c.timeout)! : 10_000,
  };
}

export function rateLimit(c: z.output<typeof rateLimitSchema>): RateLimit | undefined {
  return c ? { burst: c.burst, periodMs: parseDuration(c.period)! } : undefined;
}

/** Alertmanager's `global` settings (the channel defaults), as parsed. */
export const globalSchema = z.object(alertmanagerGlobalFields);
export type GlobalSettings = z.output<typeof globalSchema>;

/** What compiling one channel needs from its receiver and the whole config. */
export interface ChannelContext {
  /** The `global` section: defaults of the channels that leave a setting out. */
  readonly global: GlobalSettings;
  /** `global.external_labels`. */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** Problems found, each message starting with its path. */
  readonly errors: string[];
  readonly warnings: string[];
  /** A secret given inline or in a file (`*_file`); undefined when neither. */
  secret(value: string | undefined, file: string | undefined, at: string): string | undefined;
  /** `http_config` at `at` (the global one when absent), with unsupported settings warned about. */
  http(
    c: z.output<typeof httpConfigSchema>,
    at: string,
    headers?: Record<string, string>,
  ): HttpConfig;
  /** Reports the template `src` at `path` when it does not parse. */
  template(path: string, src: string): void;
  /** Warns that the settings `keys` of `c`, at `path`, are ignored. */
  ignored(path: string, c: Record<string, unknown>, keys: readonly string[]): void;
}
