/**
 * The part of core/dashboards that browser code (islands) loads: no Deno APIs and
 * no heavy dependencies, so the island bundles stay small. Server code imports
 * `mod.ts`.
 *
 * @module
 */
export { formatValue, resolveUnit } from "./format.ts";
export type {
  Dashboard,
  FieldOverride,
  GridPos,
  NestedPanel,
  Panel,
  Target,
  Variable,
} from "./schema.ts";
export { GRID_COLUMNS, LEGEND_CALCS, PANEL_TYPES } from "./constants.ts";
export { type DragMode, dragTarget, placePanel } from "./layout.ts";
export {
  parseRefresh,
  parseTimeExpr,
  REFRESH_INTERVALS,
  RELATIVE_RANGES,
  stepFor,
} from "./time_range.ts";
export {
  ALL_VALUE,
  interpolate,
  interpolateForParse,
  interpolateText,
  parseLabelValuesQuery,
} from "./variables.ts";
export { displayLayout, type DisplayPanel, overrideFor } from "./display.ts";
