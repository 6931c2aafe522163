/**
 * The variable editor of the dashboard settings: add, remove and reorder
 * variables; name, label, type (label values query or custom list), multi,
 * include All, custom all value, hidden; with the options each one offers now
 * (the toolbar's own lookup, so the preview is what the picker will show).
 *
 * @module
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Variable } from "../core/dashboards/mod_browser.ts";

type Errors = readonly { field: string; message: string }[];

/**
 * A text input that reports its value when typing pauses (or on blur), so
 * a label-values lookup does not run per keystroke.
 */
export function PausedInput(
  { value, onCommit, ms = 400, ...rest }: {
    value: string;
    onCommit: (v: string) => void;
    ms?: number;
    [attr: string]: unknown;
  },
) {
  const [text, setText] = useState(value);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const last = useRef(value);
  useEffect(() => {
    if (value !== last.current) setText(value);
    last.current = value;
  }, [value]);
  const commit = (v: string) => {
    if (timer.current !== null) clearTimeout(timer.current);
    timer.current = null;
    if (v !== last.current) {
      last.current = v;
      onCommit(v);
    }
  };
  useEffect(() => () => {
    if (timer.current !== null) clearTimeout(timer.current);
  }, []);
  return (
    <input
      {...rest}
      value={text}
      onInput={(e) => {
        const v = (e.target as HTMLInputElement).value;
        setText(v);
        if (timer.current !== null) clearTimeout(timer.current);
        timer.current = setTimeout(() => commit(v), ms);
      }}
      onBlur={(e) => commit((e.target as HTMLInputElement).value)}
    />
  );
}

/** Splits a comma-separated list (Grafana's custom variable syntax), trimmed, empties dropped. */
export function splitList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

function FieldError({ errors, path }: { errors: Errors; path: string }) {
  const msg = errors.filter((e) => e.field === path || e.field.startsWith(`${path}.`))
    .map((e) => e.message).join("; ");
  return msg ? <span class="error field-error" data-field={path}>{msg}</span> : null;
}

function newName(vars: readonly Variable[]): string {
  const used = new Set(vars.map((v) => v.name));
  let i = 1;
  while (used.has(`var${i}`)) i++;
  return `var${i}`;
}

/** Edits the dashboard's variables. */
export function VariableEditor(
  { variables, options, errors, onChange }: {
    variables: readonly Variable[];
    /** Options each variable offers now, by name. */
    options: Readonly<Record<string, readonly string[]>>;
    errors: Errors;
    /** Gets an update of the latest variables (edits may land after later renders). */
    onChange: (f: (vs: readonly Variable[]) => Variable[]) => void;
  },
) {
  const set = (i: number, f: (v: Variable) => Variable) =>
    onChange((vs) => vs.map((x, j) => (j === i ? f(x) : x)));
  const move = (i: number, d: number) =>
    onChange((vs) => {
      const j = i + d;
      const next = [...vs];
      if (j < 0 || j >= vs.length) return next;
      [next[i], next[j]] = [next[j]!, next[i]!];
      return next;
    });
  return (
    <fieldset class="wide variables" data-testid="variable-editor">
      <legend>Variables</legend>
      {variables.length === 0 && <p class="muted">No variables.</p>}
      {variables.map((v, i) => {
        const p = `variables.${i}`;
        const opts = options[v.name] ?? [];
        const base = {
          name: v.name,
          label: v.label,
          multi: v.multi,
          includeAll: v.includeAll,
          current: v.current,
          allValue: v.allValue,
          hidden: v.hidden,
        };
        return (
          <div class="variable" key={i} data-variable={i}>
            <div class="form-grid">
              <label>
                Name
                <PausedInput
                  value={v.name}
                  onCommit={(name) => set(i, (v) => ({ ...v, name }))}
                  data-testid="var-name"
                />
                <FieldError errors={errors} path={`${p}.name`} />
              </label>
              <label>
                Label
                <input
                  value={v.label ?? ""}
                  onInput={(e) => {
                    const label = (e.target as HTMLInputElement).value;
                    set(i, (v) => ({ ...v, label: label === "" ? undefined : label }));
                  }}
                  data-testid="var-label"
                />
              </label>
              <label>
                Type
                <select
                  value={v.type}
                  data-testid="var-type"
                  onChange={(e) => {
                    const t = (e.target as HTMLSelectElement).value;
                    if (t === v.type) return;
                    set(
                      i,
                      () =>
                        t === "custom"
                          ? { ...base, type: "custom", options: [...opts] }
                          : { ...base, type: "query", query: "label_values(job)" },
                    );
                  }}
                >
                  <option value="query">query (label values)</option>
                  <option value="custom">custom (list)</option>
                </select>
              </label>
              {v.type === "query"
                ? (
                  <label class="wide">
                    Query
                    <PausedInput
                      value={v.query}
                      placeholder='label_values(up{job="node"}, instance)'
                      onCommit={(query) => set(i, (v) => ({ ...v, query }))}
                      data-testid="var-query"
                    />
                    <FieldError errors={errors} path={`${p}.query`} />
                  </label>
                )
                : (
                  <label class="wide">
                    Options (comma-separated)
                    <PausedInput
                      value={v.options.join(", ")}
                      onCommit={(t) => set(i, (v) => ({ ...v, options: splitList(t) }))}
                      data-testid="var-options"
                    />
                    <FieldError errors={errors} path={`${p}.options`} />
                  </label>
                )}
              <label>
                <input
                  type="checkbox"
                  checked={v.multi}
                  onChange={(e) => {
                    const multi = (e.target as HTMLInputElement).checked;
                    set(i, (v) => ({ ...v, multi }));
                  }}
                  data-testid="var-multi"
                />{" "}
                multi-value
              </label>
              <label>
                <input
                  type="checkbox"
                  checked={v.includeAll}
                  onChange={(e) => {
                    const includeAll = (e.target as HTMLInputElement).checked;
                    set(i, (v) => ({ ...v, includeAll }));
                  }}
                  data-testid="var-include-all"
                />{" "}
                include All
              </label>
              <label>
                Custom all value
                <input
                  value={v.allValue ?? ""}
                  placeholder=".*"
                  disabled={!v.includeAll}
                  onInput={(e) => {
                    const a = (e.target as HTMLInputElement).value;
                    set(i, (v) => ({ ...v, allValue: a === "" ? undefined : a }));
                  }}
                  data-testid="var-all-value"
                />
                <FieldError errors={errors} path={`${p}.allValue`} />
              </label>
              <label>
                <input
                  type="checkbox"
                  checked={v.hidden === true}
                  onChange={(e) => {
                    const hidden = (e.target as HTMLInputElement).checked ? true : undefined;
                    set(i, (v) => ({ ...v, hidden }));
                  }}
                  data-testid="var-hidden"
                />{" "}
                hidden
              </label>
            </div>
            <p class="muted var-preview" data-testid="var-preview">
              {opts.length === 0
                ? "No options yet."
                : `Options (${opts.length}): ${opts.slice(0, 20).join(", ")}${
                  opts.length > 20 ? ", \u2026" : ""
                }`}
            </p>
            <FieldError errors={errors} path={`${p}.type`} />
            <div class="row">
              <button
                type="button"
                aria-label={`Move variable ${v.name} up`}
                disabled={i === 0}
                onClick={() => move(i, -1)}
              >
                &uarr;
              </button>
              <button
                type="button"
                aria-label={`Move variable ${v.name} down`}
                disabled={i === variables.length - 1}
                onClick={() => move(i, 1)}
              >
                &darr;
              </button>
              <button
                type="button"
                onClick={() => onChange((vs) => vs.filter((_, j) => j !== i))}
                data-testid="var-remove"
              >
                Remove variable
              </button>
            </div>
          </div>
        );
      })}
      <button
        type="button"
        data-testid="var-add"
        onClick={() =>
          onChange((vs) => [...vs, {
            type: "query",
            name: newName(vs),
            query: "label_values(job)",
            multi: false,
            includeAll: false,
            current: [],
          }])}
      >
        Add variable
      </button>
    </fieldset>
  );
}
