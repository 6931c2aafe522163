/**
 * The dashboard view: toolbar (time range, refresh, variables, live state),
 * panels on the 24-column grid, and the editor (panels move and resize by
 * dragging the title bar or the corner, or with the buttons). View state lives in the URL.
 * Data comes from `/api/v1/query_range` first, then live over `/ws` when a
 * refresh interval is set and the range ends at `now` (polling when the
 * socket is down).
 *
 * @module
 */
import { Component, type ComponentProps } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  ALL_VALUE,
  type Dashboard,
  displayLayout,
  type DisplayPanel,
  type DragMode,
  dragTarget,
  GRID_COLUMNS,
  type GridPos,
  interpolate,
  interpolateText,
  type Panel,
  parseLabelValuesQuery,
  parseRefresh,
  parseTimeExpr,
  placePanel,
  stepFor,
  type Variable,
} from "../core/dashboards/mod_browser.ts";
import { formatDuration } from "../core/model/mod_light.ts";
import {
  ApiError,
  labelValues,
  type MatrixSeries,
  type QueryData,
  queryInstant,
  queryRange,
} from "./api.ts";
import { trackGridDrag } from "./grid_drag.ts";
import { applyDelta, LiveConnection, type LiveMessage, liveUrl } from "./live.ts";
import { PanelBody, type PanelState } from "./panels.tsx";
import { DashboardEditorBar, PanelEditor, PanelEditTools } from "./PanelEditor.tsx";
import { TimePicker } from "./TimePicker.tsx";
import { type ViewState, writeViewState } from "./url_state.ts";

/** Grid row height in CSS pixels. */
export const ROW_PX = 36;

/** Props of the dashboard island (the server fills them from the URL). */
export interface DashboardProps {
  readonly dashboard: Dashboard;
  readonly view: ViewState;
  /** The server's clock at render time, so the first render matches. */
  readonly now: number;
}

function resolvedRange(from: string, to: string, now: number): { start: number; end: number } {
  const start = parseTimeExpr(from, now) ?? now - 3600_000;
  const end = parseTimeExpr(to, now) ?? now;
  return end > start ? { start, end } : { start: end - 3600_000, end };
}

/** The step of a panel: depends only on range and panel width, so clients share queries. */
export function panelStep(rangeMs: number, w: number): number {
  return stepFor(rangeMs, Math.max(200, (1200 * w) / 24), 3, 1000);
}

function builtins(range: { start: number; end: number }, step: number) {
  const scrape = 15_000;
  const rangeMs = range.end - range.start;
  const rate = Math.max(4 * scrape, step + scrape);
  return {
    interval: formatDuration(step),
    rateInterval: formatDuration(rate),
    range: formatDuration(Math.max(1000, Math.round(rangeMs / 1000) * 1000)),
    intervalMs: step,
    rateIntervalMs: rate,
    rangeMs,
    from: range.start,
    to: range.end,
  };
}

/** An instant result as a one-point matrix, so every panel reads one shape. */
function asMatrix(r: QueryData, t: number): MatrixSeries[] {
  if (r.resultType === "matrix") return r.result;
  if (r.resultType === "vector") {
    return r.result.map((s) =>
      s.histogram
        ? { metric: s.metric, values: [], histograms: [s.histogram] }
        : { metric: s.metric, values: s.value ? [s.value] : [] }
    );
  }
  if (r.resultType === "scalar") return [{ metric: {}, values: [r.result] }];
  return t ? [] : [];
}

function VariablePicker(
  { v, options, value, onChange }: {
    v: Variable;
    options: string[];
    value: string[];
    onChange: (x: string[]) => void;
  },
) {
  const label = v.label ?? v.name;
  const all = v.includeAll ? [ALL_VALUE, ...options] : options;
  const name = (o: string) => (o === ALL_VALUE ? "All" : o);
  if (!v.multi) {
    return (
      <label class="var">
        <span>{label}</span>
        <select
          data-testid={`var-${v.name}`}
          value={value[0] ?? ""}
          onChange={(e) => onChange([(e.target as HTMLSelectElement).value])}
        >
          {all.map((o) => <option key={o} value={o} selected={o === value[0]}>{name(o)}</option>)}
          {value[0] !== undefined && !all.includes(value[0]) && (
            <option value={value[0]}>{name(value[0])}</option>
          )}
        </select>
      </label>
    );
  }
  return (
    <details class="var multi" data-testid={`var-${v.name}`}>
      <summary>
        {label}: {value.length === 0 ? "none" : value.map(name).join(", ")}
      </summary>
      <div class="var-options">
        {all.map((o) => (
          <label>
            <input
              type="checkbox"
              checked={value.includes(o)}
              onChange={(e) => {
                const on = (e.target as HTMLInputElement).checked;
                if (o === ALL_VALUE) onChange(on ? [ALL_VALUE] : []);
                else {onChange(
                    on
                      ? [...value.filter((x) => x !== ALL_VALUE), o]
                      : value.filter((x) => x !== o),
                  );}
              }}
            />
            {name(o)}
          </label>
        ))}
      </div>
    </details>
  );
}

/** A panel body that renders again only when its panel, data or range changed. */
class MemoPanelBody extends Component<ComponentProps<typeof PanelBody>> {
  override shouldComponentUpdate(n: ComponentProps<typeof PanelBody>): boolean {
    const o = this.props;
    return n.panel !== o.panel || n.state !== o.state || n.range.start !== o.range.start ||
      n.range.end !== o.range.end || n.syncKey !== o.syncKey;
  }
  override render() {
    return <PanelBody {...this.props} />;
  }
}

/** The dashboard island. */
export default function DashboardView(props: DashboardProps) {
  const [dash, setDash] = useState<Dashboard>(props.dashboard);
  const [saved, setSaved] = useState<Dashboard>(props.dashboard);
  const [tr, setTr] = useState({ from: props.view.from, to: props.view.to });
  const [refresh, setRefresh] = useState(props.view.refresh);
  const [vars, setVars] = useState<Record<string, string[]>>(props.view.vars);
  const [varOptions, setVarOptions] = useState<Record<string, string[]>>({});
  const [states, setStates] = useState<Record<string, PanelState>>({});
  const [edit, setEdit] = useState(props.view.edit);
  const [editing, setEditing] = useState<number | null>(null);
  const [nowMs, setNowMs] = useState(props.now);
  const [fieldErrors, setFieldErrors] = useState<{ field: string; message: string }[]>([]);
  const live = useRef<LiveConnection | null>(null);
  const gridRef = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<{ id: number; pos: GridPos } | null>(null);
  const [liveState, setLiveState] = useState<string>("off");
  /** End of the newest live window (ms), 0 when not live. */
  const [liveEnd, setLiveEnd] = useState(0);

  /** The range queried over HTTP; live updates slide {@linkcode shown} instead. */
  const range = useMemo(() => resolvedRange(tr.from, tr.to, nowMs), [tr.from, tr.to, nowMs]);
  const refreshMs = parseRefresh(refresh) ?? 0;
  const isLive = refreshMs > 0 && tr.to === "now";
  const shown = useMemo(
    () =>
      isLive && liveEnd > range.end
        ? { start: liveEnd - (range.end - range.start), end: liveEnd }
        : range,
    [range, isLive, liveEnd],
  );

  // Keep the URL in step with the view.
  useEffect(() => {
    const qs = writeViewState({ from: tr.from, to: tr.to, refresh, vars, edit });
    if (location.search.slice(1) !== qs) {
      history.replaceState(null, "", `${location.pathname}?${qs}`);
    }
  }, [tr.from, tr.to, refresh, vars, edit]);

  // Variable options from label values, in order (a variable may use earlier ones), and a
  // value for each as Grafana picks it: the saved one while it is an option, else the first
  // option (All when the variable has All).
  useEffect(() => {
    const ctl = new AbortController();
    (async () => {
      const out: Record<string, string[]> = {};
      const sel: Record<string, string[]> = { ...vars };
      let changed = false;
      for (const v of dash.variables) {
        if (v.type === "custom") out[v.name] = v.options;
        else {
          const q = parseLabelValuesQuery(v.query);
          if (!q) continue;
          try {
            const match = q.selector
              ? interpolate(q.selector, sel, undefined, out, regexVars, allValues)
              : undefined;
            out[v.name] = await labelValues(q.label, match, ctl.signal);
          } catch (e) {
            if ((e as Error).name === "AbortError") return;
            out[v.name] = [];
          }
        }
        const cur = sel[v.name] ?? [];
        const opts = out[v.name] ?? [];
        const kept = cur.filter((x) => x === ALL_VALUE ? v.includeAll : opts.includes(x));
        if (kept.length === 0) {
          const first = v.includeAll ? ALL_VALUE : opts[0];
          if (first !== undefined && cur.join("\n") !== first) {
            sel[v.name] = [first];
            changed = true;
          }
        } else if (kept.length !== cur.length) {
          sel[v.name] = kept;
          changed = true;
        }
      }
      setVarOptions(out);
      if (changed) setVars(sel);
    })();
    return () => ctl.abort();
  }, [dash.variables, JSON.stringify(vars)]);

  const regexVars = useMemo(
    () => new Set(dash.variables.filter((v) => v.multi || v.includeAll).map((v) => v.name)),
    [dash.variables],
  );
  const allValues = useMemo(
    () =>
      Object.fromEntries(
        dash.variables.filter((v) => v.allValue !== undefined).map((v) => [v.name, v.allValue!]),
      ),
    [dash.variables],
  );

  // What is drawn where: rows (folded or open), repeats, packed as Grafana does. While editing,
  // panels stay where they are saved so that dragging moves what you see.
  const [folded, setFolded] = useState<Record<string, boolean>>({});
  const layoutPanels = useMemo(
    () => (drag ? placePanel(dash.panels, drag.id, drag.pos) : dash.panels),
    [dash.panels, drag],
  );
  const display: DisplayPanel[] = useMemo(() => {
    if (edit) {
      return layoutPanels.map((p) => ({
        key: String(p.id),
        panel: p,
        gridPos: p.gridPos,
        scoped: {},
        ...(p.type === "row" ? { collapsed: p.collapsed === true } : {}),
      }));
    }
    return displayLayout(dash.panels, {
      folded: (k) => folded[k],
      repeatValues: (name) => {
        const v = vars[name] ?? [];
        return v.includes(ALL_VALUE) ? varOptions[name] ?? [] : v;
      },
    });
  }, [layoutPanels, dash.panels, edit, folded, vars, varOptions]);

  const queries = useMemo(() => {
    return display.filter((d) => d.panel.type !== "row" && d.panel.type !== "text").map((d) => {
      const step = panelStep(range.end - range.start, d.gridPos.w);
      const values = { ...vars, ...d.scoped };
      return {
        key: d.key,
        panel: d.panel,
        step,
        instant: d.panel.targets.map((t) => t.instant === true),
        // A hidden target keeps its slot (results stay aligned with targets) but runs nothing.
        exprs: d.panel.targets.map((t) =>
          t.hide
            ? ""
            : interpolate(t.expr, values, builtins(range, step), varOptions, regexVars, allValues)
        ),
      };
    });
  }, [display, range.start, range.end, vars, varOptions, regexVars, allValues]);

  // While editing, queries run when typing pauses (and only the changed panel's key moves).
  const [settled, setSettled] = useState(queries);
  useEffect(() => {
    if (!edit) {
      setSettled(queries);
      return;
    }
    const t = setTimeout(() => setSettled(queries), 500);
    return () => clearTimeout(t);
  }, [queries, edit]);

  const setPanel = (id: string, f: (s: PanelState) => PanelState) =>
    setStates((cur) => ({ ...cur, [id]: f(cur[id] ?? { status: "idle" }) }));
  // Live messages of one tick arrive together: apply them in one render, not one each.
  const pending = useRef(new Map<string, ((s: PanelState) => PanelState)[]>());
  const flushTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const setPanelSoon = (id: string, f: (s: PanelState) => PanelState) => {
    const l = pending.current.get(id);
    if (l) l.push(f);
    else pending.current.set(id, [f]);
    if (flushTimer.current !== null) return;
    flushTimer.current = setTimeout(() => {
      flushTimer.current = null;
      const batch = pending.current;
      pending.current = new Map();
      setStates((cur) => {
        const next = { ...cur };
        for (const [pid, fs] of batch) {
          let st = next[pid] ?? { status: "idle" as const };
          for (const g of fs) st = g(st);
          next[pid] = st;
        }
        return next;
      });
    }, 40);
  };

  // Which panels are on (or near) the screen: only those load and stay live.
  const [visible, setVisible] = useState<ReadonlySet<string>>(() => new Set());
  useEffect(() => {
    const grid = gridRef.current;
    if (!grid || typeof IntersectionObserver === "undefined") {
      setVisible(new Set(display.map((d) => d.key)));
      return;
    }
    const obs = new IntersectionObserver((entries) => {
      setVisible((cur) => {
        const next = new Set(cur);
        for (const e of entries) {
          const id = (e.target as HTMLElement).dataset.panelId ?? "";
          if (e.isIntersecting) next.add(id);
          else next.delete(id);
        }
        return next.size === cur.size && [...next].every((x) => cur.has(x)) ? cur : next;
      });
    }, { rootMargin: "50% 0px" });
    for (const el of grid.querySelectorAll<HTMLElement>("[data-panel-id]")) obs.observe(el);
    return () => obs.disconnect();
  }, [display.map((d) => d.key).join(",")]);

  // Load over HTTP: first paint, range or query changes, a panel scrolling into view, and
  // polling while the socket is down. Live ticks never come here: they arrive over /ws.
  const inflight = useRef(new Map<string, { key: string; ctl: AbortController }>());
  const loadPanel = (q: (typeof queries)[number], signal: AbortSignal) => {
    if (q.exprs.length === 0) {
      setPanel(q.key, () => ({ status: "ok", results: [], updatedAt: Date.now() }));
      return;
    }
    setPanel(q.key, (s) => ({ ...s, status: s.results ? s.status : "loading" }));
    Promise.all(
      q.exprs.map((e, i) =>
        !e.trim()
          ? Promise.resolve({ resultType: "matrix" as const, result: [] })
          : q.instant[i]
          ? queryInstant(e, range.end, signal)
          : queryRange(e, range.start, range.end, q.step, signal)
      ),
    )
      .then((rs) => {
        const results = rs.map((r) => asMatrix(r, range.end));
        setPanel(q.key, () => ({ status: "ok", results, updatedAt: Date.now() }));
      })
      .catch((e) => {
        if ((e as Error).name === "AbortError") return;
        setPanel(q.key, (s) => ({ ...s, status: "error", error: (e as ApiError).message }));
      });
  };

  useEffect(() => {
    for (const q of settled) {
      if (!visible.has(q.key)) continue;
      const key = `${range.start}|${range.end}|${q.step}|${q.exprs.join("\n")}`;
      const cur = inflight.current.get(q.key);
      if (cur?.key === key) continue;
      cur?.ctl.abort();
      const ctl = new AbortController();
      inflight.current.set(q.key, { key, ctl });
      loadPanel(q, ctl.signal);
    }
  }, [settled, visible]);
  useEffect(() => () => {
    for (const v of inflight.current.values()) v.ctl.abort();
  }, []);

  // Refresh: the clock moves on; with a relative range, live updates or polling.
  useEffect(() => {
    if (!(refreshMs > 0)) return;
    const id = setInterval(() => {
      if (!isLive) return;
      if (live.current?.state.value !== "open") setNowMs(Date.now());
    }, refreshMs);
    return () => clearInterval(id);
  }, [refreshMs, isLive]);

  // Live subscriptions.
  useEffect(() => {
    if (!isLive || typeof WebSocket === "undefined") {
      // An absolute range (or refresh off) is not live: end every subscription.
      for (const id of live.current?.ids() ?? []) live.current!.unsubscribe(id);
      setLiveState("off");
      setLiveEnd(0);
      return;
    }
    if (!live.current) {
      live.current = new LiveConnection(liveUrl());
    }
    const conn = live.current;
    const unsub = conn.state.subscribe((s) => setLiveState(s));
    const span = range.end - range.start;
    const ids: string[] = [];
    for (const q of settled) {
      if (!visible.has(q.key)) continue; // off-screen panels are paused
      q.exprs.forEach((expr, ti) => {
        if (!expr.trim()) return;
        const panelId = `${q.key}:${ti}`;
        ids.push(panelId);
        conn.subscribe(
          { panelId, query: expr, range: span, step: q.step, every: refreshMs },
          (m: LiveMessage) => {
            if (m.type === "error") {
              setPanelSoon(q.key, (s) => ({ ...s, status: "error", error: m.error }));
              return;
            }
            setPanelSoon(q.key, (s) => {
              const results: MatrixSeries[][] = [...(s.results ?? q.exprs.map(() => []))];
              results[ti] = m.type === "result" ? m.series : applyDelta(results[ti] ?? [], m);
              return { status: "ok", results, updatedAt: Date.now() };
            });
            // Keep the x axis sliding with the data (without reloading over HTTP).
            setLiveEnd((cur) => Math.max(cur, m.end * 1000));
          },
        );
      });
    }
    for (const id of conn.ids()) if (!ids.includes(id)) conn.unsubscribe(id);
    return () => {
      unsub();
    };
  }, [
    isLive,
    settled.map((q) => `${q.key}|${q.step}|${q.exprs.join("\n")}`).join(";"),
    [...visible].sort().join(","),
    tr.from,
    refreshMs,
  ]);

  useEffect(() => () => {
    live.current?.close();
    if (flushTimer.current !== null) clearTimeout(flushTimer.current);
  }, []);

  const onZoom = (start: number, end: number) => setTr({ from: String(start), to: String(end) });
  const editingPanel = dash.panels.find((p) => p.id === editing);
  const panelIndex = (id: number) => dash.panels.findIndex((p) => p.id === id);
  const bottom = display.reduce((m, d) => Math.max(m, d.gridPos.y + d.gridPos.h), 0);
  const beginDrag = (e: PointerEvent, p: Panel, mode: DragMode) => {
    const grid = gridRef.current;
    if (!edit || !grid || e.button !== 0) return;
    if (mode === "move" && (e.target as Element).closest("button, input, select, textarea, a")) {
      return;
    }
    // On a phone the grid is one stacked column: positions cannot be dragged there.
    if (getComputedStyle(grid).gridTemplateColumns.split(" ").length < GRID_COLUMNS) return;
    e.preventDefault();
    const start = p.gridPos;
    let pos = start;
    setDrag({ id: p.id, pos });
    trackGridDrag(e, grid, GRID_COLUMNS, ROW_PX, (dx, dy) => {
      pos = dragTarget(start, mode, dx, dy);
      setDrag({ id: p.id, pos });
    }, (commit) => {
      setDrag(null);
      if (commit) setDash((d) => ({ ...d, panels: placePanel(d.panels, p.id, pos) }));
    });
  };

  /** The move/resize/edit/delete buttons of a panel or row while editing. */
  const editTools = (p: Panel) => (
    <PanelEditTools
      panel={p}
      onEdit={() => setEditing(p.id)}
      onChange={(np) => setDash({ ...dash, panels: placePanel(dash.panels, np.id, np.gridPos) })}
      onDelete={() => {
        setDash({ ...dash, panels: dash.panels.filter((x) => x.id !== p.id) });
        if (editing === p.id) setEditing(null);
      }}
    />
  );

  return (
    <div class="dashboard" data-dashboard={dash.id}>
      <div class="toolbar" role="toolbar" aria-label="Dashboard controls">
        <h1 class="dash-title">{dash.title}</h1>
        <div class="vars">
          {dash.variables.filter((v) => !v.hidden).map((v) => (
            <VariablePicker
              v={v}
              options={varOptions[v.name] ?? []}
              value={vars[v.name] ?? []}
              onChange={(x) => setVars({ ...vars, [v.name]: x })}
            />
          ))}
        </div>
        <TimePicker
          range={tr}
          onChange={(r) => {
            setTr(r);
            setNowMs(Date.now());
          }}
          refresh={refresh}
          onRefresh={setRefresh}
        />
        <span class={`live-state live-${liveState}`} data-testid="live-state" title="Live updates">
          {liveState === "off"
            ? ""
            : liveState === "open"
            ? "\u25cf live"
            : liveState === "reconnecting"
            ? "\u25cb reconnecting\u2026"
            : `\u25cb ${liveState}`}
        </span>
        {!edit && (
          <button type="button" onClick={() => setEdit(true)} data-testid="edit-button">
            Edit
          </button>
        )}
      </div>
      {edit && (
        <DashboardEditorBar
          dash={dash}
          saved={saved}
          errors={fieldErrors}
          varOptions={varOptions}
          onChange={setDash}
          onSaved={(d) => {
            setDash(d);
            setSaved(d);
            setFieldErrors([]);
            setEdit(false);
            setEditing(null);
          }}
          onErrors={setFieldErrors}
          onCancel={() => {
            setDash(saved);
            setFieldErrors([]);
            setEdit(false);
            setEditing(null);
          }}
          onAddPanel={() => {
            const id = Math.max(0, ...dash.panels.map((p) => p.id)) + 1;
            const p: Panel = {
              id,
              type: "line",
              title: `Panel ${id}`,
              gridPos: { x: 0, y: bottom, w: 12, h: 8 },
              targets: [{ expr: "", legendFormat: "", refId: "A" }],
              options: { unit: "", thresholds: [], legend: { show: true, calcs: ["last"] } },
            };
            setDash({ ...dash, panels: [...dash.panels, p] });
            setEditing(id);
          }}
        />
      )}
      {edit && editingPanel && (
        <PanelEditor
          key={editingPanel.id}
          panel={editingPanel}
          index={panelIndex(editingPanel.id)}
          errors={fieldErrors}
          dashboardId={dash.id}
          resolvedQuery={queries.find((q) => q.key === String(editingPanel.id))?.exprs.find((e) =>
            e.trim()
          ) ?? ""}
          onChange={(p) =>
            setDash({ ...dash, panels: dash.panels.map((x) => (x.id === p.id ? p : x)) })}
          onClose={() => setEditing(null)}
        />
      )}
      <div
        class={`grid24${edit ? " editing" : ""}`}
        ref={gridRef}
        style={{ gridTemplateRows: `repeat(${Math.max(1, bottom)}, ${ROW_PX}px)` }}
      >
        {display.map((d) => {
          const p = d.panel;
          const g = d.gridPos;
          const values = { ...vars, ...d.scoped };
          const title = interpolateText(p.title, values);
          const place = {
            gridColumn: `${g.x + 1} / span ${g.w}`,
            gridRow: `${g.y + 1} / span ${g.h}`,
          };
          if (p.type === "row") {
            return (
              <div
                class={`panel-row${d.collapsed ? " folded" : ""}`}
                key={d.key}
                data-row-id={d.key}
                data-grid={edit ? `${g.x},${g.y},${g.w},${g.h}` : undefined}
                style={place}
              >
                <button
                  type="button"
                  class="row-toggle"
                  aria-expanded={d.collapsed ? "false" : "true"}
                  disabled={edit}
                  onClick={() => setFolded((f) => ({ ...f, [d.key]: !d.collapsed }))}
                >
                  <span aria-hidden="true">{d.collapsed ? "\u25b8" : "\u25be"}</span> {title}
                  {d.collapsed && ((p as Panel).panels?.length ?? 0) > 0 && (
                    <span class="muted">({(p as Panel).panels!.length} panels)</span>
                  )}
                </button>
                {edit && editTools(p as Panel)}
              </div>
            );
          }
          const s = states[d.key] ??
            { status: p.type === "text" ? "ok" as const : "idle" as const };
          return (
            <section
              class={`panel panel-${p.type}${s.status === "error" ? " has-error" : ""}${
                drag?.id === p.id ? " dragging" : ""
              }`}
              key={d.key}
              data-panel-id={d.key}
              data-grid={edit ? `${g.x},${g.y},${g.w},${g.h}` : undefined}
              data-status={s.status}
              data-updated={s.updatedAt ?? ""}
              aria-labelledby={`panel-title-${d.key}`}
              style={{ ...place, "--h": `${g.h * ROW_PX}px` }}
            >
              <header
                class="panel-head"
                title={edit ? "Drag to move" : undefined}
                onPointerDown={edit ? (e) => beginDrag(e, p as Panel, "move") : undefined}
              >
                <h2 id={`panel-title-${d.key}`} title={p.description ?? ""}>{title}</h2>
                {s.status === "loading" && (
                  <span class="muted" aria-live="polite">loading&hellip;</span>
                )}
                {edit && editTools(p as Panel)}
              </header>
              <div class="panel-body">
                {s.status === "error" && <p class="error panel-error" role="alert">{s.error}</p>}
                {s.status !== "error" && (
                  <MemoPanelBody
                    panel={p}
                    state={s}
                    range={shown}
                    syncKey={`dash-${dash.id}`}
                    onZoom={onZoom}
                  />
                )}
              </div>
              {edit && (
                <div
                  class="resize-handle"
                  title="Drag to resize"
                  aria-hidden="true"
                  data-testid="resize-handle"
                  onPointerDown={(e) => beginDrag(e, p as Panel, "resize")}
                />
              )}
            </section>
          );
        })}
      </div>
      {dash.panels.length === 0 && (
        <p class="muted">This dashboard has no panels yet. Use Edit &rarr; Add panel.</p>
      )}
    </div>
  );
}
