/**
 * Dashboards: the document schema, validation, the KV store, provisioning,
 * Grafana import, units and formatting, time ranges and variables.
 *
 * Browser code imports `format.ts`, `time_range.ts` and `variables.ts`
 * directly (they import nothing heavy); everything else is server-side.
 *
 * @module
 */
export {
  type Dashboard,
  type DashboardInput,
  dashboardSchema,
  GRID_COLUMNS,
  type GridPos,
  LEGEND_CALCS,
  type Panel,
  PANEL_TYPES,
  type PanelOptions,
  type PanelType,
  type Target,
  type Variable,
} from "./schema.ts";
export {
  checkQuery,
  type FieldError,
  validateDashboard,
  type ValidationResult,
} from "./validate.ts";
export {
  DashboardConflictError,
  DashboardNotFoundError,
  type DashboardSource,
  DashboardStore,
  type DashboardSummary,
  DashboardValidationError,
  type StoredDashboard,
} from "./store.ts";
export {
  dirSource,
  provisionDashboards,
  type ProvisionReport,
  type ProvisionSource,
} from "./provision.ts";
export { HOST_METRICS, OVERVIEW_DASHBOARD, OVERVIEW_ID, OVERVIEW_METRICS } from "./overview.ts";
export { type GrafanaImportResult, importGrafana } from "./grafana.ts";
export { type DragMode, dragTarget, placePanel } from "./layout.ts";
export { formatValue, KNOWN_UNITS, resolveUnit, unitFromMetricName } from "./format.ts";
export {
  describeRange,
  parseRefresh,
  parseTimeExpr,
  REFRESH_INTERVALS,
  RELATIVE_RANGES,
  type ResolvedRange,
  resolveRange,
  stepFor,
} from "./time_range.ts";
export {
  ALL_VALUE,
  type BuiltinIntervals,
  escapeRegex,
  interpolate,
  interpolateForParse,
  type LabelValuesQuery,
  parseLabelValuesQuery,
} from "./variables.ts";
export { type DashboardsComponent, dashboardsComponent } from "./component.ts";
