/**
 * The notify sections of Perch's config (`route`, `receivers`,
 * `inhibit_rules`, `time_intervals`) in Alertmanager's own syntax, plus
 * Perch's `alertmanager_configs` receiver type and per-channel `rate_limit`.
 *
 * {@linkcode parseNotifyConfig} validates the raw sections and compiles them
 * (durations in ms, matchers compiled, templates parsed), reporting every
 * problem at once with its path.
 *
 * @module
 */
import { z } from "zod";
import {
  alertmanagerGlobalFields,
  amBool as bool,
  amDuration as duration,
  amDurationOrZero as durationOrZero,
  amHostPort as hostPort,
  amHttpConfigSchema as httpConfigSchema,
  amStr as str,
  amStrMap as strMap,
  amTlsConfigSchema as tlsConfigSchema,
  amUrl as url,
} from "../config/mod.ts";
import { configIssues, LABEL_NAME_REGEXP, type Matcher, parseDuration } from "../model/mod.ts";
import { parseMatcher } from "./label_matchers.ts";
import { TemplateParseError } from "../template/mod.ts";
import { compileTemplate, parseDefinitions, type TemplateDefs, TemplateError } from "./template.ts";
import { globToRegExp, isGlob } from "../rules/mod.ts";
import { compileTimeInterval, type RawTimeInterval, type TimeInterval } from "./time_intervals.ts";

/** A node of the routing tree, with inherited settings filled in. */
export interface RouteConfig {
  /** Position in the tree, e.g. `"0"` for the root, `"0.2.1"` for a grandchild. */
  readonly id: string;
  readonly receiver: string;
  /** Label names to group by; `"all"` for `['...']`. */
  readonly groupBy: readonly string[] | "all";
  readonly groupWait: number;
  readonly groupInterval: number;
  readonly repeatInterval: number;
  readonly matchers: readonly Matcher[];
  readonly continue: boolean;
  readonly muteTimeIntervals: readonly string[];
  readonly activeTimeIntervals: readonly string[];
  readonly routes: readonly RouteConfig[];
}

/** Basic or bearer auth, extra headers, TLS and proxy for an HTTP channel. */
export interface HttpConfig {
  readonly basicAuth?: { readonly username: string; readonly password: string };
  readonly bearerToken?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** An extra trusted CA and a client certificate (PEM; `*_file`s are read at load). */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  readonly proxyUrl?: string;
}

/** Token bucket: `burst` notifications at once, refilled at `burst` per `period`. */
export interface RateLimit {
  readonly burst: number;
  readonly periodMs: number;
}

interface ChannelBase {
  readonly sendResolved: boolean;
  readonly rateLimit?: RateLimit;
}

/** `webhook_configs[]`. */
export interface WebhookConfig extends ChannelBase {
  readonly type: "webhook";
  readonly url: string;
  readonly maxAlerts: number;
  readonly http: HttpConfig;
  /** Perch extension: a template for the whole body instead of the v4 JSON. */
  readonly bodyTemplate?: string;
}

/** `email_configs[]`. */
export interface EmailConfig extends ChannelBase {
  readonly type: "email";
  readonly to: string;
  readonly from: string;
  /** `host:port`; port 465 means implicit TLS. */
  readonly smarthost: string;
  readonly hello: string;
  readonly authUsername?: string;
  readonly authPassword?: string;
  readonly authIdentity?: string;
  readonly requireTls: boolean;
  /** Extra CA certificates (PEM) to trust, from `tls_config.ca_file` or `tls_config.ca`. */
  readonly caFile?: string;
  readonly ca?: string;
  readonly serverName?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly html: string;
  readonly text: string;
  readonly timeoutMs: number;
}

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

/** One delivery channel of a receiver. */
export type ChannelConfig =
  | WebhookConfig
  | EmailConfig
  | SlackConfig
  | PagerDutyConfig
  | AlertmanagerConfig;

/** A named receiver with its channels. */
export interface ReceiverConfig {
  readonly name: string;
  readonly channels: readonly ChannelConfig[];
}

/** One inhibition rule. */
export interface InhibitRule {
  readonly sourceMatchers: readonly Matcher[];
  readonly targetMatchers: readonly Matcher[];
  readonly equal: readonly string[];
}

/** The compiled notify config. */
export interface NotifyConfig {
  /** Named templates from the `templates` files. */
  readonly templates?: TemplateDefs;
  /** Undefined when nothing is configured: alerts are kept but not sent. */
  readonly route?: RouteConfig;
  readonly receivers: ReadonlyMap<string, ReceiverConfig>;
  readonly inhibitRules: readonly InhibitRule[];
  readonly timeIntervals: ReadonlyMap<string, readonly TimeInterval[]>;
}

/** The raw sections as they appear in the config file. */
export interface RawNotifyConfig {
  readonly route?: unknown;
  readonly receivers?: unknown;
  readonly inhibit_rules?: unknown;
  readonly time_intervals?: unknown;
  /** Alertmanager's older name for `time_intervals`; both are read. */
  readonly mute_time_intervals?: unknown;
  /** Alertmanager's template files: not loaded (a warning says so). */
  readonly templates?: unknown;
  /** The `global` section; its Alertmanager settings are channel defaults. */
  readonly global?: unknown;
}

/** Alertmanager's route defaults. */
export { alertmanagerGlobalFields };

export const ROUTE_DEFAULTS = {
  groupWait: 30_000,
  groupInterval: 300_000,
  repeatInterval: 4 * 3600_000,
} as const;

const DEFAULT_PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue";

const rateLimitSchema = z.strictObject({
  burst: z.number({ error: "must be a number" }).int("must be an integer").min(
    1,
    "must be at least 1",
  ),
  period: duration,
}).optional();

const common = {
  send_resolved: bool.optional(),
  rate_limit: rateLimitSchema,
};

const webhookSchema = z.strictObject({
  ...common,
  url: url.optional(),
  url_file: str.optional(),
  http_config: httpConfigSchema,
  headers: strMap.optional(),
  max_alerts: z.number().int().min(0, "must not be negative").optional(),
  body_template: str.optional(),
});

const emailSchema = z.strictObject({
  ...common,
  to: str.min(1, "must not be empty"),
  from: str.optional(),
  smarthost: hostPort.optional(),
  hello: str.optional(),
  auth_username: str.optional(),
  auth_password: str.optional(),
  auth_password_file: str.optional(),
  auth_secret: str.optional(),
  auth_identity: str.optional(),
  require_tls: bool.optional(),
  tls_config: tlsConfigSchema.optional(),
  headers: strMap.optional(),
  html: str.optional(),
  text: str.optional(),
  timeout: duration.optional(),
});

const slackSchema = z.strictObject({
  ...common,
  api_url: url.optional(),
  api_url_file: str.optional(),
  channel: str.optional(),
  username: str.optional(),
  color: str.optional(),
  title: str.optional(),
  title_link: str.optional(),
  pretext: str.optional(),
  text: str.optional(),
  fields: z.array(z.strictObject({ title: str, value: str, short: bool.optional() })).optional(),
  short_fields: bool.optional(),
  footer: str.optional(),
  fallback: str.optional(),
  callback_id: str.optional(),
  icon_emoji: str.optional(),
  icon_url: str.optional(),
  image_url: str.optional(),
  thumb_url: str.optional(),
  link_names: bool.optional(),
  mrkdwn_in: z.array(str).optional(),
  actions: z.array(z.strictObject({
    type: str.min(1, "must not be empty"),
    text: str.min(1, "must not be empty"),
    url: str.optional(),
    style: str.optional(),
    name: str.optional(),
    value: str.optional(),
    confirm: z.strictObject({
      text: str,
      title: str.optional(),
      ok_text: str.optional(),
      dismiss_text: str.optional(),
    }).optional(),
  })).optional(),
  http_config: httpConfigSchema,
});

const pagerdutySchema = z.strictObject({
  ...common,
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

const alertmanagerSchema = z.strictObject({
  ...common,
  url,
  http_config: httpConfigSchema,
});

/** Receiver types of Alertmanager that Perch cannot send to: accepted, reported, skipped. */
const UNSUPPORTED_RECEIVERS = {
  opsgenie_configs: "OpsGenie",
  wechat_configs: "WeChat",
  pushover_configs: "Pushover",
  victorops_configs: "VictorOps",
  sns_configs: "Amazon SNS",
  telegram_configs: "Telegram",
  discord_configs: "Discord",
  webex_configs: "Webex",
  msteams_configs: "Microsoft Teams",
  msteamsv2_configs: "Microsoft Teams",
  jira_configs: "Jira",
  rocketchat_configs: "Rocket.Chat",
  incidentio_configs: "incident.io",
  mattermost_configs: "Mattermost",
} as const;

const receiverSchema = z.strictObject({
  name: str.min(1, "must not be empty"),
  webhook_configs: z.array(webhookSchema).optional(),
  email_configs: z.array(emailSchema).optional(),
  slack_configs: z.array(slackSchema).optional(),
  pagerduty_configs: z.array(pagerdutySchema).optional(),
  alertmanager_configs: z.array(alertmanagerSchema).optional(),
  ...Object.fromEntries(
    Object.keys(UNSUPPORTED_RECEIVERS).map((k) => [
      k,
      z.array(z.record(z.string(), z.unknown())).optional(),
    ]),
  ) as unknown as Record<
    keyof typeof UNSUPPORTED_RECEIVERS,
    z.ZodOptional<z.ZodArray<z.ZodRecord<z.ZodString, z.ZodUnknown>>>
  >,
});

const matcherList = z.array(str).optional();
const legacyMatch = strMap.optional();

interface RawRoute {
  receiver?: string;
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  matchers?: string[];
  match?: Record<string, string>;
  match_re?: Record<string, string>;
  continue?: boolean;
  mute_time_intervals?: string[];
  active_time_intervals?: string[];
  routes?: RawRoute[];
}

const routeSchema: z.ZodType<RawRoute> = z.lazy(() =>
  z.strictObject({
    receiver: str.optional(),
    group_by: z.array(str).optional(),
    group_wait: durationOrZero.optional(),
    group_interval: duration.optional(),
    repeat_interval: duration.optional(),
    matchers: matcherList,
    match: legacyMatch,
    match_re: legacyMatch,
    continue: bool.optional(),
    mute_time_intervals: z.array(str).optional(),
    active_time_intervals: z.array(str).optional(),
    routes: z.array(routeSchema).optional(),
  })
);

const inhibitSchema = z.strictObject({
  source_matchers: matcherList,
  target_matchers: matcherList,
  source_match: legacyMatch,
  source_match_re: legacyMatch,
  target_match: legacyMatch,
  target_match_re: legacyMatch,
  equal: z.array(str).optional(),
});

const timeIntervalSchema = z.strictObject({
  name: str.min(1, "must not be empty"),
  time_intervals: z.array(z.strictObject({
    times: z.array(z.strictObject({ start_time: str, end_time: str })).optional(),
    weekdays: z.array(str).optional(),
    days_of_month: z.array(z.union([str, z.number()]).transform(String)).optional(),
    months: z.array(z.union([str, z.number()]).transform(String)).optional(),
    years: z.array(z.union([str, z.number()]).transform(String)).optional(),
    location: str.optional(),
  })),
});

const sectionsSchema = z.object({
  route: routeSchema.optional(),
  receivers: z.array(receiverSchema).optional(),
  inhibit_rules: z.array(inhibitSchema).optional(),
  time_intervals: z.array(timeIntervalSchema).optional(),
  mute_time_intervals: z.array(timeIntervalSchema).optional(),
  templates: z.array(str).optional(),
  // Perch's own global settings are left to Perch's schema.
  global: z.object(alertmanagerGlobalFields).optional(),
});

/** Settings from outside the notify sections. */
export interface NotifyConfigOptions {
  /** `global.external_labels`, for alerts forwarded to an Alertmanager. @default {} */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /**
   * Reads a `*_file` setting or a template file; relative paths are the
   * caller's to resolve. @default Deno.readTextFileSync
   */
  readonly readFile?: (path: string) => string;
  /** Names of the files in a directory (template globs). @default Deno.readDirSync */
  readonly listDir?: (dir: string) => string[];
}

/** Validates and compiles the notify sections; returns every problem found. */
export function parseNotifyConfig(
  raw: RawNotifyConfig,
  options: NotifyConfigOptions = {},
): { config: NotifyConfig; warnings: string[] } | { errors: string[] } {
  const parsed = sectionsSchema.safeParse({
    route: raw.route ?? undefined,
    receivers: raw.receivers ?? undefined,
    inhibit_rules: raw.inhibit_rules ?? undefined,
    time_intervals: raw.time_intervals ?? undefined,
    mute_time_intervals: raw.mute_time_intervals ?? undefined,
    templates: raw.templates ?? undefined,
    global: raw.global ?? undefined,
  });
  if (!parsed.success) {
    return {
      errors: configIssues(parsed.error),
    };
  }
  const s = parsed.data;
  const errors: string[] = [];
  const warnings: string[] = [];
  const g = s.global ?? {};
  const read = options.readFile ?? Deno.readTextFileSync;
  /** A secret given inline or in a file (`*_file`); undefined when neither. */
  const secret = (value: string | undefined, file: string | undefined, at: string) => {
    if (value !== undefined || file === undefined) return value;
    try {
      return read(file).trim();
    } catch (e) {
      errors.push(`${at}: cannot read ${JSON.stringify(file)}: ${(e as Error).message}`);
      return "";
    }
  };
  const http = (
    c: z.output<typeof httpConfigSchema>,
    at: string,
    headers?: Record<string, string>,
  ) => {
    const path = c ? `${at}.http_config` : "global.http_config";
    const cfg = c ?? g.http_config;
    const unsupported = ["oauth2", "no_proxy", "proxy_from_environment", "proxy_connect_header"]
      .filter((k) => cfg?.[k as keyof typeof cfg] !== undefined);
    const tls = cfg?.tls_config;
    for (const k of ["server_name", "min_version", "max_version"] as const) {
      if (tls?.[k] !== undefined) unsupported.push(`tls_config.${k}`);
    }
    if (tls?.insecure_skip_verify) {
      unsupported.push("tls_config.insecure_skip_verify (verification stays on)");
    }
    if (unsupported.length > 0) {
      warnings.push(`${path}: ${unsupported.join(", ")} not supported by Perch; ignored`);
    }
    return httpConfig(cfg, headers, (v, f, k) => secret(v, f, `${path}.${k}`));
  };

  const templates = loadTemplates(s.templates ?? [], {
    read,
    listDir: options.listDir ??
      ((dir) => [...Deno.readDirSync(dir)].filter((e) => !e.isDirectory).map((e) => e.name)),
  }, errors);
  const timeIntervals = new Map<string, TimeInterval[]>();
  const addIntervals = (section: string, list: typeof s.time_intervals) =>
    (list ?? []).forEach((ti, i) => {
      if (timeIntervals.has(ti.name)) {
        errors.push(`${section}[${i}].name: duplicate time interval ${JSON.stringify(ti.name)}`);
      }
      const compiled = ti.time_intervals.map((raw, j) => {
        const errs: string[] = [];
        const c = compileTimeInterval(raw as RawTimeInterval, errs);
        for (const e of errs) errors.push(`${section}[${i}].time_intervals[${j}].${e}`);
        return c;
      });
      timeIntervals.set(ti.name, compiled);
    });
  addIntervals("time_intervals", s.time_intervals);
  addIntervals("mute_time_intervals", s.mute_time_intervals);

  const receivers = new Map<string, ReceiverConfig>();
  (s.receivers ?? []).forEach((r, i) => {
    const at = `receivers[${i}]`;
    if (receivers.has(r.name)) {
      errors.push(`${at}.name: duplicate receiver ${JSON.stringify(r.name)}`);
    }
    const channels: ChannelConfig[] = [];
    const tpl = (path: string, src: string) => checkTemplate(`${at}.${path}`, src, errors);
    const ignored = (path: string, c: Record<string, unknown>, keys: readonly string[]) => {
      const set = keys.filter((k) => c[k] !== undefined);
      if (set.length > 0) {
        warnings.push(`${at}.${path}: ${set.join(", ")} not supported by Perch; ignored`);
      }
    };
    r.webhook_configs?.forEach((c, j) => {
      const p = `webhook_configs[${j}]`;
      if (c.body_template) tpl(`${p}.body_template`, c.body_template);
      const target = secret(c.url, c.url_file, `${at}.${p}.url_file`);
      if (!target) errors.push(`${at}.${p}.url: required (or url_file)`);
      channels.push({
        type: "webhook",
        url: target ?? "",
        sendResolved: c.send_resolved ?? true,
        rateLimit: rateLimit(c.rate_limit),
        maxAlerts: c.max_alerts ?? 0,
        http: http(c.http_config, `${at}.${p}`, c.headers),
        bodyTemplate: c.body_template,
      });
    });
    r.email_configs?.forEach((c, j) => {
      const p = `email_configs[${j}]`;
      const headers = { ...(c.headers ?? {}) };
      for (const [k, v] of Object.entries(headers)) tpl(`${p}.headers.${k}`, v);
      if (c.html) tpl(`${p}.html`, c.html);
      if (c.text) tpl(`${p}.text`, c.text);
      const from = c.from ?? g.smtp_from;
      const smarthost = c.smarthost ?? g.smtp_smarthost;
      if (!from) errors.push(`${at}.${p}.from: required (or global.smtp_from)`);
      if (!smarthost) errors.push(`${at}.${p}.smarthost: required (or global.smtp_smarthost)`);
      const tls = c.tls_config ?? g.smtp_tls_config;
      if (c.auth_secret ?? g.smtp_auth_secret) {
        warnings.push(`${at}.${p}.auth_secret: CRAM-MD5 is not supported by Perch; ignored`);
      }
      if (tls?.insecure_skip_verify) {
        warnings.push(
          `${at}.${p}.tls_config.insecure_skip_verify: not supported (Deno cannot skip ` +
            "verification per connection); the server's certificate is verified: trust its CA " +
            "with ca_file",
        );
      }
      ignored(`${p}.tls_config`, tls ?? {}, ["cert", "cert_file", "key", "key_file"]);
      channels.push({
        type: "email",
        sendResolved: c.send_resolved ?? false,
        rateLimit: rateLimit(c.rate_limit),
        to: c.to,
        from: from ?? "",
        smarthost: smarthost ?? "",
        hello: c.hello ?? g.smtp_hello ?? "localhost",
        authUsername: c.auth_username ?? g.smtp_auth_username,
        authPassword: secret(
          c.auth_password ?? g.smtp_auth_password,
          c.auth_password_file ?? g.smtp_auth_password_file,
          `${at}.${p}.auth_password_file`,
        ),
        authIdentity: c.auth_identity ?? g.smtp_auth_identity,
        requireTls: c.require_tls ?? g.smtp_require_tls ?? true,
        caFile: tls?.ca_file,
        ca: tls?.ca,
        serverName: tls?.server_name,
        headers,
        html: c.html ?? '{{ template "email.default.html" . }}',
        text: c.text ?? '{{ template "email.default.text" . }}',
        timeoutMs: c.timeout ? parseDuration(c.timeout)! : 30_000,
      });
    });
    r.slack_configs?.forEach((c, j) => {
      const p = `slack_configs[${j}]`;
      for (const f of ["color", "title", "title_link", "pretext", "text", "fallback"] as const) {
        const v = c[f];
        if (v) tpl(`${p}.${f}`, v);
      }
      const more = [c.footer, c.image_url, c.thumb_url, c.callback_id];
      for (const v of more) if (v) tpl(p, v);
      c.fields?.forEach((f, k) => {
        tpl(`${p}.fields[${k}].title`, f.title);
        tpl(`${p}.fields[${k}].value`, f.value);
      });
      c.actions?.forEach((a, k) => {
        for (const v of [a.text, a.url, a.style, a.name, a.value]) {
          if (v) tpl(`${p}.actions[${k}]`, v);
        }
        if (!a.url && !a.name) errors.push(`${at}.${p}.actions[${k}]: needs url or name`);
      });
      const apiUrl = secret(c.api_url, c.api_url_file, `${at}.${p}.api_url_file`) ??
        secret(g.slack_api_url, g.slack_api_url_file, "global.slack_api_url_file");
      if (!apiUrl) {
        errors.push(`${at}.${p}.api_url: required (or api_url_file, global.slack_api_url)`);
      }
      channels.push({
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
        http: http(c.http_config, `${at}.${p}`),
      });
    });
    r.pagerduty_configs?.forEach((c, j) => {
      const p = `pagerduty_configs[${j}]`;
      for (const f of ["description", "severity", "source", "client", "client_url"] as const) {
        const v = c[f];
        if (v) tpl(`${p}.${f}`, v);
      }
      const routingKey = secret(c.routing_key, c.routing_key_file, `${at}.${p}.routing_key_file`);
      if (!routingKey) {
        if (c.service_key !== undefined || c.service_key_file !== undefined) {
          warnings.push(
            `${at}.${p}.service_key: Events API v1 is not supported by Perch; this channel is ` +
              "skipped (use routing_key, Events API v2)",
          );
        } else errors.push(`${at}.${p}.routing_key: required (or routing_key_file)`);
        return;
      }
      channels.push({
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
        http: http(c.http_config, `${at}.${p}`),
      });
    });
    r.alertmanager_configs?.forEach((c, j) => {
      channels.push({
        type: "alertmanager",
        sendResolved: c.send_resolved ?? true,
        rateLimit: rateLimit(c.rate_limit),
        url: c.url.replace(/\/+$/, ""),
        http: http(c.http_config, `${at}.alertmanager_configs[${j}]`),
        externalLabels: options.externalLabels ?? {},
      });
    });
    for (const [key, name] of Object.entries(UNSUPPORTED_RECEIVERS)) {
      const n = r[key as keyof typeof UNSUPPORTED_RECEIVERS]?.length ?? 0;
      if (n > 0) {
        warnings.push(
          `${at}.${key}: Perch cannot send to ${name}; ${
            n === 1 ? "this channel is" : `these ${n} channels are`
          } ignored`,
        );
      }
    }
    receivers.set(r.name, { name: r.name, channels });
  });

  let route: RouteConfig | undefined;
  if (s.route) {
    if (!s.route.receiver) errors.push("route.receiver: the root route must name a receiver");
    if (s.route.matchers?.length || s.route.match || s.route.match_re) {
      errors.push("route: the root route must not have matchers");
    }
    if (s.route.continue) errors.push("route.continue: the root route cannot continue");
    route = compileRoute(s.route, "route", "0", undefined, receivers, timeIntervals, errors);
  } else if (receivers.size > 0) {
    errors.push("route: required when receivers are configured");
  }

  const inhibitRules: InhibitRule[] = (s.inhibit_rules ?? []).map((r, i) => {
    const at = `inhibit_rules[${i}]`;
    const rule = {
      sourceMatchers: matchers(r.source_matchers, r.source_match, r.source_match_re, errors, {
        list: `${at}.source_matchers`,
        match: `${at}.source_match`,
        matchRe: `${at}.source_match_re`,
      }),
      targetMatchers: matchers(r.target_matchers, r.target_match, r.target_match_re, errors, {
        list: `${at}.target_matchers`,
        match: `${at}.target_match`,
        matchRe: `${at}.target_match_re`,
      }),
      equal: r.equal ?? [],
    };
    rule.equal.forEach((l, j) => {
      if (!LABEL_NAME_REGEXP.test(l)) errors.push(`${at}.equal[${j}]: invalid label name`);
    });
    return rule;
  });

  if (errors.length > 0) return { errors };
  return { config: { route, receivers, inhibitRules, timeIntervals, templates }, warnings };
}

function compileRoute(
  r: RawRoute,
  at: string,
  id: string,
  parent: RouteConfig | undefined,
  receivers: ReadonlyMap<string, ReceiverConfig>,
  timeIntervals: ReadonlyMap<string, unknown>,
  errors: string[],
): RouteConfig {
  const receiver = r.receiver ?? parent?.receiver ?? "";
  if (r.receiver !== undefined && !receivers.has(r.receiver)) {
    errors.push(`${at}.receiver: unknown receiver ${JSON.stringify(r.receiver)}`);
  }
  let groupBy: readonly string[] | "all" = parent?.groupBy ?? [];
  if (r.group_by) {
    if (r.group_by.includes("...")) {
      if (r.group_by.length > 1) errors.push(`${at}.group_by: '...' must be the only entry`);
      groupBy = "all";
    } else {
      r.group_by.forEach((l, i) => {
        if (!LABEL_NAME_REGEXP.test(l)) errors.push(`${at}.group_by[${i}]: invalid label name`);
      });
      groupBy = [...new Set(r.group_by)].sort();
    }
  }
  const intervals = (field: string, list: string[] | undefined) => {
    (list ?? []).forEach((n, i) => {
      if (!timeIntervals.has(n)) {
        errors.push(`${at}.${field}[${i}]: unknown time interval ${JSON.stringify(n)}`);
      }
    });
    return list ?? [];
  };
  const node: RouteConfig = {
    id,
    receiver,
    groupBy,
    groupWait: r.group_wait !== undefined ? parseDuration(r.group_wait)! : parent?.groupWait ??
      ROUTE_DEFAULTS.groupWait,
    groupInterval: r.group_interval ? parseDuration(r.group_interval)! : parent?.groupInterval ??
      ROUTE_DEFAULTS.groupInterval,
    repeatInterval: r.repeat_interval
      ? parseDuration(r.repeat_interval)!
      : parent?.repeatInterval ??
        ROUTE_DEFAULTS.repeatInterval,
    matchers: matchers(r.matchers, r.match, r.match_re, errors, {
      list: `${at}.matchers`,
      match: `${at}.match`,
      matchRe: `${at}.match_re`,
    }),
    continue: r.continue ?? false,
    muteTimeIntervals: intervals("mute_time_intervals", r.mute_time_intervals),
    activeTimeIntervals: intervals("active_time_intervals", r.active_time_intervals),
    routes: [],
  };
  (node as { routes: readonly RouteConfig[] }).routes = (r.routes ?? []).map((child, i) =>
    compileRoute(child, `${at}.routes[${i}]`, `${id}.${i}`, node, receivers, timeIntervals, errors)
  );
  return node;
}

function matchers(
  list: string[] | undefined,
  match: Record<string, string> | undefined,
  matchRe: Record<string, string> | undefined,
  errors: string[],
  at: { list: string; match: string; matchRe: string },
): Matcher[] {
  const out: Matcher[] = [];
  const add = (path: string, m: Matcher | string) => {
    if (typeof m === "string") errors.push(`${path}: ${m}`);
    else out.push(m);
  };
  (list ?? []).forEach((s, i) => add(`${at.list}[${i}]`, parseMatcher(s)));
  for (const [k, v] of Object.entries(match ?? {})) {
    add(`${at.match}.${k}`, parseMatcher(`${k}=${JSON.stringify(v)}`));
  }
  for (const [k, v] of Object.entries(matchRe ?? {})) {
    add(`${at.matchRe}.${k}`, parseMatcher(`${k}=~${JSON.stringify(v)}`));
  }
  return out;
}

function httpConfig(
  c: z.output<typeof httpConfigSchema>,
  headers: Record<string, string> = {},
  secret: (value: string | undefined, file: string | undefined, key: string) => string | undefined,
): HttpConfig {
  const basic = c?.basic_auth;
  const bearer = c?.authorization
    ? secret(
      c.authorization.credentials,
      c.authorization.credentials_file,
      "authorization.credentials_file",
    )
    : secret(c?.bearer_token, c?.bearer_token_file, "bearer_token_file");
  const tls = c?.tls_config;
  const ca = secret(tls?.ca, tls?.ca_file, "tls_config.ca_file");
  const cert = secret(tls?.cert, tls?.cert_file, "tls_config.cert_file");
  const key = secret(tls?.key, tls?.key_file, "tls_config.key_file");
  const tlsOut = ca || (cert && key) ? { ca, cert, key } : undefined;
  return {
    tls: tlsOut,
    proxyUrl: c?.proxy_url,
    basicAuth: basic
      ? {
        username: secret(basic.username, basic.username_file, "basic_auth.username_file") ?? "",
        password: secret(basic.password, basic.password_file, "basic_auth.password_file") ?? "",
      }
      : undefined,
    bearerToken: bearer,
    headers,
    timeoutMs: c?.timeout ? parseDuration(c.timeout)! : 10_000,
  };
}

function rateLimit(c: z.output<typeof rateLimitSchema>): RateLimit | undefined {
  return c ? { burst: c.burst, periodMs: parseDuration(c.period)! } : undefined;
}

/**
 * Alertmanager's `templates`: files (a glob in the last path segment, as
 * `/etc/alertmanager/templates/*.tmpl`) whose `define` blocks become callable
 * by every channel template. A glob matching nothing is no error.
 */
function loadTemplates(
  patterns: readonly string[],
  io: { read: (path: string) => string; listDir: (dir: string) => string[] },
  errors: string[],
): TemplateDefs {
  const defs = new Map<string, unknown>();
  patterns.forEach((pattern, i) => {
    const at = `templates[${i}]`;
    let files = [pattern];
    if (isGlob(pattern)) {
      const slash = pattern.lastIndexOf("/");
      const dir = slash < 0 ? "." : pattern.slice(0, slash) || "/";
      if (isGlob(dir)) {
        errors.push(`${at}: a glob is supported in the file name only, not in directories`);
        return;
      }
      const re = globToRegExp(pattern.slice(slash + 1));
      try {
        files = io.listDir(dir).filter((n) => re.test(n)).sort().map((n) =>
          dir === "." ? n : `${dir.replace(/\/$/, "")}/${n}`
        );
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) files = [];
        else {
          errors.push(`${at}: cannot list ${JSON.stringify(dir)}: ${(e as Error).message}`);
          return;
        }
      }
    }
    for (const f of files) {
      let text: string;
      try {
        text = io.read(f);
      } catch (e) {
        errors.push(`${at}: cannot read ${JSON.stringify(f)}: ${(e as Error).message}`);
        continue;
      }
      try {
        for (const [name, body] of parseDefinitions(text)) defs.set(name, body);
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        errors.push(`${at}: ${f}: cannot parse template: ${templateProblem(e)}`);
      }
    }
  });
  return defs;
}

function checkTemplate(path: string, src: string, errors: string[]): void {
  try {
    compileTemplate(src);
  } catch (e) {
    if (e instanceof TemplateError) {
      errors.push(`${path}: cannot parse template: ${templateProblem(e)}`);
    } else throw e;
  }
}

/** A parse problem with its place (`at char 3: function "x" not defined`). */
function templateProblem(e: TemplateError): string {
  return e instanceof TemplateParseError ? `at char ${e.offset}: ${e.detail}` : e.message;
}
