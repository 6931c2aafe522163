/**
 * `pagerduty_configs[]` (Events API v2): schema, compiled form and
 * compilation, with the `global.pagerduty_url` default.
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

/** `pagerduty_configs[]` (Events API v2). */
export interface PagerDutyConfig extends ChannelBase {
  readonly type: "pagerduty";
  readonly routingKey: string;
  readonly url: string;
  readonly client: string;
  readonly clientUrl: string;
  readonly description: string;
  readonly severity: string;
  readonly source: string;
  readonly class: string;
  readonly component: string;
  readonly group: string;
  readonly details: Readonly<Record<string, string>>;
  /** Images and links on the incident (string values are templates). */
  readonly images: readonly {
    readonly src?: string;
    readonly alt?: string;
    readonly href?: string;
  }[];
  readonly links: readonly { readonly href?: string; readonly text?: string }[];
  readonly http: HttpConfig;
}

const DEFAULT_PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue";

export const pagerdutySchema = z.strictObject({
  ...channelCommon,
  routing_key: z.optional(str),
  routing_key_file: z.optional(str),
  service_key: z.optional(str),
  service_key_file: z.optional(str),
  url: z.optional(url),
  client: z.optional(str),
  client_url: z.optional(str),
  description: z.optional(str),
  severity: z.optional(str),
  source: z.optional(str),
  class: z.optional(str),
  component: z.optional(str),
  group: z.optional(str),
  details: z.optional(strMap),
  images: z.optional(z.array(
    z.strictObject({ src: z.optional(str), alt: z.optional(str), href: z.optional(str) }),
  )),
  links: z.optional(z.array(z.strictObject({ href: z.optional(str), text: z.optional(str) }))),
  http_config: httpConfigSchema,
});

/**
 * Compiles the PagerDuty channel at `at` (e.g. `receivers[0].pagerduty_configs[1]`);
 * undefined when it has no routing key (reported) and is skipped.
 */
export function compilePagerDuty(
  c: z.output<typeof pagerdutySchema>,
  at: string,
  ctx: ChannelContext,
): PagerDutyConfig | undefined {
  const g = ctx.global;
  for (const f of ["description", "severity", "source", "client", "client_url"] as const) {
    const v = c[f];
    if (v) ctx.template(`${at}.${f}`, v);
  }
  const routingKey = ctx.secret(c.routing_key, c.routing_key_file, `${at}.routing_key_file`);
  if (!routingKey) {
    if (c.service_key !== undefined || c.service_key_file !== undefined) {
      ctx.warnings.push(
        `${at}.service_key: Events API v1 is not supported by Perch; this channel is ` +
          "skipped (use routing_key, Events API v2)",
      );
    } else ctx.errors.push(`${at}.routing_key: required (or routing_key_file)`);
    return undefined;
  }
  return {
    type: "pagerduty",
    sendResolved: c.send_resolved ?? true,
    rateLimit: rateLimit(c.rate_limit),
    routingKey,
    url: c.url ?? g.pagerduty_url ?? DEFAULT_PAGERDUTY_URL,
    client: c.client ?? "Perch",
    clientUrl: c.client_url ?? "{{ .ExternalURL }}",
    description: c.description ?? '{{ template "pagerduty.default.description" . }}',
    severity: c.severity ?? "error",
    source: c.source ?? "{{ .Receiver }}",
    class: c.class ?? "",
    component: c.component ?? "",
    group: c.group ?? "",
    details: c.details ?? {
      firing: '{{ template "pagerduty.default.instances" .Alerts.Firing }}',
      resolved: '{{ template "pagerduty.default.instances" .Alerts.Resolved }}',
      num_firing: "{{ .Alerts.Firing | len }}",
      num_resolved: "{{ .Alerts.Resolved | len }}",
    },
    images: c.images ?? [],
    links: c.links ?? [],
    http: ctx.http(c.http_config, at),
  };
}
