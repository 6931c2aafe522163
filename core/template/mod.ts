/**
 * Go templates: one engine (Go's `text/template` language: lexer, parser,
 * evaluator over Go values) with two dialects — Prometheus's alert templates
 * (rule labels and annotations) and Alertmanager's notification templates
 * (channel messages) — which differ in data and functions, not in language.
 * Go's `fmt` formatting (over core/model's Go float formatting) and the
 * `humanize` family live here too.
 *
 * @module
 */
export { FnError, TemplateError, TemplateParseError, TemplateRenderError } from "./errors.ts";
export { type Dialect, parseTemplate, type Template } from "./parse.ts";
export { type ExecOptions, execute, type FuncMap, type GoFunc, htmlEscape } from "./exec.ts";
export {
  formatGoValue,
  GoDuration,
  GoMap,
  type GoMethod,
  type GoMethods,
  GoSlice,
  GoString,
  GoStruct,
  GoTime,
  goTypeName,
  type GoValue,
  type ParamType,
  toGoValue,
} from "./value.ts";
export { GO_FUNCS } from "./builtins.ts";
export { sprint, sprintf } from "./go_fmt.ts";
export { formatGoDuration, formatGoTime, formatLayout, parseLayout } from "./go_time.ts";
export {
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
  humanizeTimestamp,
} from "./humanize.ts";
export {
  type AlertTemplateData,
  checkAlertTemplate,
  expandAlertTemplate,
  parseAlertTemplate,
  PROMETHEUS_FUNCS,
  renderAlertTemplate,
  renderWithQueries,
  TemplateQueries,
  type TemplateSample,
} from "./prometheus.ts";
export {
  ALERTMANAGER_FUNCS,
  kv,
  type NotificationAlertData,
  type NotificationData,
  notificationData,
  type NotificationEnv,
  type NotificationRenderOptions,
  parseNotificationTemplate,
  renderNotificationTemplate,
  ZERO_TIME_MS,
} from "./alertmanager.ts";
