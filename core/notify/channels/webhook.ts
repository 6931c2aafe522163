/**
 * Webhook channel: Alertmanager's webhook payload, version 4, so existing
 * consumers work; or a custom body template (Perch's `body_template`).
 *
 * @module
 */
import type { WebhookConfig } from "./webhook_config.ts";
import {
  commonAnnotations,
  commonLabels,
  type Notification,
  rfc3339,
  templateData,
} from "../notification.ts";
import { type ChannelSender, httpHeaders, postJson } from "./channel.ts";
import { plainText, renderOr } from "./render.ts";

/** Alertmanager's webhook message (version "4"). */
export interface WebhookPayload {
  readonly version: "4";
  readonly groupKey: string;
  readonly truncatedAlerts: number;
  readonly status: "firing" | "resolved";
  readonly receiver: string;
  readonly groupLabels: Record<string, string>;
  readonly commonLabels: Record<string, string>;
  readonly commonAnnotations: Record<string, string>;
  readonly externalURL: string;
  readonly alerts: readonly {
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
}

/** Builds the v4 payload; `maxAlerts` > 0 truncates the list. */
export function webhookPayload(n: Notification, maxAlerts = 0): WebhookPayload {
  const alerts = maxAlerts > 0 ? n.alerts.slice(0, maxAlerts) : n.alerts;
  return {
    version: "4",
    groupKey: n.groupKey,
    truncatedAlerts: n.alerts.length - alerts.length,
    status: n.status,
    receiver: n.receiver,
    groupLabels: { ...n.groupLabels },
    commonLabels: commonLabels(n),
    commonAnnotations: commonAnnotations(n),
    externalURL: n.externalURL,
    alerts: alerts.map((a) => ({
      status: a.status,
      labels: { ...a.labels },
      annotations: { ...a.annotations },
      startsAt: rfc3339(a.startsAt),
      endsAt: rfc3339(a.endsAt),
      generatorURL: a.generatorURL,
      fingerprint: a.fingerprint,
    })),
  };
}

/** Sends a notification to a webhook. */
export const sendWebhook: ChannelSender<WebhookConfig> = (n, c, ctx) => {
  const body = c.bodyTemplate
    ? renderOr(c.bodyTemplate, templateData(n), plainText(n), ctx.logger, "body_template")
    : JSON.stringify(webhookPayload(n, c.maxAlerts));
  const headers = httpHeaders(c.http, ctx.idempotencyKey);
  return postJson(ctx.fetch, c.url, body, headers, c.http);
};
