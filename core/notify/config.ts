/**
 * The notify sections of Perch's config (`route`, `receivers`,
 * `inhibit_rules`, `time_intervals`) in Alertmanager's own syntax, plus
 * Perch's `alertmanager_configs` receiver type and per-channel `rate_limit`.
 *
 * {@linkcode parseNotifyConfig} validates the raw sections and compiles them
 * (durations in ms, matchers compiled, templates parsed), reporting every
 * problem at once with its path. Each channel type's schema and compilation
 * live in `channels/<type>_config.ts`, the routing tree in `config_route.ts`,
 * what they share in `config_fields.ts`, template files in `config_templates.ts`.
 *
 * @module
 */
import { amStr as str, resolvePath } from "../config/mod.ts";
import { configIssues, LABEL_NAME_REGEXP, type Matcher, PARSE_ONCE, z } from "../model/mod.ts";
import {
  type AlertmanagerConfig,
  alertmanagerSchema,
  compileAlertmanager,
} from "./channels/alertmanager_config.ts";
import { compileEmail, type EmailConfig, emailSchema } from "./channels/email_config.ts";
import {
  compilePagerDuty,
  type PagerDutyConfig,
  pagerdutySchema,
} from "./channels/pagerduty_config.ts";
import { compileSlack, type SlackConfig, slackSchema } from "./channels/slack_config.ts";
import { compileWebhook, type WebhookConfig, webhookSchema } from "./channels/webhook_config.ts";
import { type ChannelContext, globalSchema, httpConfig } from "./config_fields.ts";
import {
  compileMatchers,
  compileRoute,
  legacyMatch,
  matcherList,
  type RouteConfig,
  routeSchema,
} from "./config_route.ts";
import { checkTemplate, loadTemplates } from "./config_templates.ts";
import type { TemplateDefs } from "./template.ts";
import { compileTimeInterval, type RawTimeInterval, type TimeInterval } from "./time_intervals.ts";

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
  name: str.check(z.minLength(1, "must not be empty")),
  webhook_configs: z.optional(z.array(webhookSchema)),
  email_configs: z.optional(z.array(emailSchema)),
  slack_configs: z.optional(z.array(slackSchema)),
  pagerduty_configs: z.optional(z.array(pagerdutySchema)),
  alertmanager_configs: z.optional(z.array(alertmanagerSchema)),
  ...Object.fromEntries(
    Object.keys(UNSUPPORTED_RECEIVERS).map((k) => [
      k,
      z.optional(z.array(z.record(z.string(), z.unknown()))),
    ]),
  ) as unknown as Record<
    keyof typeof UNSUPPORTED_RECEIVERS,
    z.ZodMiniOptional<z.ZodMiniArray<z.ZodMiniRecord<z.ZodMiniString, z.ZodMiniUnknown>>>
  >,
});

const inhibitSchema = z.strictObject({
  source_matchers: matcherList,
  target_matchers: matcherList,
  source_match: legacyMatch,
  source_match_re: legacyMatch,
  target_match: legacyMatch,
  target_match_re: legacyMatch,
  equal: z.optional(z.array(str)),
});

const timeIntervalSchema = z.strictObject({
  name: str.check(z.minLength(1, "must not be empty")),
  time_intervals: z.array(z.strictObject({
    times: z.optional(z.array(z.strictObject({ start_time: str, end_time: str }))),
    weekdays: z.optional(z.array(str)),
    days_of_month: z.optional(z.array(z.pipe(z.union([str, z.number()]), z.transform(String)))),
    months: z.optional(z.array(z.pipe(z.union([str, z.number()]), z.transform(String)))),
    years: z.optional(z.array(z.pipe(z.union([str, z.number()]), z.transform(String)))),
    location: z.optional(str),
  })),
});

const sectionsSchema = z.object({
  route: z.optional(routeSchema),
  receivers: z.optional(z.array(receiverSchema)),
  inhibit_rules: z.optional(z.array(inhibitSchema)),
  time_intervals: z.optional(z.array(timeIntervalSchema)),
  mute_time_intervals: z.optional(z.array(timeIntervalSchema)),
  templates: z.optional(z.array(str)),
  // Perch's own global settings are left to Perch's schema.
  global: z.optional(globalSchema),
});

/** Settings from outside the notify sections. */
export interface NotifyConfigOptions {
  /** `global.external_labels`, for alerts forwarded to an Alertmanager. @default {} */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** Directory that relative `*_file` and template paths are relative to. @default {"."} */
  readonly baseDir?: string;
  /** Reads a `*_file` setting or a template file. @default {Deno.readTextFileSync, in baseDir} */
  readonly readFile?: (path: string) => string;
  /** Names of the files in a directory (template globs). @default {Deno.readDirSync, in baseDir} */
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
  }, PARSE_ONCE);
  if (!parsed.success) {
    return {
      errors: configIssues(parsed.error),
    };
  }
  const s = parsed.data;
  const errors: string[] = [];
  const warnings: string[] = [];
  const g = s.global ?? {};
  const baseDir = options.baseDir ?? ".";
  const read = options.readFile ?? ((f) => Deno.readTextFileSync(resolvePath(baseDir, f)));
  const ctx: ChannelContext = {
    global: g,
    externalLabels: options.externalLabels ?? {},
    errors,
    warnings,
    secret(value, file, at) {
      if (value !== undefined || file === undefined) return value;
      try {
        return read(file).trim();
      } catch (e) {
        errors.push(`${at}: cannot read ${JSON.stringify(file)}: ${(e as Error).message}`);
        return "";
      }
    },
    http(c, at, headers) {
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
      return httpConfig(cfg, headers, (v, f, k) => ctx.secret(v, f, `${path}.${k}`));
    },
    template: (path, src) => checkTemplate(path, src, errors),
    ignored(path, c, keys) {
      const set = keys.filter((k) => c[k] !== undefined);
      if (set.length > 0) {
        warnings.push(`${path}: ${set.join(", ")} not supported by Perch; ignored`);
      }
    },
  };

  const templates = loadTemplates(s.templates ?? [], {
    read,
    listDir: options.listDir ??
      ((dir) =>
        [...Deno.readDirSync(resolvePath(baseDir, dir))]
          .filter((e) => !e.isDirectory).map((e) => e.name)),
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
    r.webhook_configs?.forEach((c, j) =>
      channels.push(compileWebhook(c, `${at}.webhook_configs[${j}]`, ctx))
    );
    r.email_configs?.forEach((c, j) =>
      channels.push(compileEmail(c, `${at}.email_configs[${j}]`, ctx))
    );
    r.slack_configs?.forEach((c, j) =>
      channels.push(compileSlack(c, `${at}.slack_configs[${j}]`, ctx))
    );
    r.pagerduty_configs?.forEach((c, j) => {
      const channel = compilePagerDuty(c, `${at}.pagerduty_configs[${j}]`, ctx);
      if (channel) channels.push(channel);
    });
    r.alertmanager_configs?.forEach((c, j) =>
      channels.push(compileAlertmanager(c, `${at}.alertmanager_configs[${j}]`, ctx))
    );
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
  // `route: {}` (the config reference's placeholder) routes nothing, like no route.
  if (s.route && Object.keys(s.route).length > 0) {
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
      sourceMatchers: compileMatchers(
        r.source_matchers,
        r.source_match,
        r.source_match_re,
        errors,
        `${at}.source_`,
      ),
      targetMatchers: compileMatchers(
        r.target_matchers,
        r.target_match,
        r.target_match_re,
        errors,
        `${at}.target_`,
      ),
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
