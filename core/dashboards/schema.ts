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

import {
  GRID_COLUMNS,
  LEGEND_CALCS,
  MAX_PANELS,
  PANEL_TYPES,
  type PanelType,
} from "./constants.ts";

export { GRID_COLUMNS, LEGEND_CALCS, MAX_PANELS, PANEL_TYPES, type PanelType };

const ID_REGEXP = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const VAR_NAME_REGEXP = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function buildDashboardSchema() {
  const threshold = z.strictObject({
    value: z.number(),
    color: z.string().regex(/^(#[0-9a-fA-F]{3,8}|[a-z]+)$/, "must be a #hex or named color"),
  });

  /**
   * Display settings for the series a matcher selects (Grafana's field
   * overrides): by exact legend name or by a regular expression over it.
   */
  const override = z.strictObject({
    matcher: z.strictObject({
      type: z.enum(["name", "regex"]),
      value: z.string().min(1, "must not be empty").max(500),
    }),
    unit: z.string().max(32).optional(),
    decimals: z.number().int().min(0).max(10).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    color: z.string().regex(/^(#[0-9a-fA-F]{3,8}|[a-z]+)$/, "must be a #hex or named color")
      .optional(),
    displayName: z.string().max(200).optional(),
    /** Draw the series below the axis (values negated for display only). */
    negativeY: z.boolean().optional(),
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
    overrides: z.array(override).max(100).optional(),
    /** Stat panels: colour the value (default), the background, or nothing. */
    colorMode: z.enum(["value", "background", "none"]).optional(),
    /** Bar gauges: bars side by side or stacked. */
    orientation: z.enum(["horizontal", "vertical"]).optional(),
    /** Text panels: the text (Markdown is shown as plain text with line breaks). */
    content: z.string().max(20_000).optional(),
  });

  const target = z.strictObject({
    expr: z.string().min(1, "must not be empty").max(10_000),
    legendFormat: z.string().max(500).prefault(""),
    refId: z.string().max(16).prefault("A"),
    /** Not run nor shown (another target may still refer to it in Grafana). */
    hide: z.boolean().optional(),
    /** Evaluated once at the end of the range (stat, gauge, table panels). */
    instant: z.boolean().optional(),
  });

  const gridPos = z.strictObject({
    x: z.number().int().min(0).max(GRID_COLUMNS - 1),
    y: z.number().int().min(0).max(10_000),
    w: z.number().int().min(1).max(GRID_COLUMNS),
    h: z.number().int().min(1).max(100),
  });

  const panelShape = {
    id: z.number().int().min(1),
    type: z.enum(PANEL_TYPES),
    title: z.string().max(200).prefault(""),
    description: z.string().max(10_000).optional(),
    gridPos,
    targets: z.array(target).max(50).prefault([]),
    options: panelOptions.prefault({}),
    /** Repeat the panel (or a row with its panels) once per value of this variable. */
    repeat: z.string().regex(VAR_NAME_REGEXP, "must be a variable name").optional(),
    /** Repeated panels side by side (h, the default) or stacked (v). */
    repeatDirection: z.enum(["h", "v"]).optional(),
    /** Most repeated panels per grid row. */
    maxPerRow: z.number().int().min(1).max(GRID_COLUMNS).optional(),
  };

  /** A panel inside a collapsed row. */
  const nestedPanel = z.strictObject(panelShape);

  const panel = z.strictObject({
    ...panelShape,
    /** Rows: folded, with their panels in `panels`. */
    collapsed: z.boolean().optional(),
    /** Rows: the panels of a collapsed row (positions as when unfolded). */
    panels: z.array(nestedPanel).max(MAX_PANELS).optional(),
  });

  const variableBase = {
    name: z.string().regex(VAR_NAME_REGEXP, "must be a valid identifier"),
    label: z.string().max(100).optional(),
    multi: z.boolean().prefault(false),
    includeAll: z.boolean().prefault(false),
    /** Selected values; `["$__all"]` selects All. */
    current: z.array(z.string()).prefault([]),
    /** What All stands for in queries (Grafana's "custom all value", e.g. `.*`). */
    allValue: z.string().max(1000).optional(),
    /** Not shown in the toolbar. */
    hidden: z.boolean().optional(),
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

  return z.strictObject({
    id: z.string().regex(ID_REGEXP, "must be lowercase letters, digits, '-' or '_' (≤64)"),
    title: z.string().min(1, "must not be empty").max(200),
    tags: z.array(z.string().max(50)).max(20).prefault([]),
    time: z.strictObject({
      from: z.string().prefault("now-6h"),
      to: z.string().prefault("now"),
    }).prefault({}),
    refresh: z.string().prefault(""),
    variables: z.array(variable).max(50).prefault([]),
    panels: z.array(panel).max(MAX_PANELS).prefault([]),
    /** Increments on each save; used to refuse stale overwrites. */
    version: z.number().int().min(0).prefault(0),
  });
}

let built: ReturnType<typeof buildDashboardSchema> | undefined;

/**
 * The dashboard schema (input accepts omitted defaults), built at its first
 * use: it is the largest zod schema Perch has, and start-up needs none of it.
 */
export function dashboardSchema(): ReturnType<typeof buildDashboardSchema> {
  return built ??= buildDashboardSchema();
}

/** A dashboard with every default filled in. */
export type Dashboard = z.output<ReturnType<typeof dashboardSchema>>;
/** A dashboard as a user may write it. */
export type DashboardInput = z.input<ReturnType<typeof dashboardSchema>>;
/** One panel (rows may hold nested panels). */
export type Panel = Dashboard["panels"][number];
/** A panel inside a row. */
export type NestedPanel = NonNullable<Panel["panels"]>[number];
/** Display settings for some series of a panel. */
export type FieldOverride = NonNullable<PanelOptions["overrides"]>[number];
/** One PromQL target of a panel. */
export type Target = Panel["targets"][number];
/** A panel's display options. */
export type PanelOptions = Panel["options"];
/** A grid position in columns and rows. */
export type GridPos = Panel["gridPos"];
/** A dashboard variable. */
export type Variable = Dashboard["variables"][number];
