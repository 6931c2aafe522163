/**
 * A uPlot chart: line, bar or heatmap, with a tooltip, drag-to-zoom that
 * reports the selected time range, and a crosshair shared by every chart
 * with the same `syncKey`. The legend is rendered by Preact (escaped text)
 * with min/max/avg/last.
 *
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import type uPlot from "uplot";
import { formatValue } from "../core/dashboards/mod_browser.ts";
import { calcs, type ChartData, type HeatmapData } from "./series.ts";
import { cssColor, cssVar, PALETTE } from "./theme.ts";

/** What a chart shows. */
export interface ChartProps {
  readonly kind: "line" | "bar" | "heatmap";
  readonly data?: ChartData;
  readonly heatmap?: HeatmapData;
  readonly unit: string;
  readonly decimals?: number;
  readonly min?: number;
  readonly max?: number;
  readonly syncKey?: string;
  /** Called with the dragged range in ms. */
  readonly onZoom?: (start: number, end: number) => void;
  readonly legend?: { show: boolean; calcs: readonly string[] };
  /** Visible time range in ms, so empty stretches still show. */
  readonly range?: { start: number; end: number };
}

/** The uPlot class. */
type UPlot = typeof uPlot;
let uplot: Promise<UPlot> | undefined;
/**
 * uPlot, loaded when the first chart is drawn: the server renders charts'
 * markup but never draws one, so it does not load uPlot (~50 ms the first
 * UI page after a start paid).
 */
function loadUplot(): Promise<UPlot> {
  return uplot ??= import("uplot").then((m) => m.default);
}

function fmt(unit: string, decimals?: number) {
  return (
    v: number | null | undefined,
  ) => (v === null || v === undefined ? "\u2013" : formatValue(v, unit, decimals));
}

/** Fills the tooltip; `t` (seconds) is the hovered point's time, kept in `data-t`. */
function tooltipRows(
  el: HTMLElement,
  rows: [string, string, string][],
  title: string,
  t: number,
): void {
  el.replaceChildren();
  el.dataset.t = String(t);
  const h = document.createElement("div");
  h.className = "tt-time";
  h.textContent = title;
  el.append(h);
  for (const [color, name, value] of rows) {
    const r = document.createElement("div");
    r.className = "tt-row";
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = color;
    const n = document.createElement("span");
    n.className = "tt-name";
    n.textContent = name;
    const v = document.createElement("span");
    v.className = "tt-val";
    v.textContent = value;
    r.append(sw, n, v);
    el.append(r);
  }
}

function heatColor(frac: number): string {
  // From a pale to a saturated blue-purple; frac in (0, 1].
  const a = 0.15 + 0.85 * Math.min(1, Math.max(0, frac));
  return `rgba(99, 102, 241, ${a.toFixed(3)})`;
}

function buildOptions(
  U: UPlot,
  p: ChartProps,
  width: number,
  height: number,
  tooltip: HTMLElement,
  onZoom: { current?: (s: number, e: number) => void },
  xr: { current?: { start: number; end: number } },
): { opts: uPlot.Options; data: uPlot.AlignedData } {
  const fg = cssVar("--muted", "#888");
  const grid = cssVar("--border", "#ddd");
  const f = fmt(p.unit, p.decimals);
  const axisY: uPlot.Axis = {
    stroke: fg,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid },
    // Wide enough for the longest label (uPlot calls this again until the size settles).
    size: (u, values) => {
      if (!values || values.length === 0) return 50;
      const ctx = u.ctx;
      ctx.save();
      ctx.font = u.axes[1]?.font?.[0] ?? "12px system-ui";
      const w = Math.max(...values.map((v) => ctx.measureText(String(v)).width));
      ctx.restore();
      return Math.ceil(w / devicePixelRatio) + 18;
    },
    values: (_u, splits) => splits.map((v) => formatValue(v, p.unit, p.decimals)),
  };
  const axisX: uPlot.Axis = {
    stroke: fg,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid },
  };
  const cursor: uPlot.Cursor = {
    drag: { x: true, y: false, setScale: false },
    points: { size: 6 },
    ...(p.syncKey ? { sync: { key: p.syncKey } } : {}),
  };
  const zoomHook = (u: uPlot) => {
    const s = u.select;
    if (s.width > 4 && onZoom.current) {
      const a = u.posToVal(s.left, "x"), b = u.posToVal(s.left + s.width, "x");
      onZoom.current(Math.round(a * 1000), Math.round(b * 1000));
    }
    if (s.width > 0) u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
  };
  // The x range is read through a ref, so a sliding live window moves the axis without a rebuild.
  const xRange = p.range
    ? {
      range: (): uPlot.Range.MinMax => {
        const r = xr.current ?? p.range!;
        return [r.start / 1000, r.end / 1000];
      },
    }
    : {};

  if (p.kind === "heatmap") {
    const h = p.heatmap!;
    const n = h.bounds.length;
    const opts: uPlot.Options = {
      width,
      height,
      legend: { show: false },
      cursor: { ...cursor, points: { show: false } },
      scales: {
        x: { time: true, ...xRange },
        y: { auto: false, range: () => [0, Math.max(1, n)] },
      },
      axes: [axisX, {
        ...axisY,
        // At most about a dozen labels: native histograms can have a hundred rows.
        splits: () => {
          const every = Math.ceil(n / 12);
          return h.bounds.map((_, i) => i + 1).filter((i) => i % every === 0 || i === n);
        },
        values: (_u, splits) =>
          splits.map((s) => {
            const b = h.bounds[s - 1];
            return b === undefined
              ? ""
              : b === Infinity
              ? "+Inf"
              : formatValue(b, p.unit, p.decimals);
          }),
      }],
      series: [{}, { label: "buckets", stroke: "transparent", points: { show: false } }],
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          ctx.save();
          for (let i = 0; i < h.xs.length; i++) {
            const x0 = u.valToPos(
              h.xs[i - 1] ?? h.xs[i]! - (h.xs[i + 1]! - h.xs[i]! || 1),
              "x",
              true,
            );
            const x1 = u.valToPos(h.xs[i]!, "x", true);
            for (let b = 0; b < n; b++) {
              const c = h.counts[b]![i]!;
              if (c <= 0) continue;
              const y0 = u.valToPos(b + 1, "y", true), y1 = u.valToPos(b, "y", true);
              ctx.fillStyle = heatColor(c / (h.maxCount || 1));
              ctx.fillRect(x0, y0, Math.max(1, x1 - x0 - 1), Math.max(1, y1 - y0 - 1));
            }
          }
          ctx.restore();
        }],
        setSelect: [zoomHook],
        setCursor: [(u) => {
          const idx = u.cursor.idx;
          const top = u.cursor.top ?? -1;
          if (idx === null || idx === undefined || top < 0) {
            tooltip.hidden = true;
            return;
          }
          const b = Math.floor(u.posToVal(top, "y"));
          const bound = h.bounds[b];
          if (bound === undefined) {
            tooltip.hidden = true;
            return;
          }
          const lo = formatValue(h.lowers[b]!, p.unit, p.decimals);
          const hi = bound === Infinity ? "+Inf" : formatValue(bound, p.unit, p.decimals);
          tooltipRows(
            tooltip,
            [[
              heatColor(1),
              `${lo} \u2013 ${hi}`,
              formatValue(h.counts[b]![idx]!, "", 2),
            ]],
            new Date(h.xs[idx]! * 1000).toLocaleString(),
            h.xs[idx]!,
          );
          placeTooltip(u, tooltip);
        }],
      },
    };
    return { opts, data: [h.xs, h.xs.map(() => null)] as unknown as uPlot.AlignedData };
  }

  const d = p.data!;
  const bars = p.kind === "bar" ? U.paths.bars!({ size: [0.8, 64] }) : undefined;
  const opts: uPlot.Options = {
    width,
    height,
    legend: { show: false },
    cursor,
    scales: {
      x: { time: true, ...xRange },
      y: {
        range: (_u, lo, hi) => {
          const min = p.min ?? (p.kind === "bar" ? Math.min(0, lo) : lo);
          const max = p.max ?? hi;
          if (min === max) return [min - 1, max + 1];
          return [min, max];
        },
      },
    },
    axes: [axisX, axisY],
    series: [
      {},
      ...d.series.map((s, i): uPlot.Series => ({
        label: s.name,
        stroke: s.color ? cssColor(s.color) : PALETTE[i % PALETTE.length],
        width: 1.5,
        points: { show: false },
        spanGaps: false,
        ...(bars
          ? {
            paths: bars,
            fill: (s.color ? cssColor(s.color) : PALETTE[i % PALETTE.length]) + "aa",
          }
          : {}),
        value: (_u, v) => f(v),
      })),
    ],
    hooks: {
      setSelect: [zoomHook],
      setCursor: [(u) => {
        const idx = u.cursor.idx;
        if (idx === null || idx === undefined) {
          tooltip.hidden = true;
          return;
        }
        const rows: [string, string, string][] = [];
        d.series.forEach((s, i) => {
          const v = d.data[i + 1]![idx];
          if (v !== null && v !== undefined) {
            rows.push([s.color ? cssColor(s.color) : PALETTE[i % PALETTE.length]!, s.name, f(v)]);
          }
        });
        if (rows.length === 0) {
          tooltip.hidden = true;
          return;
        }
        rows.sort((a, b) => Number(b[2] < a[2]) - Number(a[2] < b[2]));
        const t = d.data[0][idx]!;
        tooltipRows(tooltip, rows.slice(0, 12), new Date(t * 1000).toLocaleString(), t);
        placeTooltip(u, tooltip);
      }],
    },
  };
  return { opts, data: d.data as unknown as uPlot.AlignedData };
}

function placeTooltip(u: uPlot, tooltip: HTMLElement): void {
  const left = u.cursor.left ?? 0;
  const top = u.cursor.top ?? 0;
  tooltip.hidden = false;
  const box = u.over.getBoundingClientRect();
  const w = tooltip.offsetWidth;
  const x = left + 12 + w > box.width ? left - w - 12 : left + 12;
  tooltip.style.transform = `translate(${Math.max(0, x) + u.over.offsetLeft}px, ${
    top + u.over.offsetTop + 8
  }px)`;
}

/** The chart component. */
export default function Chart(p: ChartProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const tip = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = useRef("");
  const zoom = useRef(p.onZoom);
  zoom.current = p.onZoom;
  const xr = useRef(p.range);
  xr.current = p.range;

  useEffect(() => {
    let live = true;
    void loadUplot().then((U) => live && draw(U));
    return () => {
      live = false;
    };
  });

  /** Draws the chart anew when its shape changed, else gives it the new data. */
  function draw(U: UPlot): void {
    const el = wrap.current!;
    const make = () => {
      plot.current?.destroy();
      const { opts, data } = buildOptions(
        U,
        p,
        el.clientWidth || 300,
        el.clientHeight || 150,
        tip.current!,
        zoom,
        xr,
      );
      plot.current = new U(opts, data, el);
    };
    const key = JSON.stringify([
      p.kind,
      p.unit,
      p.decimals,
      p.min,
      p.max,
      !!p.range,
      p.kind === "heatmap"
        ? [p.heatmap?.bounds.length, p.heatmap?.xs.length]
        : p.data?.series.map((s) => s.name),
    ]);
    if (!plot.current || key !== shape.current || p.kind === "heatmap") {
      make();
      shape.current = key;
    } else {
      plot.current.setData(p.data!.data as unknown as uPlot.AlignedData);
    }
  }

  useEffect(() => {
    const el = wrap.current!;
    const ro = new ResizeObserver(() => {
      const u = plot.current;
      if (u && el.clientWidth > 0 && el.clientHeight > 0) {
        u.setSize({ width: el.clientWidth, height: el.clientHeight });
      }
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  const legend = p.legend ?? { show: true, calcs: ["last"] };
  const f = fmt(p.unit, p.decimals);
  const d = p.data;
  return (
    <div class="chart">
      <div
        class="chart-canvas"
        ref={wrap}
        onMouseLeave={() => tip.current && (tip.current.hidden = true)}
      >
        <div class="chart-tooltip" ref={tip} hidden role="tooltip" />
      </div>
      {p.kind !== "heatmap" && legend.show && d && d.series.length > 0 && (
        <div class="legend-wrap">
          <table class="legend">
            <thead>
              <tr>
                <th scope="col">Series</th>
                {legend.calcs.map((c) => <th key={c} scope="col" class="num">{c}</th>)}
              </tr>
            </thead>
            <tbody>
              {d.series.map((s, i) => {
                const c = calcs(d.data[i + 1]!) as unknown as Record<string, number>;
                return (
                  <tr key={s.name + i}>
                    <td>
                      <span
                        class="swatch"
                        style={{
                          background: s.color ? cssColor(s.color) : PALETTE[i % PALETTE.length],
                        }}
                      />
                      <span class="series-name">{s.name}</span>
                    </td>
                    {legend.calcs.map((k) => <td key={k} class="num" data-calc={k}>{f(c[k])}</td>)}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
