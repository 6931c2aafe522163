/**
 * The dashboard editor: the edit bar (add panel, save with field errors,
 * JSON import/export), per-panel tools (move, resize, delete -- buttons, so
 * the keyboard can do everything) and the panel editor with a query editor
 * that completes metric and label names and shows parse errors inline.
 *
 * @module
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import {
  type Dashboard,
  GRID_COLUMNS,
  interpolateForParse,
  LEGEND_CALCS,
  type Panel,
  PANEL_TYPES,
  type Target,
} from "../core/dashboards/mod_browser.ts";
import { adminFetch, apiGet, FieldErrors, sendJson } from "./api.ts";
import { AlertRuleForm } from "./AlertRuleForm.tsx";
import { DashboardSettings } from "./DashboardSettings.tsx";

type Errors = { field: string; message: string }[];

/** Tools shown on each panel while editing. */
export function PanelEditTools(
  { panel, onEdit, onChange, onDelete }: {
    panel: Panel;
    onEdit: () => void;
    onChange: (p: Panel) => void;
    onDelete: () => void;
  },
) {
  const g = panel.gridPos;
  const move = (dx: number, dy: number, dw: number, dh: number) => {
    const w = Math.min(GRID_COLUMNS, Math.max(1, g.w + dw));
    const x = Math.min(GRID_COLUMNS - w, Math.max(0, g.x + dx));
    onChange({ ...panel, gridPos: { x, y: Math.max(0, g.y + dy), w, h: Math.max(1, g.h + dh) } });
  };
  const b = (label: string, text: string, f: () => void) => (
    <button
      type="button"
      class="icon"
      aria-label={`${label} panel ${panel.title}`}
      title={label}
      onClick={f}
    >
      {text}
    </button>
  );
  return (
    <div class="panel-tools">
      {b("Edit", "\u270e", onEdit)}
      {b("Move left", "\u2190", () => move(-1, 0, 0, 0))}
      {b("Move right", "\u2192", () => move(1, 0, 0, 0))}
      {b("Move up", "\u2191", () => move(0, -1, 0, 0))}
      {b("Move down", "\u2193", () => move(0, 1, 0, 0))}
      {b("Narrower", "\u21e4", () => move(0, 0, -1, 0))}
      {b("Wider", "\u21e5", () => move(0, 0, 1, 0))}
      {b("Shorter", "\u2912", () => move(0, 0, 0, -1))}
      {b("Taller", "\u2913", () => move(0, 0, 0, 1))}
      {b("Delete", "\u2715", onDelete)}
    </div>
  );
}

/** Whether the edited dashboard differs from the saved one. */
export function isDirty(dash: Dashboard, saved: Dashboard): boolean {
  return JSON.stringify(dash) !== JSON.stringify(saved);
}

/** A dashboard id from a title: lowercase letters, digits, '-' (<=64). */
export function idFromTitle(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^[-_]+|-+$/g, "")
    .slice(0, 64);
}

/** The edit bar above the grid. */
export function DashboardEditorBar(
  { dash, saved, errors, varOptions, onChange, onSaved, onErrors, onCancel, onAddPanel }: {
    dash: Dashboard;
    saved: Dashboard;
    errors: Errors;
    /** Options each variable offers now (the variable editor's preview). */
    varOptions: Readonly<Record<string, readonly string[]>>;
    /** A new dashboard, or an update of the latest one. */
    onChange: (d: Dashboard | ((d: Dashboard) => Dashboard)) => void;
    onSaved: (d: Dashboard) => void;
    onErrors: (e: Errors) => void;
    onCancel: () => void;
    onAddPanel: () => void;
  },
) {
  const [json, setJson] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState("");
  const [settings, setSettings] = useState(false);
  const [saveAs, setSaveAs] = useState<{ title: string; id: string } | null>(null);
  const dirty = isDirty(dash, saved);
  // Leaving the page with unsaved changes asks first (not when we navigate on purpose).
  // A layout effect: armed in the same render that shows "unsaved", not a frame later.
  const leaving = useRef(false);
  useLayoutEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => {
      if (leaving.current) return;
      e.preventDefault();
      e.returnValue = "";
    };
    addEventListener("beforeunload", warn);
    return () => removeEventListener("beforeunload", warn);
  }, [dirty]);
  const go = (href: string) => {
    leaving.current = true;
    location.href = href;
  };
  const reportError = (e: unknown) => {
    if (e instanceof FieldErrors) {
      onErrors(e.fields.length ? e.fields : [{ field: "(root)", message: e.message }]);
    } else onErrors([{ field: "(root)", message: (e as Error).message }]);
  };
  const save = async () => {
    setBusy(true);
    setMsg("");
    try {
      const d = await sendJson<Dashboard>("PUT", `/api/dashboards/${encodeURIComponent(dash.id)}`, {
        ...dash,
        version: saved.version,
      });
      onSaved(d);
    } catch (e) {
      reportError(e);
    } finally {
      setBusy(false);
    }
  };
  const saveCopy = async () => {
    if (!saveAs) return;
    setBusy(true);
    try {
      const d = await sendJson<Dashboard>("POST", "/api/dashboards", {
        ...dash,
        id: saveAs.id,
        title: saveAs.title,
        version: 0,
      });
      go(`/d/${encodeURIComponent(d.id)}`);
    } catch (e) {
      reportError(e);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!confirm(`Delete dashboard "${saved.title}"? This cannot be undone.`)) return;
    setBusy(true);
    try {
      const res = await adminFetch("DELETE", `/api/dashboards/${encodeURIComponent(dash.id)}`);
      if (!res.ok) {
        const b = await res.json().catch(() => ({}));
        throw new Error(b.error ?? `${res.status} ${res.statusText}`);
      }
      go("/dashboards");
    } catch (e) {
      reportError(e);
    } finally {
      setBusy(false);
    }
  };
  const cancel = () => {
    if (dirty && !confirm("Discard your unsaved changes to this dashboard?")) return;
    onCancel();
  };
  const applyJson = async () => {
    try {
      const doc = JSON.parse(json ?? "");
      const r = await sendJson<{ ok: boolean; errors: Errors }>(
        "POST",
        "/api/dashboards/validate",
        { ...doc, id: dash.id },
      );
      if (!r.ok) {
        onErrors(r.errors);
        return;
      }
      onChange({ ...dash, ...doc, id: dash.id, version: dash.version });
      setJson(null);
      setMsg("JSON applied; save to keep it.");
    } catch (e) {
      onErrors([{ field: "(json)", message: (e as Error).message }]);
    }
  };
  return (
    <div class="card editor-bar" role="region" aria-label="Dashboard editor">
      <div class="row">
        <button type="button" onClick={onAddPanel} data-testid="add-panel">Add panel</button>
        <button
          type="button"
          aria-expanded={settings ? "true" : "false"}
          onClick={() => setSettings(!settings)}
          data-testid="dash-settings-button"
        >
          Settings
        </button>
        <button type="button" onClick={() => setJson(JSON.stringify(dash, null, 2))}>
          JSON&hellip;
        </button>
        <a
          class="button"
          download={`${dash.id}.json`}
          href={`data:application/json;charset=utf-8,${
            encodeURIComponent(JSON.stringify(dash, null, 2))
          }`}
        >
          Export
        </a>
        <button
          type="button"
          onClick={() => {
            const title = `${dash.title} copy`;
            setSaveAs(saveAs ? null : { title, id: idFromTitle(title) });
          }}
          data-testid="save-as-button"
        >
          Save as&hellip;
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={remove}
          data-testid="delete-dashboard"
        >
          Delete
        </button>
        <span class="spacer" />
        {dirty && <span class="muted" data-testid="unsaved">Unsaved changes</span>}
        <button type="button" onClick={cancel} data-testid="cancel-edit">Cancel</button>
        <button
          type="button"
          class="primary"
          disabled={busy}
          onClick={save}
          data-testid="save-dashboard"
        >
          {busy ? "Saving\u2026" : "Save"}
        </button>
      </div>
      {saveAs && (
        <form
          class="row save-as"
          onSubmit={(e) => {
            e.preventDefault();
            saveCopy();
          }}
        >
          <label>
            New title{" "}
            <input
              value={saveAs.title}
              onInput={(e) => {
                const title = (e.target as HTMLInputElement).value;
                setSaveAs({ title, id: idFromTitle(title) });
              }}
              data-testid="save-as-title"
            />
          </label>
          <label>
            Id{" "}
            <input
              value={saveAs.id}
              onInput={(e) => setSaveAs({ ...saveAs, id: (e.target as HTMLInputElement).value })}
              data-testid="save-as-id"
            />
          </label>
          <button type="submit" class="primary" disabled={busy} data-testid="save-as-submit">
            Save copy
          </button>
        </form>
      )}
      {msg && <p class="muted">{msg}</p>}
      {errors.length > 0 && (
        <div class="error" role="alert" data-testid="save-errors">
          <p>Not saved:</p>
          <ul>
            {errors.map((e) => (
              <li>
                <code>{e.field}</code>: {e.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {settings && (
        <DashboardSettings dash={dash} options={varOptions} errors={errors} onChange={onChange} />
      )}
      {json !== null && (
        <div class="json-edit">
          <label>
            Dashboard JSON (paste to import)
            <textarea
              rows={14}
              value={json}
              onInput={(e) => setJson((e.target as HTMLTextAreaElement).value)}
            />
          </label>
          <div class="row">
            <button type="button" onClick={applyJson}>Apply JSON</button>
            <button type="button" onClick={() => setJson(null)}>Close</button>
          </div>
        </div>
      )}
    </div>
  );
}

let metricNames: Promise<string[]> | undefined;
let labelNames: Promise<string[]> | undefined;

function wordAt(text: string, pos: number): { word: string; start: number; inBraces: boolean } {
  let s = pos;
  while (s > 0 && /[a-zA-Z0-9_:]/.test(text[s - 1]!)) s--;
  const before = text.slice(0, s);
  const inBraces = before.lastIndexOf("{") > before.lastIndexOf("}");
  return { word: text.slice(s, pos), start: s, inBraces };
}

/** A PromQL input with completion and inline parse errors. */
export function QueryInput(
  { value, onChange, id, serverError }: {
    value: string;
    onChange: (v: string) => void;
    id: string;
    serverError?: string;
  },
) {
  const [err, setErr] = useState("");
  const [suggest, setSuggest] = useState<string[]>([]);
  const ref = useRef<HTMLTextAreaElement>(null);
  const [word, setWord] = useState({ word: "", start: 0, inBraces: false });
  // A save error for this query is shown until the user edits the query.
  const [editedSinceServerError, setEdited] = useState(false);
  useEffect(() => setEdited(false), [serverError]);

  useEffect(() => {
    if (!value.trim()) {
      setErr("");
      return;
    }
    const t = setTimeout(() => {
      apiGet("/api/v1/parse_query", { query: interpolateForParse(value) })
        .then(() => setErr(""))
        .catch((e) =>
          setErr((e as { status?: number }).status === 404 ? "" : (e as Error).message)
        );
    }, 300);
    return () => clearTimeout(t);
  }, [value]);

  const complete = async (text: string, pos: number) => {
    const w = wordAt(text, pos);
    setWord(w);
    if (w.word.length < 1) return setSuggest([]);
    metricNames ??= apiGet<string[]>("/api/v1/label/__name__/values").catch(() => []);
    labelNames ??= apiGet<string[]>("/api/v1/labels").catch(() => []);
    const pool = w.inBraces ? await labelNames : await metricNames;
    const lw = w.word.toLowerCase();
    setSuggest(pool.filter((n) => n.toLowerCase().includes(lw) && n !== w.word).slice(0, 8));
  };
  const insert = (name: string) => {
    const next = value.slice(0, word.start) + name + value.slice(word.start + word.word.length);
    onChange(next);
    setSuggest([]);
    ref.current?.focus();
  };
  const shown = (!editedSinceServerError && serverError) || err;
  return (
    <div class="query-input">
      <textarea
        id={id}
        ref={ref}
        rows={2}
        spellcheck={false}
        value={value}
        aria-invalid={shown ? "true" : "false"}
        aria-describedby={shown ? `${id}-err` : undefined}
        onInput={(e) => {
          const t = e.target as HTMLTextAreaElement;
          setEdited(true);
          onChange(t.value);
          complete(t.value, t.selectionStart);
        }}
        onKeyDown={(e) => {
          if (e.key === "Tab" && suggest.length > 0 && !e.shiftKey) {
            e.preventDefault();
            insert(suggest[0]!);
          } else if (e.key === "Escape") setSuggest([]);
        }}
        data-testid="query-input"
      />
      {suggest.length > 0 && (
        <ul class="suggest" role="listbox" aria-label="Completions">
          {suggest.map((s) => (
            <li role="option">
              <button type="button" onClick={() => insert(s)}>{s}</button>
            </li>
          ))}
        </ul>
      )}
      {shown && <p class="error" id={`${id}-err`} data-testid="query-error">{shown}</p>}
    </div>
  );
}

const UNIT_CHOICES = [
  "",
  "seconds",
  "milliseconds",
  "bytes",
  "bytes_per_second",
  "ratio",
  "percent",
  "celsius",
  "reqps",
  "watts",
  "volts",
];

/** Edits one panel; changes apply to the view at once. */
export function PanelEditor(
  { panel, index, errors, onChange, onClose, dashboardId, resolvedQuery }: {
    panel: Panel;
    index: number;
    errors: Errors;
    dashboardId: string;
    /** The first query with the dashboard's variables substituted (for alert rules). */
    resolvedQuery: string;
    onChange: (p: Panel) => void;
    onClose: () => void;
  },
) {
  const o = panel.options;
  const errFor = (path: string) =>
    errors.filter((e) => e.field === `panels.${index}.${path}`).map((e) => e.message).join("; ");
  const setT = (i: number, t: Partial<Target>) =>
    onChange({ ...panel, targets: panel.targets.map((x, j) => (j === i ? { ...x, ...t } : x)) });
  const num = (s: string) => (s.trim() === "" ? undefined : Number(s));
  const [thr, setThr] = useState(o.thresholds.map((t) => `${t.value}:${t.color}`).join(", "));
  return (
    <section
      class="card panel-editor"
      aria-label={`Edit panel ${panel.title}`}
      data-testid="panel-editor"
    >
      <div class="row">
        <h2>Panel {panel.id}</h2>
        <span class="spacer" />
        <button type="button" onClick={onClose} data-testid="close-panel-editor">Done</button>
      </div>
      <div class="form-grid">
        <label>
          Title
          <input
            value={panel.title}
            onInput={(e) => onChange({ ...panel, title: (e.target as HTMLInputElement).value })}
            data-testid="panel-title-input"
          />
        </label>
        <label>
          Type
          <select
            value={panel.type}
            onChange={(e) =>
              onChange({ ...panel, type: (e.target as HTMLSelectElement).value as Panel["type"] })}
            data-testid="panel-type"
          >
            {PANEL_TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </label>
        <label>
          Unit
          <select
            value={o.unit}
            onChange={(e) =>
              onChange({
                ...panel,
                options: { ...o, unit: (e.target as HTMLSelectElement).value },
              })}
          >
            {UNIT_CHOICES.map((u) => <option key={u} value={u}>{u || "auto"}</option>)}
            {!UNIT_CHOICES.includes(o.unit) && <option value={o.unit}>{o.unit}</option>}
          </select>
        </label>
        <label>
          Decimals
          <input
            type="number"
            min={0}
            max={10}
            value={o.decimals ?? ""}
            onInput={(e) =>
              onChange({
                ...panel,
                options: { ...o, decimals: num((e.target as HTMLInputElement).value) },
              })}
          />
        </label>
        <label>
          Min
          <input
            type="number"
            value={o.min ?? ""}
            onInput={(e) =>
              onChange({
                ...panel,
                options: { ...o, min: num((e.target as HTMLInputElement).value) },
              })}
          />
        </label>
        <label>
          Max
          <input
            type="number"
            value={o.max ?? ""}
            onInput={(e) =>
              onChange({
                ...panel,
                options: { ...o, max: num((e.target as HTMLInputElement).value) },
              })}
          />
          {errFor("options.max") && <span class="error">{errFor("options.max")}</span>}
        </label>
        <label class="wide">
          Thresholds (value:color, &hellip;)
          <input
            value={thr}
            onInput={(e) => {
              const text = (e.target as HTMLInputElement).value;
              setThr(text);
              const list = text.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
                const [v, c] = s.split(":");
                return { value: Number(v), color: (c ?? "red").trim() };
              }).filter((t) => Number.isFinite(t.value));
              onChange({ ...panel, options: { ...o, thresholds: list } });
            }}
          />
        </label>
        <fieldset class="wide">
          <legend>Legend</legend>
          <label>
            <input
              type="checkbox"
              checked={o.legend.show}
              onChange={(e) =>
                onChange({
                  ...panel,
                  options: {
                    ...o,
                    legend: { ...o.legend, show: (e.target as HTMLInputElement).checked },
                  },
                })}
            />{" "}
            show
          </label>
          {LEGEND_CALCS.map((c) => (
            <label>
              <input
                type="checkbox"
                checked={o.legend.calcs.includes(c)}
                onChange={(e) => {
                  const on = (e.target as HTMLInputElement).checked;
                  const calcs = on ? [...o.legend.calcs, c] : o.legend.calcs.filter((x) => x !== c);
                  onChange({
                    ...panel,
                    options: {
                      ...o,
                      legend: { ...o.legend, calcs: LEGEND_CALCS.filter((x) => calcs.includes(x)) },
                    },
                  });
                }}
              />{" "}
              {c}
            </label>
          ))}
        </fieldset>
        <p class="muted wide">
          Position: x {panel.gridPos.x}, y {panel.gridPos.y}, {panel.gridPos.w}×{panel.gridPos.h}
          {errFor("gridPos") && <span class="error">&mdash; {errFor("gridPos")}</span>}
        </p>
      </div>
      <h3>Queries</h3>
      {panel.targets.map((t, i) => (
        <div class="target" key={i}>
          <label for={`q-${panel.id}-${i}`}>Query {t.refId}</label>
          <QueryInput
            id={`q-${panel.id}-${i}`}
            value={t.expr}
            onChange={(v) => setT(i, { expr: v })}
            serverError={errFor(`targets.${i}.expr`)}
          />
          <label>
            Legend
            <input
              value={t.legendFormat}
              placeholder="{{label}}"
              onInput={(e) => setT(i, { legendFormat: (e.target as HTMLInputElement).value })}
            />
          </label>
          <button
            type="button"
            onClick={() => onChange({ ...panel, targets: panel.targets.filter((_, j) => j !== i) })}
          >
            Remove query
          </button>
        </div>
      ))}
      <button
        type="button"
        onClick={() => {
          const used = new Set(panel.targets.map((t) => t.refId));
          let c = 65;
          while (used.has(String.fromCharCode(c))) c++;
          onChange({
            ...panel,
            targets: [...panel.targets, {
              expr: "",
              legendFormat: "",
              refId: String.fromCharCode(c),
            }],
          });
        }}
      >
        Add query
      </button>
      <AlertRuleForm
        title={panel.title}
        query={resolvedQuery}
        dashboardId={dashboardId}
        panelId={panel.id}
      />
    </section>
  );
}
