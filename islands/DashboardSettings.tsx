/**
 * Dashboard settings in the editor: title, tags, default time range,
 * refresh and variables. Checked while you edit by the same validation as a
 * save (`POST /api/dashboards/validate`, once typing pauses), with each
 * error shown next to its field.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import type { Dashboard } from "../core/dashboards/mod_browser.ts";
import { sendJson } from "./api.ts";
import { PausedInput, splitList, VariableEditor } from "./VariableEditor.tsx";

type Errors = readonly { field: string; message: string }[];

/** The settings fields (panels are checked by the panel editor and on save). */
const SETTINGS_FIELD = /^(title|tags|time|refresh|variables)(\.|$)/;

const REFRESH_CHOICES = ["", "5s", "10s", "30s", "1m", "5m", "15m", "1h"];

function Err({ errors, path }: { errors: Errors; path: string }) {
  const msg = errors.filter((e) => e.field === path || e.field.startsWith(`${path}.`))
    .map((e) => e.message).join("; ");
  return msg ? <span class="error field-error" data-field={path}>{msg}</span> : null;
}

/** The settings card. */
export function DashboardSettings(
  { dash, options, errors, onChange }: {
    dash: Dashboard;
    /** Options each variable offers now, by name. */
    options: Readonly<Record<string, readonly string[]>>;
    /** Errors from the last save attempt. */
    errors: Errors;
    /** Gets an update of the latest dashboard (a paused input commits after later renders). */
    onChange: (f: (d: Dashboard) => Dashboard) => void;
  },
) {
  const [checked, setChecked] = useState<Errors>([]);
  const settingsKey = JSON.stringify([
    dash.title,
    dash.tags,
    dash.time,
    dash.refresh,
    dash.variables,
  ]);
  useEffect(() => {
    const t = setTimeout(() => {
      sendJson<{ ok: boolean; errors: { field: string; message: string }[] }>(
        "POST",
        "/api/dashboards/validate",
        dash,
      ).then((r) => setChecked(r.errors.filter((e) => SETTINGS_FIELD.test(e.field))))
        .catch(() => {/* The save reports it. */});
    }, 400);
    return () => clearTimeout(t);
  }, [settingsKey]);
  // A save error stays until the live check runs again; both name fields the same way.
  const all = [...checked, ...errors.filter((e) => !checked.some((c) => c.field === e.field))];
  return (
    <section class="card dash-settings" aria-label="Dashboard settings" data-testid="dash-settings">
      <h2>Settings</h2>
      <div class="form-grid">
        <label class="wide">
          Title
          <input
            value={dash.title}
            onInput={(e) => {
              const title = (e.target as HTMLInputElement).value;
              onChange((d) => ({ ...d, title }));
            }}
            data-testid="dash-title-input"
          />
          <Err errors={all} path="title" />
        </label>
        <label class="wide">
          Tags (comma-separated)
          <PausedInput
            value={dash.tags.join(", ")}
            onCommit={(t) =>
              onChange((d) => ({ ...d, tags: splitList(t) }))}
            data-testid="dash-tags-input"
          />
          <Err errors={all} path="tags" />
        </label>
        <label>
          Default from
          <input
            value={dash.time.from}
            placeholder="now-6h"
            onInput={(e) => {
              const from = (e.target as HTMLInputElement).value;
              onChange((d) => ({ ...d, time: { ...d.time, from } }));
            }}
            data-testid="dash-from-input"
          />
          <Err errors={all} path="time.from" />
        </label>
        <label>
          Default to
          <input
            value={dash.time.to}
            placeholder="now"
            onInput={(e) => {
              const to = (e.target as HTMLInputElement).value;
              onChange((d) => ({ ...d, time: { ...d.time, to } }));
            }}
            data-testid="dash-to-input"
          />
          <Err errors={all} path="time.to" />
        </label>
        <label>
          Refresh
          <input
            value={dash.refresh}
            list="refresh-choices"
            placeholder="off"
            onInput={(e) => {
              const refresh = (e.target as HTMLInputElement).value;
              onChange((d) => ({ ...d, refresh }));
            }}
            data-testid="dash-refresh-input"
          />
          <datalist id="refresh-choices">
            {REFRESH_CHOICES.map((r) => <option key={r} value={r}>{r || "off"}</option>)}
          </datalist>
          <Err errors={all} path="refresh" />
        </label>
        <VariableEditor
          variables={dash.variables}
          options={options}
          errors={all}
          onChange={(f) =>
            onChange((d) => ({ ...d, variables: f(d.variables) }))}
        />
      </div>
    </section>
  );
}
