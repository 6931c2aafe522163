/**
 * Stat, gauge (SVG) and table panels, and the panel frame that picks the
 * right view for a panel type. Text from series labels is rendered by
 * Preact as text, never as HTML.
 *
 * @module
 */
import {
  formatValue,
  type NestedPanel as Panel,
  overrideFor,
  resolveUnit,
} from "../core/dashboards/mod_browser.ts";
import type { MatrixSeries } from "./api.ts";
import Chart from "./Chart.tsx";
import {
  calcs,
  legendName,
  sampleValue,
  thresholdColor,
  toChartData,
  toHeatmap,
} from "./series.ts";
import { cssColor } from "./theme.ts";

/** The data state of one panel: one matrix per target. */
export interface PanelState {
  readonly status: "idle" | "loading" | "ok" | "error";
  readonly results?: MatrixSeries[][];
  readonly error?: string;
  /** Ms of the last data change, for tests and the "updated" hint. */
  readonly updatedAt?: number;
}

interface ViewProps {
  readonly panel: Panel;
  readonly state: PanelState;
  readonly range: { start: number; end: number };
  readonly syncKey: string;
  readonly onZoom?: (start: number, end: number) => void;
}

function panelUnit(panel: Panel): string {
  return resolveUnit(panel.options.unit, panel.targets[0]?.expr ?? "");
}

interface ValueRow {
  name: string;
  v: number;
  metric: Record<string, string>;
  /** Unit and decimals after overrides. */
  unit: string;
  decimals?: number;
  color?: string;
}

/** The last value of every series, named and formatted as the panel's overrides say. */
function lastValues(panel: Panel, results: MatrixSeries[][]): ValueRow[] {
  const out: ValueRow[] = [];
  const unit = panelUnit(panel);
  results.forEach((series, i) => {
    const t = panel.targets[i];
    if (t?.hide) return;
    const lf = t?.legendFormat ?? "";
    for (const s of series) {
      const last = s.values[s.values.length - 1];
      const name = legendName(s.metric, lf);
      const o = overrideFor(name, panel.options.overrides);
      out.push({
        name: o.displayName ?? name,
        v: last ? sampleValue(last[1]) : NaN,
        metric: s.metric,
        unit: o.unit ?? unit,
        decimals: o.decimals ?? panel.options.decimals,
        color: o.color,
      });
    }
  });
  return out;
}

/** A big number per series, coloured by thresholds. */
export function StatView({ panel, state }: ViewProps) {
  const rows = state.results ? lastValues(panel, state.results) : [];
  if (state.status === "ok" && rows.length === 0) return <p class="muted center">No data</p>;
  const shown: ValueRow[] = rows.length
    ? rows.slice(0, 8)
    : [{ name: "", v: NaN, metric: {}, unit: panelUnit(panel) }];
  const mode = panel.options.colorMode ?? "value";
  return (
    <div class="stat-grid">
      {shown.map((r) => {
        const c = cssColor(r.color ?? thresholdColor(r.v, panel.options.thresholds, "inherit"));
        return (
          <div
            class={`stat${mode === "background" ? " stat-bg" : ""}`}
            style={mode === "background" && c !== "inherit" ? { background: c } : undefined}
          >
            <span
              class="stat-value"
              data-value={Number.isNaN(r.v) ? "" : String(r.v)}
              style={{ color: mode === "value" ? c : "inherit" }}
            >
              {rows.length === 0 ? "\u2013" : formatValue(r.v, r.unit, r.decimals)}
            </span>
            {rows.length > 1 && <span class="stat-name">{r.name}</span>}
          </div>
        );
      })}
    </div>
  );
}

function arc(cx: number, cy: number, r: number, a0: number, a1: number): string {
  const p = (a: number) => [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  const [x0, y0] = p(a0), [x1, y1] = p(a1);
  const large = a1 - a0 > Math.PI ? 1 : 0;
  return `M ${x0!.toFixed(2)} ${y0!.toFixed(2)} A ${r} ${r} 0 ${large} 1 ${x1!.toFixed(2)} ${
    y1!.toFixed(2)
  }`;
}

/** A 240° SVG gauge per series between min and max. */
/** Scale of gauges and bar gauges: the panel's min/max, else what the unit implies. */
function scaleOf(panel: Panel, unit: string, rows: readonly ValueRow[]): [number, number] {
  const min = panel.options.min ?? 0;
  const max = panel.options.max ??
    (unit === "ratio"
      ? 1
      : unit === "percent"
      ? 100
      : Math.max(100, ...rows.map((r) => r.v).filter((v) => v === v)));
  return [min, max];
}

/** Horizontal (or vertical) bars per series between min and max, coloured by thresholds. */
export function BarGaugeView({ panel, state }: ViewProps) {
  const unit = panelUnit(panel);
  const rows = state.results ? lastValues(panel, state.results) : [];
  if (state.status === "ok" && rows.length === 0) return <p class="muted center">No data</p>;
  const [min, max] = scaleOf(panel, unit, rows);
  const vertical = panel.options.orientation === "vertical";
  return (
    <div class={`bargauge${vertical ? " vertical" : ""}`}>
      {rows.slice(0, 50).map((r) => {
        const frac = Number.isNaN(r.v)
          ? 0
          : Math.min(1, Math.max(0, (r.v - min) / (max - min || 1)));
        const color = cssColor(r.color ?? thresholdColor(r.v, panel.options.thresholds, "#3b82f6"));
        return (
          <div class="bar-row">
            <span class="bar-name" title={r.name}>{r.name}</span>
            <span class="bar-track">
              <span
                class="bar-fill"
                style={vertical
                  ? { height: `${(frac * 100).toFixed(1)}%`, background: color }
                  : { width: `${(frac * 100).toFixed(1)}%`, background: color }}
              />
            </span>
            <span class="bar-value" data-value={Number.isNaN(r.v) ? "" : String(r.v)}>
              {rows.length === 0 ? "\u2013" : formatValue(r.v, r.unit, r.decimals)}
            </span>
          </div>
        );
      })}
    </div>
  );
}

/** A text panel: its content as plain text (Markdown is not rendered, never HTML). */
export function TextView({ panel }: ViewProps) {
  const text = panel.options.content ?? "";
  return (
    <div class="text-panel">
      {text.split(/\n{2,}/).map((para, i) => <p key={i}>{para.replace(/^#+\s*/gm, "")}</p>)}
    </div>
  );
}

/** A 240° SVG gauge per series between min and max. */
export function GaugeView({ panel, state }: ViewProps) {
  const unit = panelUnit(panel);
  const rows = state.results ? lastValues(panel, state.results) : [];
  if (state.status === "ok" && rows.length === 0) return <p class="muted center">No data</p>;
  const shown: ValueRow[] = rows.length
    ? rows.slice(0, 6)
    : [{ name: "", v: NaN, metric: {}, unit }];
  const [min, max] = scaleOf(panel, unit, rows);
  const a0 = Math.PI * 5 / 6, a1 = Math.PI * 13 / 6;
  return (
    <div class="gauge-grid">
      {shown.map((r) => {
        const frac = Number.isNaN(r.v)
          ? 0
          : Math.min(1, Math.max(0, (r.v - min) / (max - min || 1)));
        const color = cssColor(r.color ?? thresholdColor(r.v, panel.options.thresholds, "#3b82f6"));
        return (
          <figure class="gauge">
            <svg
              viewBox="0 0 100 80"
              role="img"
              aria-label={`${r.name} ${formatValue(r.v, r.unit, r.decimals)}`}
            >
              <path d={arc(50, 50, 38, a0, a1)} class="gauge-track" fill="none" stroke-width="9" />
              {frac > 0 && (
                <path
                  d={arc(50, 50, 38, a0, a0 + (a1 - a0) * Math.max(frac, 0.002))}
                  fill="none"
                  stroke={color}
                  stroke-width="9"
                />
              )}
              <text
                x="50"
                y="54"
                text-anchor="middle"
                class="gauge-text"
                data-value={Number.isNaN(r.v) ? "" : String(r.v)}
              >
                {rows.length === 0 ? "\u2013" : formatValue(r.v, r.unit, r.decimals)}
              </text>
            </svg>
            {rows.length > 1 && <figcaption>{r.name}</figcaption>}
          </figure>
        );
      })}
    </div>
  );
}

/** A table: one row per series with its labels and last value. */
export function TableView({ panel, state }: ViewProps) {
  const rows = state.results ? lastValues(panel, state.results) : [];
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r.metric)))].sort();
  if (state.status === "ok" && rows.length === 0) return <p class="muted center">No data</p>;
  return (
    <div class="table-wrap">
      <table class="table">
        <thead>
          <tr>
            {cols.map((c) => <th key={c} scope="col">{c}</th>)}
            <th scope="col" class="num">Value</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              {cols.map((c) => <td key={c}>{r.metric[c] ?? ""}</td>)}
              <td
                class="num"
                style={{
                  color: cssColor(thresholdColor(r.v, panel.options.thresholds, "inherit")),
                }}
              >
                {formatValue(r.v, r.unit, r.decimals)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A line, bar or heatmap chart. */
export function ChartView({ panel, state, range, syncKey, onZoom }: ViewProps) {
  const unit = panelUnit(panel);
  const o = panel.options;
  if (panel.type === "heatmap") {
    const h = toHeatmap((state.results ?? []).flat());
    if (state.status === "ok" && h.bounds.length === 0) {
      return (
        <p class="muted center">
          No histogram buckets (native histograms, or series with an le label)
        </p>
      );
    }
    return (
      <Chart
        kind="heatmap"
        heatmap={h}
        unit={unit}
        decimals={o.decimals}
        syncKey={syncKey}
        onZoom={onZoom}
        range={range}
      />
    );
  }
  const data = toChartData(
    (state.results ?? []).map((series, i) => ({
      series: panel.targets[i]?.hide ? [] : series,
      legendFormat: panel.targets[i]?.legendFormat ?? "",
    })),
    panel.options.overrides,
  );
  if (state.status === "ok" && data.series.length === 0) return <p class="muted center">No data</p>;
  return (
    <Chart
      kind={panel.type === "bar" ? "bar" : "line"}
      data={data}
      unit={unit}
      decimals={o.decimals}
      min={o.min}
      max={o.max}
      syncKey={syncKey}
      onZoom={onZoom}
      legend={o.legend}
      range={range}
    />
  );
}

/** The body of a panel by its type. */
export function PanelBody(props: ViewProps) {
  switch (props.panel.type) {
    case "stat":
      return <StatView {...props} />;
    case "bargauge":
      return <BarGaugeView {...props} />;
    case "text":
      return <TextView {...props} />;
    case "gauge":
      return <GaugeView {...props} />;
    case "table":
      return <TableView {...props} />;
    default:
      return <ChartView {...props} />;
  }
}

export { calcs };
