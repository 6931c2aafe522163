/**
 * Alert and recording rules: rule files, the threshold form, the alert state
 * machine, templates, scheduling and KV persistence.
 *
 * @module
 */
export {
  alertFingerprint,
  type AlertRecord,
  type AlertState,
  DEFAULT_STEP_CONTEXT,
  NODATA_LABEL,
  type QuerySample,
  resolveAll,
  type SentState,
  stepAlerts,
  type StepContext,
  type StepResult,
  type Transition,
} from "./alert_state.ts";
export { type Clock, realClock, type TimerId } from "./clock.ts";
export { RuleConflictError, RuleNotFoundError, RuleValidationError } from "./errors.ts";
export { formatE as formatAlertValue } from "../model/mod.ts";
export { expandGlobs, globToRegExp, isGlob } from "./glob.ts";
export {
  alertIdempotencyKey,
  generatorURL,
  GroupRunner,
  type QueryFunc,
  type RuleStatus,
  stepAlertsWithQueries,
  templateQueries,
  toAlertInstance,
} from "./group.ts";
export { type LoadResult, loadRuleFiles, parseRuleFile } from "./loader.ts";
export {
  type ActiveAlert,
  createRuleManager,
  type EngineLike,
  engineQueryFunc,
  type GroupInfo,
  type ReloadResult,
  type RuleInfo,
  type RuleManager,
  type RuleManagerOptions,
  type RuleTestResult,
  type ThresholdRuleInfo,
} from "./manager.ts";
export {
  type AlertingRule,
  compareThreshold,
  formatRuleError,
  groupKey,
  type NoDataPolicy,
  OPERATOR_SYMBOL,
  type RecordingRule,
  type Rule,
  type RuleError,
  type RuleGroup,
  type ThresholdCondition,
  type ThresholdOperator,
} from "./rule.ts";
export { RULE_KEYS, RuleStore } from "./store.ts";
export {
  normaliseThresholdRule,
  parseThresholdRule,
  type ThresholdRule,
  thresholdRuleJSON,
  thresholdRuleSchema,
  type ThresholdRuleSpec,
  thresholdWarnings,
} from "./threshold.ts";
export { BUILTIN_RULE_FILES } from "./_builtin_files.ts";
export {
  ruleFilePatterns,
  type RulesComponent,
  rulesComponent,
  type RulesSection,
} from "./component.ts";
