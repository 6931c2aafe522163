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
import { z } from "../model/mod.ts";

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
    color: z.string().check(
      z.regex(/^(#[0-9a-fA-F]{3,8}|[a-z]+)$/, "must be a #hex or named color"),
    ),
  });

  /**
   * Display settings for the series a matcher selects (Grafana's field
   * overrides): by exact legend name or by a regular expression over it.
   */
  const override = z.strictObject({
    matcher: z.strictObject({
      type: z.enum(["name", "regex"]),
      value: z.string().check(z.minLength(1, "must not be empty"), z.maxLength(500)),
    }),
    unit: z.optional(z.string().check(z.maxLength(32))),
    decimals: z.optional(z.number().check(z.int(), z.gte(0), z.lte(10))),
    min: z.optional(z.number()),
    max: z.optional(z.number()),
    color: z.optional(
      z.string().check(z.regex(/^(#[0-9a-fA-F]{3,8}|[a-z]+)$/, "must be a #hex or named color")),
    ),
    displayName: z.optional(z.string().check(z.maxLength(200))),
    /** Draw the series below the axis (values negated for display only). */
    negativeY: z.optional(z.boolean()),
  });

  const panelOptions = z.strictObject({
    unit: z.prefault(z.string().check(z.maxLength(32)), ""),
    decimals: z.optional(z.number().check(z.int(), z.gte(0), z.lte(10))),
    thresholds: z.prefault(z.array(threshold).check(z.maxLength(16)), []),
    min: z.optional(z.number()),
    max: z.optional(z.number()),
    legend: z.prefault(
      z.strictObject({
        show: z.prefault(z.boolean(), true),
        calcs: z.prefault(z.array(z.enum(LEGEND_CALCS)), ["last"]),
      }),
      {},
    ),
    stacked: z.optional(z.boolean()),
    overrides: z.optional(z.array(override).check(z.maxLength(100))),
    /** Stat panels: colour the value (default), the background, or nothing. */
    colorMode: z.optional(z.enum(["value", "background", "none"])),
    /** Bar gauges: bars side by side or stacked. */
    orientation: z.optional(z.enum(["horizontal", "vertical"])),
    /** Text panels: the text (Markdown is shown as plain text with line breaks). */
    content: z.optional(z.string().check(z.maxLength(20_000))),
  });

  const target = z.strictObject({
    expr: z.string().check(z.minLength(1, "must not be empty"), z.maxLength(10_000)),
    legendFormat: z.prefault(z.string().check(z.maxLength(500)), ""),
    refId: z.prefault(z.string().check(z.maxLength(16)), "A"),
    /** Not run nor shown (another target may still refer to it in Grafana). */
    hide: z.optional(z.boolean()),
    /** Evaluated once at the end of the range (stat, gauge, table panels). */
    instant: z.optional(z.boolean()),
  });

  const gridPos = z.strictObject({
    x: z.number().check(z.int(), z.gte(0), z.lte(GRID_COLUMNS - 1)),
    y: z.number().check(z.int(), z.gte(0), z.lte(10_000)),
    w: z.number().check(z.int(), z.gte(1), z.lte(GRID_COLUMNS)),
    h: z.number().check(z.int(), z.gte(1), z.lte(100)),
  });

  const panelShape = {
    id: z.number().check(z.int(), z.gte(1)),
    type: z.enum(PANEL_TYPES),
    title: z.prefault(z.string().check(z.maxLength(200)), ""),
    description: z.optional(z.string().check(z.maxLength(10_000))),
    gridPos,
    targets: z.prefault(z.array(target).check(z.maxLength(50)), []),
    options: z.prefault(panelOptions, {}),
    /** Repeat the panel (or a row with its panels) once per value of this variable. */
    repeat: z.optional(z.string().check(z.regex(VAR_NAME_REGEXP, "must be a variable name"))),
    /** Repeated panels side by side (h, the default) or stacked (v). */
    repeatDirection: z.optional(z.enum(["h", "v"])),
    /** Most repeated panels per grid row. */
    maxPerRow: z.optional(z.number().check(z.int(), z.gte(1), z.lte(GRID_COLUMNS))),
  };

  /** A panel inside a collapsed row. */
  const nestedPanel = z.strictObject(panelShape);

  const panel = z.strictObject({
    ...panelShape,
    /** Rows: folded, with their panels in `panels`. */
    collapsed: z.optional(z.boolean()),
    /** Rows: the panels of a collapsed row (positions as when unfolded). */
    panels: z.optional(z.array(nestedPanel).check(z.maxLength(MAX_PANELS))),
  });

  const variableBase = {
    name: z.string().check(z.regex(VAR_NAME_REGEXP, "must be a valid identifier")),
    label: z.optional(z.string().check(z.maxLength(100))),
    multi: z.prefault(z.boolean(), false),
    includeAll: z.prefault(z.boolean(), false),
    /** Selected values; `["$__all"]` selects All. */
    current: z.prefault(z.array(z.string()), []),
    /** What All stands for in queries (Grafana's "custom all value", e.g. `.*`). */
    allValue: z.optional(z.string().check(z.maxLength(1000))),
    /** Not shown in the toolbar. */
    hidden: z.optional(z.boolean()),
  };

  const variable = z.discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("query"),
      ...variableBase,
      /** `label_values(label)` or `label_values(selector, label)`. */
      query: z.string().check(z.minLength(1)),
    }),
    z.strictObject({
      type: z.literal("custom"),
      ...variableBase,
      options: z.array(z.string()).check(z.minLength(1, "must list at least one option")),
    }),
  ]);

  return z.strictObject({
    id: z.string().check(
      z.regex(ID_REGEXP, "must be lowercase letters, digits, '-' or '_' (\u226464)"),
    ),
    title: z.string().check(z.minLength(1, "must not be empty"), z.maxLength(200)),
    tags: z.prefault(z.array(z.string().check(z.maxLength(50))).check(z.maxLength(20)), []),
    time: z.prefault(
      z.strictObject({
        from: z.prefault(z.string(), "now-6h"),
        to: z.prefault(z.string(), "now"),
      }),
      {},
    ),
    refresh: z.prefault(z.string(), ""),
    variables: z.prefault(z.array(variable).check(z.maxLength(50)), []),
    panels: z.prefault(z.array(panel).check(z.maxLength(MAX_PANELS)), []),
    /** Increments on each save; used to refuse stale overwrites. */
    version: z.prefault(z.number().check(z.int(), z.gte(0)), 0),
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
