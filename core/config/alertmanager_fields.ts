/**
 * Alertmanager's `global` settings and the schema pieces they share with
 * the notify sections (durations, URLs, prometheus/common's HTTP and TLS
 * client configs). They live with the config schema, which accepts them in
 * `global`; core/notify builds its receiver schemas from them.
 *
 * @module
 */
import { parseDuration, z } from "../model/mod.ts";

export const amDuration = z.string({ error: "must be a duration such as 30s, 5m, 4h" }).check(
  z.refine(
    (s) => (parseDuration(s) ?? -1) > 0,
    "must be a positive duration such as 30s, 5m, 4h",
  ),
);
/** Alertmanager allows a zero `group_wait` (notify as soon as an alert arrives). */
export const amDurationOrZero = z.string({ error: "must be a duration such as 0s, 30s, 5m" }).check(
  z.refine(
    (s) => (parseDuration(s) ?? -1) >= 0,
    "must be a duration such as 0s, 30s, 5m",
  ),
);
export const amUrl = z.string({ error: "must be a URL" }).check(z.refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}, "must be a URL"));
export const amStr = z.string({ error: "must be a string" });
export const amHostPort = amStr.check(
  z.refine((s) => /^[^\s:]+:\d{1,5}$/.test(s), "must be host:port"),
);
export const amStrMap = z.record(z.string(), z.string({ error: "must be a string" }));
export const amBool = z.boolean({ error: "must be true or false" });

export const amTlsConfigSchema = z.strictObject({
  ca: z.optional(amStr),
  ca_file: z.optional(amStr),
  cert: z.optional(amStr),
  cert_file: z.optional(amStr),
  key: z.optional(amStr),
  key_file: z.optional(amStr),
  server_name: z.optional(amStr),
  insecure_skip_verify: z.optional(amBool),
  min_version: z.optional(amStr),
  max_version: z.optional(amStr),
});

/** prometheus/common's HTTP client config, as Alertmanager takes it (+ Perch's `timeout`). */
export const amHttpConfigSchema = z.optional(z.strictObject({
  basic_auth: z.optional(z.strictObject({
    username: z.optional(amStr),
    username_file: z.optional(amStr),
    password: z.optional(amStr),
    password_file: z.optional(amStr),
  })),
  authorization: z.optional(z.strictObject({
    type: z.optional(amStr),
    credentials: z.optional(amStr),
    credentials_file: z.optional(amStr),
  })),
  bearer_token: z.optional(amStr),
  bearer_token_file: z.optional(amStr),
  oauth2: z.optional(z.record(z.string(), z.unknown())),
  tls_config: z.optional(amTlsConfigSchema),
  proxy_url: z.optional(amStr),
  no_proxy: z.optional(amStr),
  proxy_from_environment: z.optional(amBool),
  proxy_connect_header: z.optional(z.record(z.string(), z.unknown())),
  follow_redirects: z.optional(amBool),
  enable_http2: z.optional(amBool),
  timeout: z.optional(amDuration),
}));

/**
 * Alertmanager's `global` settings, accepted in Perch's `global` section:
 * `smtp_*`, `slack_api_url`, `pagerduty_url` and `http_config` are the
 * defaults of the channels that leave them out, as in Alertmanager; the
 * settings of receivers Perch lacks are accepted and unused.
 */
export const alertmanagerGlobalFields = {
  resolve_timeout: z.optional(amDurationOrZero),
  http_config: amHttpConfigSchema,
  smtp_from: z.optional(amStr),
  smtp_hello: z.optional(amStr),
  smtp_smarthost: z.optional(amHostPort),
  smtp_auth_username: z.optional(amStr),
  smtp_auth_password: z.optional(amStr),
  smtp_auth_password_file: z.optional(amStr),
  smtp_auth_secret: z.optional(amStr),
  smtp_auth_identity: z.optional(amStr),
  smtp_require_tls: z.optional(amBool),
  smtp_tls_config: z.optional(amTlsConfigSchema),
  slack_api_url: z.optional(amUrl),
  slack_api_url_file: z.optional(amStr),
  pagerduty_url: z.optional(amUrl),
  opsgenie_api_url: z.optional(amStr),
  opsgenie_api_key: z.optional(amStr),
  opsgenie_api_key_file: z.optional(amStr),
  wechat_api_url: z.optional(amStr),
  wechat_api_secret: z.optional(amStr),
  wechat_api_corp_id: z.optional(amStr),
  victorops_api_url: z.optional(amStr),
  victorops_api_key: z.optional(amStr),
  victorops_api_key_file: z.optional(amStr),
  telegram_api_url: z.optional(amStr),
  webex_api_url: z.optional(amStr),
};
