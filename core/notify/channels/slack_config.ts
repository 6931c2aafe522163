/**
 * `slack_configs[]`: schema, compiled form and compilation, with the
 * `global.slack_api_url` default.
 *
 * @module
 */
import { z } from "../../model/mod.ts";
import {
  amBool as bool,
  amHttpConfigSchema as httpConfigSchema,
  amStr as str,
  amUrl as url,
} from "../../config/mod.ts";
import {
  type ChannelBase,
  channelCommon,
  type ChannelContext,
  type HttpConfig,
  rateLimit,
} from "../config_fields.ts";

/** `slack_configs[]`. */
export interface SlackConfig extends ChannelBase {
  readonly type: "slack";
  readonly apiUrl: string;
  readonly channel: string;
  readonly username: string;
  readonly color: string;
  readonly title: string;
  readonly titleLink: string;
  readonly pretext: string;
  readonly text: string;
  readonly fallback: string;
  readonly iconEmoji: string;
  readonly iconUrl: string;
  readonly footer: string;
  readonly callbackId: string;
  readonly imageUrl: string;
  readonly thumbUrl: string;
  readonly linkNames: boolean;
  /** Attachment fields that take Markdown. @default fallback, pretext, text */
  readonly mrkdwnIn: readonly string[];
  /** Attachment fields (title and value are templates). */
  readonly fields: readonly SlackField[];
  /** Message buttons (string values are templates). */
  readonly actions: readonly SlackAction[];
  readonly http: HttpConfig;
}

/** `slack_configs[].fields[]`; `short` defaults to the config's `short_fields`. */
export interface SlackField {
  readonly title: string;
  readonly value: string;
  readonly short: boolean;
}

/** `slack_configs[].actions[]`, as Alertmanager takes them. */
export interface SlackAction {
  readonly type: string;
  readonly text: string;
  readonly url?: string;
  readonly style?: string;
  readonly name?: string;
  readonly value?: string;
  readonly confirm?: {
    readonly text: string;
    readonly title?: string;
    readonly ok_text?: string;
    readonly dismiss_text?: string;
  };
}

export const slackSchema = z.strictObject({
  ...channelCommon,
  api_url: z.optional(url),
  api_url_file: z.optional(str),
  channel: z.optional(str),
  username: z.optional(str),
  color: z.optional(str),
  title: z.optional(str),
  title_link: z.optional(str),
  pretext: z.optional(str),
  text: z.optional(str),
  fields: z.optional(z.array(z.strictObject({ title: str, value: str, short: z.optional(bool) }))),
  short_fields: z.optional(bool),
  footer: z.optional(str),
  fallback: z.optional(str),
  callback_id: z.optional(str),
  icon_emoji: z.optional(str),
  icon_url: z.optional(str),
  image_url: z.optional(str),
  thumb_url: z.optional(str),
  link_names: z.optional(bool),
  mrkdwn_in: z.optional(z.array(str)),
  actions: z.optional(z.array(z.strictObject({
    type: str.check(z.minLength(1, "must not be empty")),
    text: str.check(z.minLength(1, "must not be empty")),
    url: z.optional(str),
    style: z.optional(str),
    name: z.optional(str),
    value: z.optional(str),
    confirm: z.optional(z.strictObject({
      text: str,
      title: z.optional(str),
      ok_text: z.optional(str),
      dismiss_text: z.optional(str),
    })),
  }))),
  http_config: httpConfigSchema,
});

/** Compiles the Slack channel at `at` (e.g. `receivers[0].slack_configs[1]`). */
export function compileSlack(
  c: z.output<typeof slackSchema>,
  at: string,
  ctx: ChannelContext,
): SlackConfig {
  const g = ctx.global;
  for (const f of ["color", "title", "title_link", "pretext", "text", "fallback"] as const) {
    const v = c[f];
    if (v) ctx.template(`${at}.${f}`, v);
  }
  const more = [c.footer, c.image_url, c.thumb_url, c.callback_id];
  for (const v of more) if (v) ctx.template(at, v);
  c.fields?.forEach((f, k) => {
    ctx.template(`${at}.fields[${k}].title`, f.title);
    ctx.template(`${at}.fields[${k}].value`, f.value);
  });
  c.actions?.forEach((a, k) => {
    for (const v of [a.text, a.url, a.style, a.name, a.value]) {
      if (v) ctx.template(`${at}.actions[${k}]`, v);
    }
    if (!a.url && !a.name) ctx.errors.push(`${at}.actions[${k}]: needs url or name`);
  });
  const apiUrl = ctx.secret(c.api_url, c.api_url_file, `${at}.api_url_file`) ??
    ctx.secret(g.slack_api_url, g.slack_api_url_file, "global.slack_api_url_file");
  if (!apiUrl) {
    ctx.errors.push(`${at}.api_url: required (or api_url_file, global.slack_api_url)`);
  }
  return {
    type: "slack",
    sendResolved: c.send_resolved ?? false,
    rateLimit: rateLimit(c.rate_limit),
    apiUrl: apiUrl ?? "",
    channel: c.channel ?? "",
    username: c.username ?? "Perch",
    color: c.color ?? '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}',
    title: c.title ?? '{{ template "slack.default.title" . }}',
    titleLink: c.title_link ?? '{{ template "slack.default.titlelink" . }}',
    pretext: c.pretext ?? "",
    text: c.text ?? '{{ template "slack.default.text" . }}',
    fallback: c.fallback ?? '{{ template "slack.default.title" . }}',
    iconEmoji: c.icon_emoji ?? "",
    iconUrl: c.icon_url ?? "",
    footer: c.footer ?? "",
    callbackId: c.callback_id ?? "",
    imageUrl: c.image_url ?? "",
    thumbUrl: c.thumb_url ?? "",
    linkNames: c.link_names ?? false,
    mrkdwnIn: c.mrkdwn_in ?? ["fallback", "pretext", "text"],
    fields: (c.fields ?? []).map((f) => ({
      title: f.title,
      value: f.value,
      short: f.short ?? c.short_fields ?? false,
    })),
    actions: c.actions ?? [],
    http: ctx.http(c.http_config, at),
  };
}
