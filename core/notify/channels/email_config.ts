/**
 * `email_configs[]`: schema, compiled form and compilation, with the
 * `global.smtp_*` defaults.
 *
 * @module
 */
import { parseDuration, z } from "../../model/mod.ts";
import {
  amBool as bool,
  amDuration as duration,
  amHostPort as hostPort,
  amStr as str,
  amStrMap as strMap,
  amTlsConfigSchema as tlsConfigSchema,
} from "../../config/mod.ts";
import {
  type ChannelBase,
  channelCommon,
  type ChannelContext,
  rateLimit,
} from "../config_fields.ts";

/** `email_configs[]`. */
export interface EmailConfig extends ChannelBase {
  readonly type: "email";
  readonly to: string;
  readonly from: string;
  /** `host:port`; port 465 means implicit TLS. */
  readonly smarthost: string;
  readonly hello: string;
  readonly authUsername?: string;
  readonly authPassword?: string;
  readonly authIdentity?: string;
  readonly requireTls: boolean;
  /** Extra CA certificates (PEM) to trust, from `tls_config.ca_file` or `tls_config.ca`. */
  readonly caFile?: string;
  readonly ca?: string;
  readonly serverName?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly html: string;
  readonly text: string;
  readonly timeoutMs: number;
}

export const emailSchema = z.strictObject({
  ...channelCommon,
  to: str.check(z.minLength(1, "must not be empty")),
  from: z.optional(str),
  smarthost: z.optional(hostPort),
  hello: z.optional(str),
  auth_username: z.optional(str),
  auth_password: z.optional(str),
  auth_password_file: z.optional(str),
  auth_secret: z.optional(str),
  auth_identity: z.optional(str),
  require_tls: z.optional(bool),
  tls_config: z.optional(tlsConfigSchema),
  headers: z.optional(strMap),
  html: z.optional(str),
  text: z.optional(str),
  timeout: z.optional(duration),
});

/** Compiles the email channel at `at` (e.g. `receivers[0].email_configs[1]`). */
export function compileEmail(
  c: z.output<typeof emailSchema>,
  at: string,
  ctx: ChannelContext,
): EmailConfig {
  const g = ctx.global;
  const headers = { ...(c.headers ?? {}) };
  for (const [k, v] of Object.entries(headers)) ctx.template(`${at}.headers.${k}`, v);
  if (c.html) ctx.template(`${at}.html`, c.html);
  if (c.text) ctx.template(`${at}.text`, c.text);
  const from = c.from ?? g.smtp_from;
  const smarthost = c.smarthost ?? g.smtp_smarthost;
  if (!from) ctx.errors.push(`${at}.from: required (or global.smtp_from)`);
  if (!smarthost) ctx.errors.push(`${at}.smarthost: required (or global.smtp_smarthost)`);
  const tls = c.tls_config ?? g.smtp_tls_config;
  if (c.auth_secret ?? g.smtp_auth_secret) {
    ctx.warnings.push(`${at}.auth_secret: CRAM-MD5 is not supported by Perch; ignored`);
  }
  if (tls?.insecure_skip_verify) {
    ctx.warnings.push(
      `${at}.tls_config.insecure_skip_verify: not supported (Deno cannot skip ` +
        "verification per connection); the server's certificate is verified: trust its CA " +
        "with ca_file",
    );
  }
  ctx.ignored(`${at}.tls_config`, tls ?? {}, ["cert", "cert_file", "key", "key_file"]);
  return {
    type: "email",
    sendResolved: c.send_resolved ?? false,
    rateLimit: rateLimit(c.rate_limit),
    to: c.to,
    from: from ?? "",
    smarthost: smarthost ?? "",
    hello: c.hello ?? g.smtp_hello ?? "localhost",
    authUsername: c.auth_username ?? g.smtp_auth_username,
    authPassword: ctx.secret(
      c.auth_password ?? g.smtp_auth_password,
      c.auth_password_file ?? g.smtp_auth_password_file,
      `${at}.auth_password_file`,
    ),
    authIdentity: c.auth_identity ?? g.smtp_auth_identity,
    requireTls: c.require_tls ?? g.smtp_require_tls ?? true,
    caFile: tls?.ca_file,
    ca: tls?.ca,
    serverName: tls?.server_name,
    headers,
    html: c.html ?? '{{ template "email.default.html" . }}',
    text: c.text ?? '{{ template "email.default.text" . }}',
    timeoutMs: c.timeout ? parseDuration(c.timeout)! : 30_000,
  };
}
