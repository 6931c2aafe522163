/**
 * Forwarding to an external Alertmanager: `POST <url>/api/v2/alerts` with
 * its v2 postable-alert shape. Resolved alerts carry their `endsAt`.
 *
 * @module
 */
import type { AlertmanagerConfig } from "./alertmanager_config.ts";
import type { Notification } from "../notification.ts";
import { type ChannelSender, httpHeaders, postJson } from "./channel.ts";

/**
 * Alertmanager's postable alerts for a notification. Firing alerts get an
 * `endsAt` of `now` + the route's repeat and group intervals, so Alertmanager
 * does not resolve them (after its `resolve_timeout`) between repeats.
 * `externalLabels` are added where an alert lacks the label, as Prometheus does.
 */
export function alertmanagerPayload(
  n: Notification,
  now: number,
  externalLabels: Readonly<Record<string, string>> = {},
): Record<string, unknown>[] {
  return n.alerts.map((a) => {
    const out: Record<string, unknown> = {
      labels: { ...externalLabels, ...a.labels },
      annotations: { ...a.annotations },
      startsAt: new Date(a.startsAt).toISOString(),
      generatorURL: a.generatorURL,
    };
    if (a.endsAt > 0) out.endsAt = new Date(a.endsAt).toISOString();
    else if (n.validForMs) out.endsAt = new Date(now + n.validForMs).toISOString();
    return out;
  });
}

/** Posts the alerts to an Alertmanager. */
export const sendAlertmanager: ChannelSender<AlertmanagerConfig> = (n, c, ctx) => {
  const body = JSON.stringify(alertmanagerPayload(n, ctx.now, c.externalLabels));
  const headers = httpHeaders(c.http, ctx.idempotencyKey);
  return postJson(ctx.fetch, `${c.url}/api/v2/alerts`, body, headers, c.http);
};
