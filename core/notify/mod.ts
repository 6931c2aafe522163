/**
 * Notification delivery: Alertmanager-style routing, grouping, silences and
 * inhibition, and a durable delivery queue to webhook, email, Slack,
 * PagerDuty and Alertmanager.
 *
 * @module
 */
export { type Clock, FakeClock, realClock, type TimerId } from "./clock.ts";
export {
  type AlertmanagerConfig,
  alertmanagerGlobalFields,
  type ChannelConfig,
  type EmailConfig,
  type HttpConfig,
  type InhibitRule,
  type NotifyConfig,
  type PagerDutyConfig,
  parseNotifyConfig,
  type RateLimit,
  type RawNotifyConfig,
  type ReceiverConfig,
  type RouteConfig,
  type SlackConfig,
  type WebhookConfig,
} from "./config.ts";
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
export { compileTemplate, TemplateError } from "./template.ts";
export { type WebhookPayload, webhookPayload } from "./channels/webhook.ts";
export {
  alertmanagerYaml,
  type NotifyComponent,
  notifyComponent,
  type NotifySection,
  notifySection,
} from "./component.ts";
