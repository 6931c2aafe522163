/**
 * `webhook_configs[]`: schema, compiled form and compilation.
 *
 * @module
 */
import { z } from "../../model/mod.ts";
import {
  amHttpConfigSchema as httpConfigSchema,
  amStr as str,
  amStrMap as strMap,
  amUrl as url,
} from "../../config/mod.ts";
import {
  type ChannelBase,
  channelCommon,
  type ChannelContext,
  type HttpConfig,
  rateLimit,
} from "../config_fields.ts";

/** `webhook_configs[]`. */
export interface WebhookConfig extends ChannelBase {
  readonly type: "webhook";
  readonly url: string;
  readonly maxAlerts: number;
  readonly http: HttpConfig;
  /** Perch extension: a template for the whole body instead of the v4 JSON. */
  readonly bodyTemplate?: string;
}

export const webhookSchema = z.strictObject({
  ...channelCommon,
  url: z.optional(url),
  url_file: z.optional(str),
  http_config: httpConfigSchema,
  headers: z.optional(strMap),
  max_alerts: z.optional(z.number().check(z.int(), z.gte(0, "must not be negative"))),
  body_template: z.optional(str),
});

/** Compiles the webhook channel at `at` (e.g. `receivers[0].webhook_configs[1]`). */
export function compileWebhook(
  c: z.output<typeof webhookSchema>,
  at: string,
  ctx: ChannelContext,
): WebhookConfig {
  if (c.body_template) ctx.template(`${at}.body_template`, c.body_template);
  const target = ctx.secret(c.url, c.url_file, `${at}.url_file`);
  if (!target) ctx.errors.push(`${at}.url: required (or url_file)`);
  return {
    type: "webhook",
    url: target ?? "",
    sendResolved: c.send_resolved ?? true,
    rateLimit: rateLimit(c.rate_limit),
    maxAlerts: c.max_alerts ?? 0,
    http: ctx.http(c.http_config, at, c.headers),
    bodyTemplate: c.body_template,
  };
}
