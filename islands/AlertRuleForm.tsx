/**
 * "Create alert rule" from a panel: a threshold form (query prefilled from
 * the panel's first target with variables substituted, operator, threshold,
 * for-duration, severity, labels) or a PromQL condition (`expr > 0.9`),
 * posted to the threshold-rule API `POST /api/v1/alerts`; then the created
 * rule's state, refreshed while the form is open.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { splitCondition } from "./alert_condition.ts";
import { apiGet, FieldErrors, sendJson } from "./api.ts";

type Errors = readonly { field: string; message: string }[];

const OPERATORS = [
  ["gt", ">"],
  ["ge", ">="],
  ["lt", "<"],
  ["le", "<="],
  ["eq", "=="],
  ["ne", "!="],
] as const;
/** Parses `k=v, k2=v2` into labels; undefined names the bad part. */
function parseLabels(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf("=");
    if (i <= 0) return part;
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return out;
}

interface Created {
  readonly id: string;
  readonly name: string;
  readonly expr: string;
}

/** The form, shown in the panel editor. */
export function AlertRuleForm(
  { title, query, dashboardId, panelId }: {
    title: string;
    /** The panel's first query with variables substituted. */
    query: string;
    dashboardId: string;
    panelId: number;
  },
) {
  const [open, setOpen] = useState(false);
  const [mode, setMode] = useState<"threshold" | "promql">("threshold");
  const [name, setName] = useState(title || "Panel alert");
  const [expr, setExpr] = useState(query);
  const [operator, setOperator] = useState("gt");
  const [threshold, setThreshold] = useState("");
  const [condition, setCondition] = useState(query ? `${query} > 0` : "");
  const [duration, setDuration] = useState("1m");
  const [severity, setSeverity] = useState("warning");
  const [labels, setLabels] = useState("");
  const [errors, setErrors] = useState<Errors>([]);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const [state, setState] = useState("");
  useEffect(() => {
    if (!open) return;
    setExpr(query);
    setCondition(query ? `${query} > 0` : "");
  }, [query, open]);
  useEffect(() => {
    if (!created) return;
    let stop = false;
    const poll = async () => {
      try {
        const r = await apiGet<{ alerts: { state: string }[] }>(
          `/api/v1/alerts/${encodeURIComponent(created.id)}`,
        );
        if (stop) return;
        setState(
          r.alerts.some((a) => a.state === "firing")
            ? "firing"
            : r.alerts.length > 0
            ? "pending"
            : "inactive",
        );
      } catch (e) {
        if (!stop) setState((e as Error).message);
      }
    };
    poll();
    const t = setInterval(poll, 2000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [created?.id]);
  const errFor = (f: string) =>
    errors.filter((e) => e.field === f || e.field.startsWith(`${f}.`)).map((e) => e.message)
      .join("; ");
  const submit = async () => {
    setErrors([]);
    const ls = parseLabels(labels);
    if (typeof ls === "string") {
      return setErrors([{ field: "labels", message: `"${ls}" is not name=value` }]);
    }
    let cond: { expression: string; operator: string; threshold: number };
    if (mode === "promql") {
      const c = splitCondition(condition);
      if ("error" in c) return setErrors([{ field: "condition", message: c.error }]);
      cond = c;
    } else {
      if (threshold.trim() === "" || !Number.isFinite(Number(threshold))) {
        return setErrors([{ field: "threshold", message: "must be a number" }]);
      }
      cond = { expression: expr, operator, threshold: Number(threshold) };
    }
    setBusy(true);
    try {
      const r = await sendJson<{ data: Created }>("POST", "/api/v1/alerts", {
        name,
        ...cond,
        duration,
        labels: { severity, ...ls },
        annotations: {
          summary: `${name}: {{ $value }}`,
          dashboard: `/d/${dashboardId}`,
        },
      });
      setCreated(r.data);
      setState("");
    } catch (e) {
      const fields = e instanceof FieldErrors ? e.fields : [];
      // In PromQL mode the expression, operator and threshold come from the condition.
      setErrors(
        fields.length
          ? fields.map((f) =>
            mode === "promql" && /^(expression|operator|threshold)$/.test(f.field)
              ? { ...f, field: "condition" }
              : f
          )
          : [{ field: "(root)", message: (e as Error).message }],
      );
    } finally {
      setBusy(false);
    }
  };
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)} data-testid="create-alert-button">
        Create alert rule
      </button>
    );
  }
  const E = ({ f }: { f: string }) =>
    errFor(f) ? <span class="error field-error" data-field={f}>{errFor(f)}</span> : null;
  return (
    <section class="alert-form" aria-label="Create alert rule" data-testid="alert-form">
      <h3>Create alert rule</h3>
      <div class="row" role="radiogroup" aria-label="Condition">
        <label>
          <input
            type="radio"
            name={`alert-mode-${panelId}`}
            checked={mode === "threshold"}
            onChange={() => setMode("threshold")}
          />{" "}
          threshold
        </label>
        <label>
          <input
            type="radio"
            name={`alert-mode-${panelId}`}
            checked={mode === "promql"}
            onChange={() => setMode("promql")}
            data-testid="alert-mode-promql"
          />{" "}
          PromQL condition
        </label>
      </div>
      <div class="form-grid">
        <label class="wide">
          Name
          <input
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
            data-testid="alert-name"
          />
          <E f="name" />
        </label>
        {mode === "threshold"
          ? (
            <>
              <label class="wide">
                Query
                <textarea
                  rows={2}
                  value={expr}
                  onInput={(e) => setExpr((e.target as HTMLTextAreaElement).value)}
                  data-testid="alert-expr"
                />
                <E f="expression" />
              </label>
              <label>
                Fires when the value is
                <select
                  value={operator}
                  onChange={(e) => setOperator((e.target as HTMLSelectElement).value)}
                  data-testid="alert-operator"
                >
                  {OPERATORS.map(([o, sym]) => <option key={o} value={o}>{sym}</option>)}
                </select>
              </label>
              <label>
                Threshold
                <input
                  type="number"
                  step="any"
                  value={threshold}
                  onInput={(e) => setThreshold((e.target as HTMLInputElement).value)}
                  data-testid="alert-threshold"
                />
                <E f="threshold" />
              </label>
            </>
          )
          : (
            <label class="wide">
              Condition (PromQL ending in a comparison with a number)
              <textarea
                rows={2}
                value={condition}
                onInput={(e) => setCondition((e.target as HTMLTextAreaElement).value)}
                data-testid="alert-condition"
              />
              <E f="condition" />
            </label>
          )}
        <label>
          For
          <input
            value={duration}
            placeholder="1m"
            onInput={(e) => setDuration((e.target as HTMLInputElement).value)}
            data-testid="alert-for"
          />
          <E f="duration" />
        </label>
        <label>
          Severity
          <select
            value={severity}
            onChange={(e) => setSeverity((e.target as HTMLSelectElement).value)}
            data-testid="alert-severity"
          >
            {["critical", "warning", "info"].map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label class="wide">
          More labels (name=value, &hellip;)
          <input
            value={labels}
            placeholder="team=ops"
            onInput={(e) => setLabels((e.target as HTMLInputElement).value)}
            data-testid="alert-labels"
          />
          <E f="labels" />
        </label>
      </div>
      <E f="(root)" />
      <div class="row">
        <button
          type="button"
          class="primary"
          disabled={busy}
          onClick={submit}
          data-testid="alert-submit"
        >
          {busy ? "Creating\u2026" : "Create rule"}
        </button>
        <button type="button" onClick={() => setOpen(false)}>Close</button>
      </div>
      {created && (
        <p role="status" data-testid="alert-created">
          Created rule <a href="/alerts">{created.name}</a> (<code>{created.expr}</code>):{"  "}
          <span data-testid="alert-state">{state || "\u2026"}</span>
        </p>
      )}
    </section>
  );
}
