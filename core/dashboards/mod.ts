/**
 * Dashboards: the document schema, validation, the KV store, provisioning
 * (built-in overview and a directory of JSON files) and Grafana import, run
 * by the dashboards component.
 *
 * Browser code (islands) imports `mod_browser.ts`: formatting, time ranges,
 * variables, grid layout and display, without the store or zod at run time.
 *
 * @module
 */
export type { Dashboard } from "./schema.ts";
export { type FieldError, validateDashboard, type ValidationResult } from "./validate.ts";
export {
  DashboardConflictError,
  DashboardNotFoundError,
  type DashboardSource,
  DashboardStore,
  type DashboardSummary,
  DashboardValidationError,
  type StoredDashboard,
} from "./store.ts";
export { OVERVIEW_ID, OVERVIEW_METRICS } from "./overview.ts";
export { type GrafanaImportResult, importGrafana } from "./grafana.ts";
export { type DashboardsComponent, dashboardsComponent } from "./component.ts";
