/**
 * PagerDuty channel, Events API v2: `trigger` while any alert fires,
 * `resolve` when all are resolved, with a dedup key stable per group so
 * PagerDuty folds repeats into one incident.
 *
 * @module
 */
import type { Logger } from "../../logging/mod.ts";
import { sha256Hex } from "../../model/mod.ts";
import type { PagerDutyConfig } from "./pagerduty_config.ts";
import { type Notification, templateData } from "../notification.ts";
import { type ChannelSender, httpHeaders, postJson } from "./channel.ts";
import { plainText, renderOr } from "./render.ts";

const SEVERITIES = new Set(["critical", "error", "warning", "info"]);

/** The dedup key for a group: hex SHA-256 of the receiver and group key. */
export function dedupKey(n: Notification): string {
  return sha256Hex(`${n.receiver}\n${n.groupKey}`);
}

/** Builds the Events API v2 body. */
export function pagerdutyPayload(
  n: Notification,
  c: PagerDutyConfig,
  log: Logger,
): Record<string, unknown> {
  const data = templateData(n);
  const r = (src: string, field: string, fallback = "") =>
    renderOr(src, data, fallback, log, field);
  const action = n.status === "firing" ? "trigger" : "resolve";
  const body: Record<string, unknown> = {
    routing_key: c.routingKey,
    event_action: action,
    dedup_key: dedupKey(n),
  };
  if (action === "trigger") {
    let severity = r(c.severity, "severity", "error").toLowerCase();
    if (!SEVERITIES.has(severity)) {
      log.warn("pagerduty severity is not one of critical, error, warning, info; using error", {
        severity,
      });
      severity = "error";
    }
    const details: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.details)) details[k] = r(v, `details.${k}`);
    const payload: Record<string, unknown> = {
      // PagerDuty truncates summaries at 1024 characters.
      summary: r(c.description, "description", plainText(n).split("\n")[0]!).slice(0, 1024),
      source: r(c.source, "source", n.receiver) || n.receiver,
      severity,
      timestamp: new Date(Math.min(...n.alerts.map((a) => a.startsAt))).toISOString(),
      custom_details: details,
    };
    if (c.class) payload.class = r(c.class, "class");
    if (c.component) payload.component = r(c.component, "component");
    if (c.group) payload.group = r(c.group, "group");
    body.payload = payload;
    const images = c.images.map((im, i) => ({
      src: r(im.src ?? "", `images[${i}].src`),
      alt: r(im.alt ?? "", `images[${i}].alt`),
      href: r(im.href ?? "", `images[${i}].href`),
    })).filter((im) => im.src !== "");
    if (images.length > 0) body.images = images;
    const links = c.links.map((l, i) => ({
      href: r(l.href ?? "", `links[${i}].href`),
      text: r(l.text ?? "", `links[${i}].text`),
    })).filter((l) => l.href !== "");
    if (links.length > 0) body.links = links;
    body.client = r(c.client, "client", "Perch");
    const clientUrl = r(c.clientUrl, "client_url");
    if (clientUrl) body.client_url = clientUrl;
  }
  return body;
}

/** Sends an event to PagerDuty. */
export const sendPagerDuty: ChannelSender<PagerDutyConfig> = (n, c, ctx) => {
  const body = JSON.stringify(pagerdutyPayload(n, c, ctx.logger));
  return postJson(ctx.fetch, c.url, body, httpHeaders(c.http), c.http);
};
