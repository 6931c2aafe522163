/**
 * Go templates: one engine (Go's `text/template` language: lexer, parser,
 * evaluator over Go values) with two dialects - Prometheus's alert templates
 * (rule labels and annotations) and Alertmanager's notification templates
 * (channel messages) - which differ in data and functions, not in language.
 * Go's `fmt` formatting (over core/model's Go float formatting) and the
 * `humanize` family live here too.
 *
 * @module
 */
export { TemplateError, TemplateParseError, TemplateRenderError } from "./errors.ts";
export { type Template } from "./parse.ts";
export { type GoStruct, type GoValue, toGoValue } from "./value.ts";
export { humanizeTimestamp } from "./humanize.ts";
export {
  type AlertTemplateData,
  checkAlertTemplate,
  expandAlertTemplate,
  parseAlertTemplate,
  renderAlertTemplate,
  renderWithQueries,
  TemplateQueries,
  type TemplateSample,
} from "./prometheus.ts";
export {
  type NotificationAlertData,
  type NotificationData,
  notificationData,
  type NotificationEnv,
  type NotificationRenderOptions,
  parseNotificationTemplate,
  renderNotificationTemplate,
} from "./alertmanager.ts";
