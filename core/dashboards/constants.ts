/**
 * Dashboard constants with no dependencies, safe for the browser bundle
 * (the zod schema lives in `schema.ts`).
 *
 * @module
 */

/** Number of columns of the panel grid. */
export const GRID_COLUMNS = 24;

/** Panel kinds a dashboard can show. */
export const PANEL_TYPES = [
  "line",
  "bar",
  "stat",
  "gauge",
  "bargauge",
  "heatmap",
  "table",
  "text",
  "row",
] as const;
/** One of {@linkcode PANEL_TYPES}. */
export type PanelType = (typeof PANEL_TYPES)[number];

/** Legend calculations. */
export const LEGEND_CALCS = ["min", "max", "avg", "last"] as const;

/** Most panels on a dashboard, counting the panels inside rows. */
export const MAX_PANELS = 2000;
