/**
 * `pagerduty_configs[]` (Events API v2): schema, compiled form and
 * compilation, with the `global.pagerduty_url` default.
 *
 * @module
 */
import { z } from "zod";
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
  routing_key: str.optional(),
  routing_key_file: str.optional(),
  service_key: str.optional(),
  service_key_file: str.optional(),
  url: url.optional(),
  client: str.optional(),
  client_url: str.optional(),
  description: str.optional(),
  severity: str.optional(),
  source: str.optional(),
  class: str.optional(),
  component: str.optional(),
  group: str.optional(),
  details: strMap.optional(),
  images: z.array(
    z.strictObject({ src: str.optional(), alt: str.optional(), href: str.optional() }),
  ).optional(),
  links: z.array(z.strictObject({ href: str.optional(), text: str.optional() })).optional(),
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
