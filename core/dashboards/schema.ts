/**
 * The dashboard document: a zod schema and the types it produces.
 *
 * A dashboard holds panels on a 24-column grid, each with PromQL targets and
 * display options, a default time range, a refresh interval and variables.
 * The schema checks shapes only; {@linkcode validateDashboard} in
 * `validate.ts` adds the cross-field rules (ids, overlaps, queries).
 *
 * @module
 */
import { z } from "zod";

import { GRID_COLUMNS, LEGEND_CALCS, PANEL_TYPES, type PanelType } from "./constants.ts";

export { GRID_COLUMNS, LEGEND_CALCS, PANEL_TYPES, type PanelType };

const ID_REGEXP = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const VAR_NAME_REGEXP = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const threshold = z.strictObject({
  value: z.number(),
  color: z.string().regex(/^(#[0-9a-fA-F]{3,8}|[a-z]+)$/, "must be a #hex or named color"),
});

const panelOptions = z.strictObject({
  unit: z.string().max(32).prefault(""),
  decimals: z.number().int().min(0).max(10).optional(),
  thresholds: z.array(threshold).max(16).prefault([]),
  min: z.number().optional(),
  max: z.number().optional(),
  legend: z.strictObject({
    show: z.boolean().prefault(true),
    calcs: z.array(z.enum(LEGEND_CALCS)).prefault(["last"]),
  }).prefault({}),
  stacked: z.boolean().optional(),
});

const target = z.strictObject({
  expr: z.string().min(1, "must not be empty").max(10_000),
  legendFormat: z.string().max(500).prefault(""),
  refId: z.string().max(16).prefault("A"),
});

const gridPos = z.strictObject({
  x: z.number().int().min(0).max(GRID_COLUMNS - 1),
  y: z.number().int().min(0).max(10_000),
  w: z.number().int().min(1).max(GRID_COLUMNS),
  h: z.number().int().min(1).max(100),
});

const panel = z.strictObject({
  id: z.number().int().min(1),
  type: z.enum(PANEL_TYPES),
  title: z.string().max(200).prefault(""),
  description: z.string().max(2000).optional(),
  gridPos,
  targets: z.array(target).max(20).prefault([]),
  options: panelOptions.prefault({}),
});

const variableBase = {
  name: z.string().regex(VAR_NAME_REGEXP, "must be a valid identifier"),
  label: z.string().max(100).optional(),
  multi: z.boolean().prefault(false),
  includeAll: z.boolean().prefault(false),
  /** Selected values; `["$__all"]` selects All. */
  current: z.array(z.string()).prefault([]),
};

const variable = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("query"),
    ...variableBase,
    /** `label_values(label)` or `label_values(selector, label)`. */
    query: z.string().min(1),
  }),
  z.strictObject({
    type: z.literal("custom"),
    ...variableBase,
    options: z.array(z.string()).min(1, "must list at least one option"),
  }),
]);

/** The dashboard schema (input accepts omitted defaults). */
export const dashboardSchema = z.strictObject({
  id: z.string().regex(ID_REGEXP, "must be lowercase letters, digits, '-' or '_' (≤64)"),
  title: z.string().min(1, "must not be empty").max(200),
  tags: z.array(z.string().max(50)).max(20).prefault([]),
  time: z.strictObject({
    from: z.string().prefault("now-6h"),
    to: z.string().prefault("now"),
  }).prefault({}),
  refresh: z.string().prefault(""),
  variables: z.array(variable).max(20).prefault([]),
  panels: z.array(panel).max(100).prefault([]),
  /** Increments on each save; used to refuse stale overwrites. */
  version: z.number().int().min(0).prefault(0),
});

/** A dashboard with every default filled in. */
export type Dashboard = z.output<typeof dashboardSchema>;
/** A dashboard as a user may write it. */
export type DashboardInput = z.input<typeof dashboardSchema>;
/** One panel. */
export type Panel = Dashboard["panels"][number];
/** One PromQL target of a panel. */
export type Target = Panel["targets"][number];
/** A panel's display options. */
export type PanelOptions = Panel["options"];
/** A grid position in columns and rows. */
export type GridPos = Panel["gridPos"];
/** A dashboard variable. */
export type Variable = Dashboard["variables"][number];
