/**
 * `alertmanager_configs[]` (Perch): schema, compiled form and compilation.
 *
 * @module
 */
import { z } from "../../model/mod.ts";
import { amHttpConfigSchema as httpConfigSchema, amUrl as url } from "../../config/mod.ts";
import {
  type ChannelBase,
  channelCommon,
  type ChannelContext,
  type HttpConfig,
  rateLimit,
} from "../config_fields.ts";

/** `alertmanager_configs[]` (Perch): forward to an Alertmanager's `POST /api/v2/alerts`. */
export interface AlertmanagerConfig extends ChannelBase {
  readonly type: "alertmanager";
  /** Base URL, e.g. `http://am:9093`. */
  readonly url: string;
  readonly http: HttpConfig;
  /**
   * `global.external_labels`, added to each forwarded alert that lacks the
   * label (as Prometheus does towards its Alertmanagers).
   */
  readonly externalLabels: Readonly<Record<string, string>>;
}

export const alertmanagerSchema = z.strictObject({
  ...channelCommon,
  url,
  http_config: httpConfigSchema,
});

/** Compiles the Alertmanager channel at `at`. */
export function compileAlertmanager(
  c: z.output<typeof alertmanagerSchema>,
  at: string,
  ctx: ChannelContext,
): AlertmanagerConfig {
  return {
    type: "alertmanager",
    sendResolved: c.send_resolved ?? true,
    rateLimit: rateLimit(c.rate_limit),
    url: c.url.replace(/\/+$/, ""),
    http: ctx.http(c.http_config, at),
    externalLabels: ctx.externalLabels,
  };
}
