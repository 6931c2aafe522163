/**
 * The notifier: wires config, dispatcher, silences and the durable queue
 * together and is what the rest of Perch talks to.
 *
 * @module
 */
import type { AlertSink } from "../model/mod.ts";
import type { Logger } from "../logging/mod.ts";
import type { Registry } from "../selfmon/mod.ts";
import { sendAlertmanager } from "./channels/alertmanager.ts";
import type { ChannelSender } from "./channels/channel.ts";
import { sendEmail } from "./channels/email.ts";
import { sendPagerDuty } from "./channels/pagerduty.ts";
import { sendSlack } from "./channels/slack.ts";
import { sendWebhook } from "./channels/webhook.ts";
import { useTemplates } from "./template.ts";
import { type Clock, realClock } from "./clock.ts";
import type { ChannelConfig, NotifyConfig } from "./config.ts";
import { type AlertStatus, Dispatcher } from "./dispatcher.ts";
import type { Notification } from "./notification.ts";
import { type DeliveryLogEntry, DeliveryQueue, type Job, type QueueOptions } from "./queue.ts";
import { type Silence, type SilenceInput, Silences, type SilenceState } from "./silences.ts";

/** Options for {@linkcode createNotifier}. */
export interface NotifierOptions {
  readonly kv: Deno.Kv;
  readonly config: NotifyConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  /** @default the wall clock */
  readonly clock?: Clock;
  /**
   * Perch's URL, for links in notifications (a function when it is known
   * only once HTTP listens).
   */
  readonly externalURL: string | (() => string);
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Retry, backoff and breaker settings. */
  readonly queue?: QueueOptions;
  /** Longest allowed silence. @default 1 week */
  readonly maxSilenceDurationMs?: number;
  /** How long expired silences stay visible. @default 5 days */
  readonly silenceRetentionMs?: number;
  /**
   * Firing alerts not refreshed through `put()` for this long count as
   * resolved; set it above the longest rule evaluation interval. @default 15m
   */
  readonly resolveTimeoutMs?: number;
}

/** The silences part of the notifier. */
export interface SilencesApi {
  list(): (Silence & { state: SilenceState })[];
  get(id: string): Silence & { state: SilenceState };
  /** Creates or updates; throws SilenceValidationError / SilenceNotFoundError. */
  upsert(input: SilenceInput): Promise<Silence>;
  /** Ends a silence now; throws SilenceNotFoundError. */
  expire(id: string): Promise<void>;
}

/** What {@linkcode createNotifier} returns. */
export interface Notifier {
  /** Hand alerts over here (core/rules). */
  readonly sink: AlertSink;
  /** Loads silences and pending deliveries from KV and starts timers. */
  start(): Promise<void>;
  /** Stops timers and waits for attempts in flight. */
  stop(): Promise<void>;
  /**
   * Applies a new config (already validated by parseNotifyConfig) and, when
   * given, new retry settings and resolve timeout.
   */
  reload(
    config: NotifyConfig,
    settings?: { queue?: QueueOptions; resolveTimeoutMs?: number },
  ): void;
  readonly silences: SilencesApi;
  /** Delivery-log entries, newest first. */
  deliveryLog(opts?: { limit?: number; receiver?: string }): Promise<DeliveryLogEntry[]>;
  /** Notifications waiting for delivery (or retry). */
  pending(): Job[];
  /** Alerts known to the dispatcher with their silenced/inhibited status. */
  alerts(): AlertStatus[];
  /** Aggregation groups with their alerts (Alertmanager's `/api/v2/alerts/groups`). */
  alertGroups(): { labels: Record<string, string>; receiver: string; alerts: AlertStatus[] }[];
  /**
   * Sends a synthetic test alert through each channel of `receiver` right
   * away (no grouping, no queue, no retry, nothing logged as a delivery);
   * `undefined` when there is no such receiver.
   */
  testReceiver(receiver: string): Promise<ChannelTestResult[] | undefined>;
  /** Waits until no flush or delivery attempt is in progress (tests). */
  idle(): Promise<void>;
}

/** How one channel took a test notification. */
export interface ChannelTestResult {
  /** Index into the receiver's channels. */
  readonly channelIndex: number;
  readonly channel: ChannelConfig["type"];
  readonly ok: boolean;
  readonly error?: string;
}

/** The alert name of test notifications. */
export const TEST_ALERTNAME = "PerchTestNotification";

/** A one-alert firing notification marked as a test (label `test="true"`). */
export function testNotification(receiver: string, now: number, externalURL: string): Notification {
  const labels = { alertname: TEST_ALERTNAME, severity: "none", test: "true" };
  return {
    receiver,
    groupKey: `{}:{alertname="${TEST_ALERTNAME}"}`,
    groupLabels: { alertname: TEST_ALERTNAME },
    status: "firing",
    alerts: [{
      fingerprint: `test-${now.toString(16)}`,
      status: "firing",
      labels,
      annotations: {
        summary: "Test notification from Perch",
        description:
          `Sent with "Send test notification" for receiver ${receiver}; not a real alert.`,
      },
      startsAt: now,
      endsAt: 0,
      generatorURL: externalURL,
    }],
    externalURL,
  };
}

/** The default senders per channel type. */
export const SENDERS: Readonly<Record<ChannelConfig["type"], ChannelSender>> = {
  webhook: sendWebhook as ChannelSender,
  email: sendEmail as ChannelSender,
  slack: sendSlack as ChannelSender,
  pagerduty: sendPagerDuty as ChannelSender,
  alertmanager: sendAlertmanager as ChannelSender,
};

/** Builds the notifier. Call `start()` before use. */
export function createNotifier(opts: NotifierOptions): Notifier {
  const clock = opts.clock ?? realClock;
  const logger = opts.logger.child("notify");
  const r = opts.registry;
  const labelNames = ["receiver", "channel"];
  const metrics = {
    sent: r.counter({
      name: "perch_notifications_sent_total",
      help: "Notifications delivered, by receiver and channel.",
      labelNames,
    }),
    failed: r.counter({
      name: "perch_notifications_failed_total",
      help: "Notifications given up on after an error a retry cannot fix (e.g. HTTP 400, 401).",
      labelNames,
    }),
    expired: r.counter({
      name: "perch_notifications_expired_total",
      help: "Notifications given up on because they were not delivered within the maximum age.",
      labelNames,
    }),
    superseded: r.counter({
      name: "perch_notifications_superseded_total",
      help: "Undelivered notifications replaced by a newer one for the same group.",
      labelNames,
    }),
    retried: r.counter({
      name: "perch_notifications_retried_total",
      help: "Delivery attempts that failed and were scheduled for retry.",
      labelNames,
    }),
    latency: r.histogram({
      name: "perch_notification_latency_seconds",
      help: "Time from enqueue to successful delivery.",
      labelNames: ["channel"],
      buckets: [0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 900],
    }),
  };
  let config = opts.config;
  useTemplates(config.templates ?? new Map());
  const queue = new DeliveryQueue({
    kv: opts.kv,
    clock,
    logger,
    senders: SENDERS,
    fetch: opts.fetch ?? globalThis.fetch,
    metrics,
    config: () => config,
    options: opts.queue,
  });
  r.collected("gauge", {
    name: "perch_notification_queue_length",
    help: "Notifications waiting for delivery or retry.",
  }, () => [{ value: queue.length }]);
  const silences = new Silences(opts.kv, {
    maxDurationMs: opts.maxSilenceDurationMs,
    retentionMs: opts.silenceRetentionMs,
  });
  const externalURL = typeof opts.externalURL === "function"
    ? opts.externalURL
    : () => opts.externalURL as string;
  const dispatcher = new Dispatcher({
    kv: opts.kv,
    clock,
    logger,
    queue,
    silences,
    externalURL,
    resolveTimeoutMs: opts.resolveTimeoutMs ?? 15 * 60_000,
  }, config);

  return {
    sink: { put: (alerts, now) => dispatcher.put(alerts, now) },
    async start() {
      await silences.load();
      await queue.start();
      dispatcher.start();
    },
    async stop() {
      await dispatcher.stop();
      await queue.stop();
    },
    reload(next, settings = {}) {
      config = next;
      useTemplates(next.templates ?? new Map());
      if (settings.queue) queue.setOptions(settings.queue);
      if (settings.resolveTimeoutMs) dispatcher.resolveTimeoutMs = settings.resolveTimeoutMs;
      dispatcher.reload(next);
    },
    silences: {
      list: () => silences.list(clock.now()),
      get: (id) => silences.get(id, clock.now()),
      upsert: (input) => silences.upsert(input, clock.now()),
      expire: (id) => silences.expire(id, clock.now()),
    },
    deliveryLog: (o) => queue.deliveryLog(o),
    pending: () => queue.pending(),
    alerts: () => dispatcher.alerts(clock.now()),
    alertGroups() {
      const byFp = new Map(dispatcher.alerts(clock.now()).map((a) => [a.alert.fingerprint, a]));
      return dispatcher.groups().map((g) => ({
        labels: g.labels,
        receiver: g.receiver,
        alerts: g.fingerprints.flatMap((fp) => byFp.get(fp) ?? []),
      }));
    },
    async testReceiver(name) {
      const r = config.receivers.get(name);
      if (!r) return undefined;
      const now = clock.now();
      const n = testNotification(name, now, externalURL());
      const fetchFn = opts.fetch ?? globalThis.fetch;
      return await Promise.all(r.channels.map(async (c, i) => {
        const res = await SENDERS[c.type](n, c, {
          fetch: fetchFn,
          logger,
          idempotencyKey: `test-${crypto.randomUUID()}`,
          now,
        });
        logger.info("test notification sent", {
          receiver: name,
          channel: c.type,
          ok: res.ok,
          ...(res.ok ? {} : { error: res.error }),
        });
        return {
          channelIndex: i,
          channel: c.type,
          ok: res.ok,
          ...(res.ok ? {} : { error: res.error }),
        };
      }));
    },
    async idle() {
      await dispatcher.idle();
      await queue.idle();
    },
  };
}
