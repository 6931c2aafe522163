/**
 * Import of Grafana's classic dashboard JSON model. Panels (time series,
 * graph, stat, singlestat, gauge, bar gauge, table, heatmap) with Prometheus
 * targets, `gridPos`, `templating.list` variables, `time` and `refresh` map
 * onto Perch's model; everything that does not map is listed in
 * `unsupported`, never dropped silently.
 *
 * @module
 */
import { type DashboardInput, GRID_COLUMNS, type PanelType } from "./schema.ts";
import { checkQuery, type FieldError, validateDashboard } from "./validate.ts";
import type { Dashboard } from "./schema.ts";
import { parseLabelValuesQuery } from "./variables.ts";
import { matcherRegex } from "./display.ts";

/** The outcome of an import. */
export type GrafanaImportResult =
  | { readonly ok: true; readonly dashboard: Dashboard; readonly unsupported: string[] }
  | { readonly ok: false; readonly errors: readonly FieldError[]; readonly unsupported: string[] };

// deno-lint-ignore no-explicit-any
type Json = any;

const PANEL_TYPES: Record<string, PanelType> = {
  timeseries: "line",
  graph: "line",
  stat: "stat",
  singlestat: "stat",
  gauge: "gauge",
  bargauge: "bargauge",
  table: "table",
  "table-old": "table",
  heatmap: "heatmap",
  barchart: "bar",
  text: "text",
};

const UNITS: Record<string, string> = {
  short: "",
  none: "",
  "": "",
  bytes: "bytes",
  decbytes: "bytes",
  kbytes: "bytes",
  s: "seconds",
  ms: "milliseconds",
  dtdurations: "seconds",
  percentunit: "ratio",
  percent: "percent",
  celsius: "celsius",
  fahrenheit: "fahrenheit",
  reqps: "reqps",
  Bps: "bytes_per_second",
  binBps: "bytes_per_second",
  bps: "bits_per_second",
  binbps: "bits_per_second",
  bits: "bits",
  decbits: "bits",
  pps: "pps",
  ops: "ops",
  iops: "iops",
  eps: "eps",
  wps: "ops",
  rps: "reqps",
  rpm: "rpm",
  rotrpm: "rpm",
  bool: "bool",
  bool_yes_no: "bool_yes_no",
  bool_on_off: "bool_on_off",
  volt: "volts",
  amp: "amperes",
  watt: "watts",
  hertz: "hertz",
};

const CALCS: Record<string, "min" | "max" | "avg" | "last"> = {
  min: "min",
  max: "max",
  mean: "avg",
  avg: "avg",
  last: "last",
  lastNotNull: "last",
  current: "last",
};

const NAMED_COLOR = /^(?:(?:super-light|light|semi-dark|dark)-)?([a-z]+)$/;

function color(c: unknown, where: string, unsupported: string[]): string {
  if (typeof c !== "string") return "red";
  if (/^#[0-9a-fA-F]{3,8}$/.test(c)) return c;
  const m = NAMED_COLOR.exec(c);
  if (m) return m[1]!;
  const rgb = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(c);
  if (rgb) {
    return "#" +
      [rgb[1], rgb[2], rgb[3]].map((x) => Number(x).toString(16).padStart(2, "0")).join("");
  }
  unsupported.push(`${where}: color "${c}" replaced by red`);
  return "red";
}

function slug(s: string): string {
  const out = s.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);
  return out || "imported";
}

function variableFrom(v: Json, unsupported: string[]): Json | undefined {
  const name = String(v?.name ?? "");
  const where = `variable "${name}"`;
  const current = v?.current?.value;
  const cur = current === undefined
    ? []
    : (Array.isArray(current) ? current : [current]).map((x: unknown) =>
      x === "$__all" ? "$__all" : String(x)
    );
  const base = {
    name,
    label: typeof v.label === "string" && v.label ? v.label : undefined,
    multi: !!v.multi,
    includeAll: !!v.includeAll,
    current: cur,
    allValue: typeof v.allValue === "string" && v.allValue !== "" ? v.allValue : undefined,
    hidden: v.hide === 2 ? true : undefined,
  };
  switch (v?.type) {
    case "query": {
      const q = typeof v.query === "string" ? v.query : v.query?.query ?? v.definition ?? "";
      if (!parseLabelValuesQuery(q)) {
        unsupported.push(`${where}: query "${q}" is not label_values(...); variable dropped`);
        return undefined;
      }
      if (v.regex) unsupported.push(`${where}: regex filter "${v.regex}" ignored`);
      return { type: "query", ...base, query: q.trim() };
    }
    case "custom":
    case "interval": {
      const opts = String(v.query ?? "").split(",").map((s: string) => s.trim()).filter(Boolean);
      if (opts.length === 0) {
        unsupported.push(`${where}: no options; variable dropped`);
        return undefined;
      }
      if (v.type === "interval" && v.auto) unsupported.push(`${where}: "auto" interval ignored`);
      return { type: "custom", ...base, options: opts };
    }
    case "constant":
    case "textbox": {
      const val = String(v.query ?? current ?? "");
      return { type: "custom", ...base, options: [val], current: [val] };
    }
    case "datasource":
      unsupported.push(
        `${where}: datasource variables are not needed (Perch is the only source); dropped`,
      );
      return undefined;
    default:
      unsupported.push(`${where}: type "${v?.type}" is not supported; dropped`);
      return undefined;
  }
}

function isPrometheusTarget(t: Json, panelDs: Json): boolean {
  const ds = t?.datasource ?? panelDs;
  const type = typeof ds === "object" && ds ? ds.type : undefined;
  return type === undefined || type === "prometheus" || type === "datasource";
}

function panelFrom(p: Json, index: number, unsupported: string[]): Json | undefined {
  const title = String(p?.title ?? "");
  const where = `panel "${title || index}"`;
  let type = PANEL_TYPES[p?.type];
  if (!type) {
    unsupported.push(`${where}: panel type "${p?.type}" is not supported; panel dropped`);
    return undefined;
  }
  if (p.type === "graph" && p.bars && !p.lines) type = "bar";
  if (p.type === "timeseries" && p.fieldConfig?.defaults?.custom?.drawStyle === "bars") {
    type = "bar";
  }
  if (Array.isArray(p.transformations) && p.transformations.length) {
    unsupported.push(`${where}: ${p.transformations.length} transformation(s) ignored`);
  }
  if (Array.isArray(p.seriesOverrides) && p.seriesOverrides.length) {
    unsupported.push(`${where}: series overrides of the old graph panel ignored`);
  }
  if (Array.isArray(p.alert?.conditions)) unsupported.push(`${where}: legacy panel alert ignored`);

  const targets: Json[] = [];
  let ref = 0;
  for (const t of Array.isArray(p.targets) ? p.targets : []) {
    const refId = String(t?.refId ?? String.fromCharCode(65 + ref)).slice(0, 16);
    ref++;
    if (!isPrometheusTarget(t, p.datasource)) {
      unsupported.push(`${where} target ${refId}: non-Prometheus datasource; dropped`);
      continue;
    }
    if (typeof t?.expr !== "string" || !t.expr.trim()) {
      unsupported.push(`${where} target ${refId}: no PromQL expression; dropped`);
      continue;
    }
    for (const m of t.expr.matchAll(/\$__([a-z_]+)/g)) {
      if (!SUPPORTED_MACROS.has(m[1])) {
        unsupported.push(`${where} target ${refId}: $__${m[1]} is not supported`);
      }
    }
    const err = checkQuery(t.expr);
    if (err) {
      unsupported.push(`${where} target ${refId}: query does not parse (${err}); dropped`);
      continue;
    }
    targets.push({
      expr: t.expr,
      legendFormat: typeof t.legendFormat === "string" && t.legendFormat !== "__auto"
        ? t.legendFormat
        : "",
      refId,
      hide: t.hide === true ? true : undefined,
      instant: t.instant === true && t.range !== true ? true : undefined,
    });
  }
  if (type === "text" && p.options?.mode === "html") {
    unsupported.push(`${where}: HTML content is shown as plain text`);
  }

  const defaults = p.fieldConfig?.defaults ?? {};
  const gUnit: string = defaults.unit ?? p.yaxes?.[0]?.format ?? p.format ?? "";
  let unit = UNITS[gUnit];
  if (unit === undefined) {
    unsupported.push(`${where}: unit "${gUnit}" is not known; shown without a unit`);
    unit = "";
  }
  const steps: Json[] = defaults.thresholds?.steps ?? [];
  // Grafana's base step has value null; Perch colours values below the first
  // threshold with the first colour, so the base becomes min(0, next step).
  const nextValue = typeof steps[1]?.value === "number" ? steps[1].value : 0;
  const thresholds = steps.map((s) => ({
    value: typeof s.value === "number" ? s.value : Math.min(0, nextValue),
    color: color(s.color, where, unsupported),
  }));

  const calcs = new Set<"min" | "max" | "avg" | "last">();
  const legend = p.options?.legend;
  for (const c of legend?.calcs ?? []) {
    const mapped = CALCS[c];
    if (mapped) calcs.add(mapped);
    else unsupported.push(`${where}: legend calculation "${c}" ignored`);
  }
  for (const k of ["min", "max", "avg", "current"]) if (p.legend?.[k]) calcs.add(CALCS[k]!);

  const overrides = overridesFrom(p.fieldConfig?.overrides, where, unsupported);
  const stacking = defaults.custom?.stacking?.mode;
  if (stacking === "percent") {
    unsupported.push(`${where}: percent stacking shown as normal stacking`);
  }

  const decimals = typeof defaults.decimals === "number"
    ? defaults.decimals
    : typeof p.decimals === "number"
    ? p.decimals
    : undefined;
  const g = p.gridPos ?? {};
  const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) ? v : d);
  const w = Math.min(GRID_COLUMNS, Math.max(1, Math.round(num(g.w, 12))));
  return {
    id: num(p.id, 0),
    type,
    title: title.slice(0, 200),
    description: typeof p.description === "string" && p.description
      ? p.description.slice(0, 10_000)
      : undefined,
    gridPos: {
      x: Math.min(GRID_COLUMNS - w, Math.max(0, Math.round(num(g.x, 0)))),
      y: Math.max(0, Math.round(num(g.y, 0))),
      w,
      h: Math.min(100, Math.max(1, Math.round(num(g.h, 8)))),
    },
    targets,
    options: {
      unit,
      decimals: decimals !== undefined
        ? Math.min(10, Math.max(0, Math.round(decimals)))
        : undefined,
      thresholds: thresholds.slice(0, 16),
      min: typeof defaults.min === "number" ? defaults.min : undefined,
      max: typeof defaults.max === "number" ? defaults.max : undefined,
      legend: {
        show: legend
          ? (legend.showLegend ?? legend.displayMode !== "hidden")
          : (p.legend?.show ?? true),
        calcs: calcs.size ? [...calcs] : ["last"],
      },
      stacked: stacking === "normal" || stacking === "percent" || p.stack === true
        ? true
        : undefined,
      overrides: overrides.length ? overrides : undefined,
      colorMode: type === "stat" && ["value", "background", "none"].includes(p.options?.colorMode)
        ? p.options.colorMode
        : undefined,
      orientation: type === "bargauge" &&
          ["horizontal", "vertical"].includes(p.options?.orientation)
        ? p.options.orientation
        : undefined,
      content: type === "text" && typeof p.options?.content === "string"
        ? p.options.content.slice(0, 20_000)
        : type === "text" && typeof p.content === "string"
        ? p.content.slice(0, 20_000)
        : undefined,
    },
    repeat: typeof p.repeat === "string" && p.repeat ? p.repeat : undefined,
    repeatDirection: p.repeatDirection === "v" ? "v" : undefined,
    maxPerRow: typeof p.maxPerRow === "number" && p.maxPerRow >= 1
      ? Math.min(GRID_COLUMNS, Math.round(p.maxPerRow))
      : undefined,
  };
}

/** Grafana `$__...` macros Perch substitutes. */
const SUPPORTED_MACROS = new Set([
  "interval",
  "interval_ms",
  "rate_interval",
  "rate_interval_ms",
  "range",
  "range_s",
  "range_ms",
  "from",
  "to",
]);

/** Override properties that only change line drawing: accepted, not rendered. */
const COSMETIC = new Set([
  "custom.fillOpacity",
  "custom.lineStyle",
  "custom.lineWidth",
  "custom.showPoints",
  "custom.pointSize",
  "custom.stacking",
  "custom.drawStyle",
  "custom.lineInterpolation",
  "custom.gradientMode",
  "custom.axisPlacement",
  "custom.axisLabel",
  "custom.spanNulls",
]);

/** Grafana field overrides -> Perch overrides (by name or regex over the legend name). */
function overridesFrom(list: unknown, where: string, unsupported: string[]): Json[] {
  if (!Array.isArray(list)) return [];
  const out: Json[] = [];
  const ignored = new Set<string>();
  for (const o of list) {
    const id = o?.matcher?.id;
    const opt = o?.matcher?.options;
    let matchers: Json[];
    if (id === "byName" && typeof opt === "string" && opt) {
      matchers = [{ type: "name", value: opt }];
    } else if (id === "byRegexp" && typeof opt === "string" && opt) {
      matchers = [{ type: "regex", value: opt }];
    } else if (id === "byNames" && Array.isArray(opt?.names)) {
      matchers = opt.names.filter((n: unknown) => typeof n === "string" && n).map((n: string) => ({
        type: "name",
        value: n,
      }));
    } else {
      unsupported.push(`${where}: override matcher "${id}" is not supported; override ignored`);
      continue;
    }
    const props: Json = {};
    for (const pr of Array.isArray(o.properties) ? o.properties : []) {
      const v = pr?.value;
      switch (pr?.id) {
        case "unit":
          if (typeof v === "string" && UNITS[v] !== undefined) props.unit = UNITS[v];
          else ignored.add(`unit "${v}"`);
          break;
        case "decimals":
          if (typeof v === "number") props.decimals = Math.min(10, Math.max(0, Math.round(v)));
          break;
        case "min":
        case "max":
          if (typeof v === "number") props[pr.id] = v;
          break;
        case "color":
          if (v?.fixedColor) props.color = color(v.fixedColor, where, unsupported);
          else ignored.add(`color mode "${v?.mode}"`);
          break;
        case "displayName":
          if (typeof v === "string") props.displayName = v.slice(0, 200);
          break;
        case "custom.transform":
          if (v === "negative-Y") props.negativeY = true;
          else ignored.add(`transform "${v}"`);
          break;
        default:
          if (!COSMETIC.has(pr?.id)) ignored.add(String(pr?.id));
      }
    }
    if (Object.keys(props).length === 0) continue;
    for (const m of matchers) {
      if (m.type === "regex" && !matcherRegex(m.value)) {
        unsupported.push(`${where}: override regex ${m.value} is not valid; ignored`);
        continue;
      }
      out.push({ matcher: { ...m, value: String(m.value).slice(0, 500) }, ...props });
    }
  }
  if (ignored.size) {
    unsupported.push(`${where}: override properties ignored: ${[...ignored].join(", ")}`);
  }
  return out.slice(0, 100);
}

/** Moves panels down until none overlap, keeping their order by (y, x). */
function resolveOverlaps(panels: Json[]): void {
  const placed: Json[] = [];
  const sorted = [...panels].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  for (const p of sorted) {
    const g = p.gridPos;
    const hits = () =>
      placed.find((q) => {
        const o = q.gridPos;
        return g.x < o.x + o.w && o.x < g.x + g.w && g.y < o.y + o.h && o.y < g.y + g.h;
      });
    for (let q = hits(); q; q = hits()) g.y = q.gridPos.y + q.gridPos.h;
    placed.push(p);
  }
}

/** Converts a Grafana dashboard JSON document (or `{dashboard: ...}` wrapper). */
export function importGrafana(input: unknown, idOverride?: string): GrafanaImportResult {
  const unsupported: string[] = [];
  let g: Json = input;
  if (g && typeof g === "object" && g.dashboard && typeof g.dashboard === "object") g = g.dashboard;
  if (!g || typeof g !== "object" || Array.isArray(g)) {
    return {
      ok: false,
      errors: [{ path: "(root)", message: "must be a Grafana dashboard JSON object" }],
      unsupported,
    };
  }
  if (Array.isArray(g.rows) && !Array.isArray(g.panels)) {
    return {
      ok: false,
      errors: [{
        path: "rows",
        message: "pre-5.0 Grafana dashboards (rows without gridPos) are not supported; " +
          "open and save the dashboard in a current Grafana first",
      }],
      unsupported,
    };
  }
  if (Array.isArray(g.__inputs) && g.__inputs.length) {
    unsupported.push(`__inputs: datasource inputs are not needed; ignored`);
  }
  if (Array.isArray(g.annotations?.list) && g.annotations.list.some((a: Json) => !a?.builtIn)) {
    unsupported.push("annotations: not supported; ignored");
  }
  if (Array.isArray(g.links) && g.links.length) unsupported.push("links: not supported; ignored");

  // Rows keep their panels: a collapsed row holds them, an open row is followed by them.
  const panels: Json[] = [];
  const nestedOf = new Map<Json, Json[]>();
  (Array.isArray(g.panels) ? g.panels : []).forEach((p: Json, i: number) => {
    if (p?.type !== "row") {
      const out = panelFrom(p, i, unsupported);
      if (out) panels.push(out);
      return;
    }
    const y = Math.max(0, Math.round(Number(p.gridPos?.y) || 0));
    const row: Json = {
      id: Number.isInteger(p.id) ? p.id : 0,
      type: "row",
      title: String(p.title ?? "").slice(0, 200),
      gridPos: { x: 0, y, w: GRID_COLUMNS, h: 1 },
      targets: [],
      options: {},
      collapsed: p.collapsed === true ? true : undefined,
      repeat: typeof p.repeat === "string" && p.repeat ? p.repeat : undefined,
    };
    if (p.collapsed === true) {
      const nested = (Array.isArray(p.panels) ? p.panels : [])
        .map((n: Json, k: number) => panelFrom(n, k, unsupported))
        .filter((n: Json) => n !== undefined);
      nestedOf.set(row, nested);
      row.panels = nested;
    }
    panels.push(row);
  });
  // Ids must be unique positive integers, inside rows too.
  const all = panels.flatMap((p) => [p, ...(nestedOf.get(p) ?? [])]);
  const used = new Set<number>();
  let next = Math.max(0, ...all.map((p) => (Number.isInteger(p.id) ? p.id : 0))) + 1;
  for (const p of all) {
    if (!Number.isInteger(p.id) || p.id < 1 || used.has(p.id)) p.id = next++;
    used.add(p.id);
  }
  resolveOverlaps(panels);
  for (const nested of nestedOf.values()) resolveOverlaps(nested);

  const variables = (Array.isArray(g.templating?.list) ? g.templating.list : [])
    .map((v: Json) => variableFrom(v, unsupported))
    .filter((v: Json) => v !== undefined);

  let refresh = typeof g.refresh === "string" ? g.refresh : "";
  if (refresh && !/^\d+(ms|s|m|h)$/.test(refresh)) {
    unsupported.push(`refresh "${refresh}" is not supported; refresh is off`);
    refresh = "";
  }
  const time = {
    from: typeof g.time?.from === "string" ? g.time.from : "now-6h",
    to: typeof g.time?.to === "string" ? g.time.to : "now",
  };
  for (const k of ["from", "to"] as const) {
    if (time[k].includes("/")) {
      unsupported.push(`time.${k} "${time[k]}": rounding ("/d") is not supported; dropped`);
      time[k] = time[k].replace(/\/[a-zA-Z]+$/, "");
    }
  }
  const doc: DashboardInput = {
    id: idOverride ?? slug(String(g.uid ?? g.title ?? "imported")),
    title: String(g.title ?? "Imported dashboard").slice(0, 200) || "Imported dashboard",
    tags: Array.isArray(g.tags) ? g.tags.map(String).slice(0, 20) : [],
    time,
    refresh,
    variables,
    panels,
  };
  const r = validateDashboard(JSON.parse(JSON.stringify(doc)));
  return r.ok
    ? { ok: true, dashboard: r.dashboard, unsupported }
    : { ok: false, errors: r.errors, unsupported };
}
