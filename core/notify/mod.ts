/**
 * Notification delivery: Alertmanager-style routing, grouping, silences and
 * inhibition, and a durable delivery queue to webhook, email, Slack,
 * PagerDuty and Alertmanager.
 *
 * @module
 */
export { type Clock, FakeClock, realClock, type TimerId } from "./clock.ts";
export {
  type ChannelConfig,
  type InhibitRule,
  type NotifyConfig,
  parseNotifyConfig,
  type RawNotifyConfig,
  type ReceiverConfig,
} from "./config.ts";
export { type HttpConfig, type RateLimit } from "./config_fields.ts";
export { type RouteConfig } from "./config_route.ts";
export { type AlertmanagerConfig } from "./channels/alertmanager_config.ts";
export { type EmailConfig } from "./channels/email_config.ts";
export { type PagerDutyConfig } from "./channels/pagerduty_config.ts";
export { type SlackConfig } from "./channels/slack_config.ts";
export { type WebhookConfig } from "./channels/webhook_config.ts";
export { type AlertStatus } from "./dispatcher.ts";
export { type ApiMatcher, parseMatcher } from "./label_matchers.ts";
export { type Notification, type NotificationAlert } from "./notification.ts";
export {
  type ChannelTestResult,
  createNotifier,
  type Notifier,
  type NotifierOptions,
  type SilencesApi,
  TEST_ALERTNAME,
} from "./notifier.ts";
export { type DeliveryLogEntry, type Job, type QueueOptions } from "./queue.ts";
export { matchRoutes } from "./route.ts";
export {
  type Silence,
  type SilenceFieldError,
  type SilenceInput,
  SilenceNotFoundError,
  type SilenceState,
  SilenceValidationError,
} from "./silences.ts";
export { type WebhookPayload, webhookPayload } from "./channels/webhook.ts";
export {
  alertmanagerYaml,
  type NotifyComponent,
  notifyComponent,
  type NotifySection,
  notifySection,
} from "./component.ts";
