/**
 * The notify component: Alertmanager-style routing, grouping, silences and
 * durable delivery from the `route`, `receivers`, `inhibit_rules`,
 * `time_intervals`, `templates` and `notifications` sections.
 *
 * @module
 */
import { alertmanagerGlobalFields, type Config, redactSecrets } from "../config/mod.ts";
import { type Basics, type Component, started } from "../lifecycle.ts";
import { loadYaml, parseDuration } from "../model/mod.ts";
import { type NotifyConfig, parseNotifyConfig } from "./config.ts";
import { createNotifier, type Notifier } from "./notifier.ts";
import type { QueueOptions } from "./queue.ts";

/** The notify component's section. */
export interface NotifySection {
  readonly config: NotifyConfig;
  readonly queue: QueueOptions;
  readonly resolveTimeoutMs: number;
  readonly maxSilenceDurationMs: number;
  readonly silenceRetentionMs: number;
}

/** What the notify component offers the components after it. */
export interface NotifyComponent extends Component<Config, NotifySection> {
  /** The notifier (after start). */
  readonly notifier: Notifier;
  /** Receiver names of the config in force. */
  receivers(): string[];
  /** The alert intake URLs of every `alertmanager_configs` channel, for `/api/v1/alertmanagers`. */
  alertmanagerUrls(): string[];
}

/** Parses the Alertmanager sections of `c`, reading templates relative to `configDir`. */
export function notifySection(c: Config, configDir: string) {
  return parseNotifyConfig({
    route: c.route,
    receivers: c.receivers,
    inhibit_rules: c.inhibit_rules,
    time_intervals: c.time_intervals,
    mute_time_intervals: c.mute_time_intervals,
    templates: c.templates,
    global: c.global,
  }, {
    externalLabels: c.global.external_labels,
    baseDir: configDir,
  });
}

/** Notifications: metrics `perch_notifications_*`; `silences` and the external URL need a restart. */
export function notifyComponent(
  deps: Pick<Basics, "logger" | "registry"> & {
    /** state.kv (after it started). */
    readonly kv: () => Deno.Kv;
    /** Perch's URL for links, known once HTTP listens. */
    readonly externalURL: () => string;
    readonly configDir: string;
  },
): NotifyComponent {
  let notifier: Notifier | undefined;
  let current: NotifyConfig | undefined;
  return {
    name: "notify",
    restartOnly: ["silences", "server.external_url"],
    section(c) {
      const r = notifySection(c, deps.configDir);
      if ("errors" in r) return { ok: false, errors: r.errors };
      return {
        ok: true,
        warnings: r.warnings,
        value: {
          config: r.config,
          queue: deliveryOptions(c),
          resolveTimeoutMs: resolveTimeout(c),
          maxSilenceDurationMs: c.silences.max_duration,
          silenceRetentionMs: c.silences.retention,
        },
      };
    },
    async start(s) {
      current = s.config;
      notifier = createNotifier({
        kv: deps.kv(),
        config: s.config,
        logger: deps.logger,
        registry: deps.registry,
        externalURL: deps.externalURL,
        queue: s.queue,
        maxSilenceDurationMs: s.maxSilenceDurationMs,
        silenceRetentionMs: s.silenceRetentionMs,
        resolveTimeoutMs: s.resolveTimeoutMs,
      });
      await notifier.start();
    },
    apply(s) {
      current = s.config;
      started("notify", notifier).reload(s.config, {
        queue: s.queue,
        resolveTimeoutMs: s.resolveTimeoutMs,
      });
    },
    stop: () => notifier?.stop() ?? Promise.resolve(),
    get notifier() {
      return started("notify", notifier);
    },
    receivers: () => current ? [...current.receivers.keys()] : [],
    alertmanagerUrls() {
      const urls = new Set<string>();
      for (const r of current?.receivers.values() ?? []) {
        for (const ch of r.channels) {
          if (ch.type === "alertmanager") urls.add(`${ch.url}/api/v2/alerts`);
        }
      }
      return [...urls];
    },
  };
}

/**
 * How long a firing alert may go without a refresh before it counts as
 * resolved: Alertmanager's `global.resolve_timeout` (default 15m here), but
 * never under 4 rule evaluation intervals, so rule alerts are refreshed in time.
 */
function resolveTimeout(c: Config): number {
  const configured = c.global.resolve_timeout === undefined
    ? 15 * 60_000
    : parseDuration(c.global.resolve_timeout) ?? 15 * 60_000;
  return Math.max(configured, 4 * c.global.evaluation_interval);
}

/** The notification retry settings of a config. */
function deliveryOptions(c: Config): QueueOptions {
  return {
    initialBackoffMs: c.notifications.min_backoff,
    maxBackoffMs: c.notifications.max_backoff,
    maxAgeMs: c.notifications.max_age,
  };
}

/** The Alertmanager sections of a config as YAML, secrets hidden (`/api/v2/status`). */
export async function alertmanagerYaml(c: Config): Promise<string> {
  const sections: Record<string, unknown> = {};
  const global = Object.fromEntries(
    Object.keys(alertmanagerGlobalFields).flatMap((k) => {
      const v = (c.global as Record<string, unknown>)[k];
      return v === undefined ? [] : [[k, v]];
    }),
  );
  if (Object.keys(global).length > 0) sections.global = global;
  const names = [
    "route",
    "receivers",
    "inhibit_rules",
    "time_intervals",
    "mute_time_intervals",
    "templates",
  ] as const;
  for (const k of names) {
    const v = c[k];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) sections[k] = v;
  }
  return (await loadYaml()).stringify(redactSecrets(sections));
}
