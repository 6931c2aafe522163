/**
 * Slack channel: an incoming-webhook message with one attachment, coloured by
 * state, with title/text templates.
 *
 * @module
 */
import type { SlackConfig } from "./slack_config.ts";
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
    footer: r(c.footer, "footer"),
    callback_id: r(c.callbackId, "callback_id"),
    image_url: r(c.imageUrl, "image_url"),
    thumb_url: r(c.thumbUrl, "thumb_url"),
    mrkdwn_in: c.mrkdwnIn,
  };
  for (const k of Object.keys(attachment)) if (attachment[k] === "") delete attachment[k];
  if (c.fields.length > 0) {
    attachment.fields = c.fields.map((f, i) => ({
      title: r(f.title, `fields[${i}].title`),
      value: r(f.value, `fields[${i}].value`),
      short: f.short,
    }));
  }
  if (c.actions.length > 0) {
    attachment.actions = c.actions.map((a, i) => {
      const out: Record<string, unknown> = { type: a.type, text: r(a.text, `actions[${i}].text`) };
      for (const k of ["url", "style", "name", "value"] as const) {
        const v = a[k];
        if (v) out[k] = r(v, `actions[${i}].${k}`);
      }
      if (a.confirm) out.confirm = { ...a.confirm };
      return out;
    });
  }
  const msg: Record<string, unknown> = { attachments: [attachment] };
  if (c.linkNames) msg.link_names = true;
  if (c.channel) msg.channel = c.channel;
  if (c.username) msg.username = c.username;
  if (c.iconEmoji) msg.icon_emoji = c.iconEmoji;
  if (c.iconUrl) msg.icon_url = c.iconUrl;
  return msg;
}

/** Sends a notification to a Slack incoming webhook. */
export const sendSlack: ChannelSender<SlackConfig> = (n, c, ctx) => {
  const body = JSON.stringify(slackPayload(n, c, ctx.logger));
  return postJson(ctx.fetch, c.apiUrl, body, httpHeaders(c.http), c.http);
};
