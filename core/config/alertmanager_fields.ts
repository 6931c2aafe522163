/**
 * Alertmanager's `global` settings and the schema pieces they share with
 * the notify sections (durations, URLs, prometheus/common's HTTP and TLS
 * client configs). They live with the config schema, which accepts them in
 * `global`; core/notify builds its receiver schemas from them.
 *
 * @module
 */
import { z } from "zod";
import { parseDuration } from "../model/mod.ts";

export const amDuration = z.string({ error: "must be a duration such as 30s, 5m, 4h" }).refine(
  (s) => (parseDuration(s) ?? -1) > 0,
  "must be a positive duration such as 30s, 5m, 4h",
);
/** Alertmanager allows a zero `group_wait` (notify as soon as an alert arrives). */
export const amDurationOrZero = z.string({ error: "must be a duration such as 0s, 30s, 5m" })
  .refine(
    (s) => (parseDuration(s) ?? -1) >= 0,
    "must be a duration such as 0s, 30s, 5m",
  );
export const amUrl = z.string({ error: "must be a URL" }).refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}, "must be a URL");
export const amStr = z.string({ error: "must be a string" });
export const amHostPort = amStr.refine((s) => /^[^\s:]+:\d{1,5}$/.test(s), "must be host:port");
export const amStrMap = z.record(z.string(), z.string({ error: "must be a string" }));
export const amBool = z.boolean({ error: "must be true or false" });

export const amTlsConfigSchema = z.strictObject({
  ca: amStr.optional(),
  ca_file: amStr.optional(),
  cert: amStr.optional(),
  cert_file: amStr.optional(),
  key: amStr.optional(),
  key_file: amStr.optional(),
  server_name: amStr.optional(),
  insecure_skip_verify: amBool.optional(),
  min_version: amStr.optional(),
  max_version: amStr.optional(),
});

/** prometheus/common's HTTP client config, as Alertmanager takes it (+ Perch's `timeout`). */
export const amHttpConfigSchema = z.strictObject({
  basic_auth: z.strictObject({
    username: amStr.optional(),
    username_file: amStr.optional(),
    password: amStr.optional(),
    password_file: amStr.optional(),
  }).optional(),
  authorization: z.strictObject({
    type: amStr.optional(),
    credentials: amStr.optional(),
    credentials_file: amStr.optional(),
  }).optional(),
  bearer_token: amStr.optional(),
  bearer_token_file: amStr.optional(),
  oauth2: z.record(z.string(), z.unknown()).optional(),
  tls_config: amTlsConfigSchema.optional(),
  proxy_url: amStr.optional(),
  no_proxy: amStr.optional(),
  proxy_from_environment: amBool.optional(),
  proxy_connect_header: z.record(z.string(), z.unknown()).optional(),
  follow_redirects: amBool.optional(),
  enable_http2: amBool.optional(),
  timeout: amDuration.optional(),
}).optional();

/**
 * Alertmanager's `global` settings, accepted in Perch's `global` section:
 * `smtp_*`, `slack_api_url`, `pagerduty_url` and `http_config` are the
 * defaults of the channels that leave them out, as in Alertmanager; the
 * settings of receivers Perch lacks are accepted and unused.
 */
export const alertmanagerGlobalFields = {
  resolve_timeout: amDurationOrZero.optional(),
  http_config: amHttpConfigSchema,
  smtp_from: amStr.optional(),
  smtp_hello: amStr.optional(),
  smtp_smarthost: amHostPort.optional(),
  smtp_auth_username: amStr.optional(),
  smtp_auth_password: amStr.optional(),
  smtp_auth_password_file: amStr.optional(),
  smtp_auth_secret: amStr.optional(),
  smtp_auth_identity: amStr.optional(),
  smtp_require_tls: amBool.optional(),
  smtp_tls_config: amTlsConfigSchema.optional(),
  slack_api_url: amUrl.optional(),
  slack_api_url_file: amStr.optional(),
  pagerduty_url: amUrl.optional(),
  opsgenie_api_url: amStr.optional(),
  opsgenie_api_key: amStr.optional(),
  opsgenie_api_key_file: amStr.optional(),
  wechat_api_url: amStr.optional(),
  wechat_api_secret: amStr.optional(),
  wechat_api_corp_id: amStr.optional(),
  victorops_api_url: amStr.optional(),
  victorops_api_key: amStr.optional(),
  victorops_api_key_file: amStr.optional(),
  telegram_api_url: amStr.optional(),
  webex_api_url: amStr.optional(),
};
