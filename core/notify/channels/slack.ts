/**
 * Slack channel: an incoming-webhook message with one attachment, coloured by
 * state, with title/text templates.
 *
 * @module
 */
import type { SlackConfig } from "../config.ts";
import type { Logger } from "../../logging/mod.ts";
import { type Notification, templateData } from "../notification.ts";
import { type ChannelSender, httpHeaders, postJson } from "./channel.ts";
import { plainText, renderOr } from "./render.ts";

/** Builds the Slack message (`attachments` shape of incoming webhooks). */
export function slackPayload(
  n: Notification,
  c: SlackConfig,
  log: Logger,
): Record<string, unknown> {
  const data = templateData(n);
  const r = (src: string, field: string, fallback = "") =>
    renderOr(src, data, fallback, log, field);
  const fallbackText = plainText(n);
  const attachment: Record<string, unknown> = {
    title: r(c.title, "title", `[${n.status.toUpperCase()}] ${n.groupKey}`),
    title_link: r(c.titleLink, "title_link"),
    pretext: r(c.pretext, "pretext"),
    text: r(c.text, "text", fallbackText),
    fallback: r(c.fallback, "fallback", fallbackText),
    color: r(c.color, "color", n.status === "firing" ? "danger" : "good"),
    mrkdwn_in: ["fallback", "pretext", "text"],
  };
  for (const k of Object.keys(attachment)) if (attachment[k] === "") delete attachment[k];
  const msg: Record<string, unknown> = { attachments: [attachment] };
  if (c.channel) msg.channel = c.channel;
  if (c.username) msg.username = c.username;
  if (c.iconEmoji) msg.icon_emoji = c.iconEmoji;
  if (c.iconUrl) msg.icon_url = c.iconUrl;
  return msg;
}

/** Sends a notification to a Slack incoming webhook. */
export const sendSlack: ChannelSender<SlackConfig> = (n, c, ctx) => {
  const body = JSON.stringify(slackPayload(n, c, ctx.logger));
  return postJson(ctx.fetch, c.apiUrl, body, httpHeaders(c.http), c.http.timeoutMs);
};
