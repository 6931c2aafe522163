/**
 * Explore: an ad-hoc query shown as a graph and a table, with its stats
 * (series, samples, time). Float series are drawn as lines; native
 * histograms as a heatmap of their buckets, and the table gives a
 * histogram's count, sum and buckets. The query and range live in the URL.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { formatValue, parseTimeExpr, resolveUnit } from "../core/dashboards/mod_browser.ts";
import { type ApiHistogram, type MatrixSeries, queryRange } from "./api.ts";
import Chart from "./Chart.tsx";
import { legendName, sampleValue, toChartData, toHeatmap } from "./series.ts";
import { panelStep } from "./Dashboard.tsx";
import { QueryInput } from "./PanelEditor.tsx";
import { TimePicker } from "./TimePicker.tsx";

/** Props: the initial query and range from the URL. */
export interface ExploreProps {
  readonly query: string;
  readonly from: string;
  readonly to: string;
}

interface Outcome {
  series: MatrixSeries[];
  samples?: number;
  ms: number;
  error?: string;
}

/** The explore island. */
export default function Explore(props: ExploreProps) {
  const [text, setText] = useState(props.query);
  const [query, setQuery] = useState(props.query);
  const [tr, setTr] = useState({ from: props.from, to: props.to });
  const [out, setOut] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const p = new URLSearchParams({ q: query, from: tr.from, to: tr.to });
    history.replaceState(null, "", `${location.pathname}?${p}`);
    if (!query.trim()) return;
    const ctl = new AbortController();
    const now = Date.now();
    const start = parseTimeExpr(tr.from, now) ?? now - 3600_000;
    const end = parseTimeExpr(tr.to, now) ?? now;
    const t0 = performance.now();
    setBusy(true);
    queryRange(query, start, end, panelStep(end - start, 24), ctl.signal, true)
      .then((r) => {
        const series = r.resultType === "matrix" ? r.result : [];
        setOut({
          series,
          samples: r.stats?.samples?.totalQueryableSamples,
          ms: performance.now() - t0,
        });
      })
      .catch((e) => {
        if ((e as Error).name !== "AbortError") {
          setOut({ series: [], ms: performance.now() - t0, error: (e as Error).message });
        }
      })
      .finally(() => setBusy(false));
    return () => ctl.abort();
  }, [query, tr.from, tr.to]);

  const unit = resolveUnit("", query);
  const now = Date.now();
  const range = {
    start: parseTimeExpr(tr.from, now) ?? now - 3600_000,
    end: parseTimeExpr(tr.to, now) ?? now,
  };
  // Float series as lines; series holding only native histograms are in the heatmap.
  const floats = out?.series.filter((s) => s.values.length > 0 || !s.histograms?.length);
  const data = floats ? toChartData([{ series: floats, legendFormat: "" }]) : undefined;
  const heat = out?.series.some((s) => s.histograms?.length) ? toHeatmap(out.series) : undefined;
  const zoom = (a: number, b: number) => setTr({ from: String(a), to: String(b) });
  return (
    <div class="explore">
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(text);
        }}
      >
        <label for="explore-q">PromQL query</label>
        <QueryInput id="explore-q" value={text} onChange={setText} />
        <div class="row">
          <button type="submit" class="primary" data-testid="run-query">Run query</button>
          <TimePicker range={tr} onChange={setTr} />
          {busy && <span class="muted">running&hellip;</span>}
        </div>
      </form>
      {out?.error && <p class="error card" role="alert">{out.error}</p>}
      {out && !out.error && (
        <>
          <p class="muted" data-testid="query-stats">
            {out.series.length} series · {out.samples ?? "?"} samples · {out.ms.toFixed(0)} ms
          </p>
          {heat && (
            <section
              class="card explore-chart"
              style={{ height: "360px" }}
              data-testid="explore-heatmap"
            >
              <Chart kind="heatmap" heatmap={heat} unit={unit} range={range} onZoom={zoom} />
            </section>
          )}
          {(!heat || (data && data.series.length > 0)) && (
            <section class="card explore-chart" style={{ height: "360px" }}>
              {data && data.series.length > 0
                ? (
                  <Chart
                    kind="line"
                    data={data}
                    unit={unit}
                    range={range}
                    onZoom={zoom}
                    legend={{ show: false, calcs: [] }}
                  />
                )
                : <p class="muted">No data</p>}
            </section>
          )}
          <section class="card">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Series</th>
                  <th scope="col" class="num">Last value</th>
                  <th scope="col" class="num">Points</th>
                </tr>
              </thead>
              <tbody>
                {out.series.map((s) => {
                  const last = s.values[s.values.length - 1];
                  const lastH = s.histograms?.[s.histograms.length - 1];
                  const hist = lastH && (!last || lastH[0] >= last[0]) ? lastH[1] : undefined;
                  return (
                    <tr>
                      <td>
                        <code>{legendName(s.metric, "")}</code>
                        {hist && <HistogramBuckets h={hist} unit={unit} />}
                      </td>
                      <td class="num" data-testid={hist ? "histogram-last" : undefined}>
                        {hist
                          ? `count ${formatValue(sampleValue(hist.count), "")} · sum ${
                            formatValue(sampleValue(hist.sum), unit)
                          }`
                          : last
                          ? formatValue(sampleValue(last[1]), unit)
                          : "\u2013"}
                      </td>
                      <td class="num">{s.values.length + (s.histograms?.length ?? 0)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </section>
        </>
      )}
    </div>
  );
}

/** Interval notation of a bucket by its boundaries kind (0 upper inclusive ... 3 both). */
function interval(kind: number, lo: string, hi: string, unit: string): string {
  const f = (x: string) => formatValue(sampleValue(x), unit);
  return `${kind === 1 || kind === 3 ? "[" : "("}${f(lo)}, ${f(hi)}${
    kind === 0 || kind === 3 ? "]" : ")"
  }`;
}

/** The populated buckets of a native histogram, folded. */
function HistogramBuckets({ h, unit }: { h: ApiHistogram; unit: string }) {
  const buckets = h.buckets ?? [];
  return (
    <details class="hist-buckets">
      <summary class="muted">{buckets.length} buckets</summary>
      <table class="table" data-testid="histogram-buckets">
        <tbody>
          {buckets.map(([kind, lo, hi, c]) => (
            <tr>
              <td>{interval(kind, lo, hi, unit)}</td>
              <td class="num">{formatValue(sampleValue(c), "")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
