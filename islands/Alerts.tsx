/**
 * The Alerts page island: firing and pending alerts (with a silenced
 * overlay from the notifier), silences (create from an alert, expire), rules
 * with health and last evaluation, and the notification delivery log.
 * Everything refreshes every 5 s and right after an action.
 *
 * @module
 */
import { useState } from "preact/hooks";
import { formatValue } from "../core/dashboards/mod_browser.ts";
import {
  type ApiAlert,
  type ApiRuleGroup,
  type ApiSilence,
  type DeliveryEntry,
  deliveryResult,
  isZeroTime,
  labelsKey,
  type Matcher,
  matchersFor,
  matcherText,
  type NotifierAlert,
  silencedIndex,
  sortSilences,
} from "./alerts_model.ts";
import { adminFetch, FieldErrors, sendJson } from "./api.ts";
import { Labels, since, Status, useApi, useTick } from "./_page_util.tsx";
import { sampleValue } from "./series.ts";

interface Draft {
  readonly alertname: string;
  readonly matchers: { m: Matcher; on: boolean }[];
  readonly hours: number;
  readonly createdBy: string;
  readonly comment: string;
}

function ago(iso?: string): string {
  return isZeroTime(iso) ? "never" : `${since(iso)} ago`;
}

function seconds(s?: number): string {
  return s === undefined ? "" : formatValue(s, "seconds");
}

function AlertsTable(
  { alerts, silenced, onSilence }: {
    alerts: readonly ApiAlert[];
    silenced: Map<string, string[]>;
    onSilence: (a: ApiAlert) => void;
  },
) {
  if (alerts.length === 0) return <p class="muted">No alerts are firing or pending.</p>;
  const order = (a: ApiAlert) => (a.state === "firing" ? 0 : 1);
  return (
    <table class="table" data-testid="alerts-table">
      <thead>
        <tr>
          <th scope="col">State</th>
          <th scope="col">Alert</th>
          <th scope="col">Labels</th>
          <th scope="col" class="num">Value</th>
          <th scope="col">Active since</th>
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {[...alerts].sort((a, b) => order(a) - order(b)).map((a) => {
          const { alertname, ...rest } = a.labels;
          const by = silenced.get(labelsKey(a.labels));
          return (
            <tr key={labelsKey(a.labels)} data-alertname={alertname}>
              <td>
                <span class={`badge badge-${a.state}`}>{a.state}</span>{" "}
                {by && (
                  <span class="badge" data-testid="alert-silenced" title={by.join(", ")}>
                    silenced
                  </span>
                )}
                {a.flapping && <span class="badge badge-pending">flapping</span>}
              </td>
              <td>
                <strong>{alertname}</strong>
                {a.annotations?.summary && <div class="muted">{a.annotations.summary}</div>}
              </td>
              <td>
                <Labels labels={rest} />
              </td>
              <td class="num">
                {a.value !== undefined ? formatValue(sampleValue(a.value)) : ""}
              </td>
              <td>
                {isZeroTime(a.activeAt)
                  ? ""
                  : (
                    <time dateTime={a.activeAt} title={new Date(a.activeAt!).toLocaleString()}>
                      {since(a.activeAt)}
                    </time>
                  )}
                {a.keepFiringSince && !isZeroTime(a.keepFiringSince) && (
                  <div class="muted">kept firing {ago(a.keepFiringSince)}</div>
                )}
              </td>
              <td>
                {!by && (
                  <button
                    type="button"
                    data-testid="silence-alert"
                    aria-label={`Silence ${alertname}`}
                    onClick={() => onSilence(a)}
                  >
                    Silence
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function SilenceForm(
  { draft, onChange, onCreated, onCancel }: {
    draft: Draft;
    onChange: (d: Draft) => void;
    onCreated: (msg: string) => void;
    onCancel: () => void;
  },
) {
  const [errors, setErrors] = useState<{ field: string; message: string }[]>([]);
  const [busy, setBusy] = useState(false);
  const create = async () => {
    const matchers = draft.matchers.filter((x) => x.on).map((x) => x.m);
    if (matchers.length === 0) {
      setErrors([{ field: "matchers", message: "pick at least one label" }]);
      return;
    }
    const now = Date.now();
    setBusy(true);
    try {
      // Perch's own API: its errors name each field (Alertmanager's path answers a string).
      const r = await sendJson<{ data: { silenceID: string } }>("POST", "/api/v1/silences", {
        matchers,
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + draft.hours * 3600_000).toISOString(),
        createdBy: draft.createdBy.trim() || "perch-ui",
        comment: draft.comment.trim() || `silenced ${draft.alertname} from the alerts page`,
      });
      onCreated(`Silence ${r.data.silenceID} created.`);
    } catch (e) {
      setErrors(
        e instanceof FieldErrors && e.fields.length > 0
          ? e.fields
          : [{ field: "", message: (e as Error).message }],
      );
    } finally {
      setBusy(false);
    }
  };
  const input = (k: "createdBy" | "comment") => (e: Event) =>
    onChange({ ...draft, [k]: (e.target as HTMLInputElement).value });
  return (
    <form
      class="card"
      aria-label="New silence"
      data-testid="silence-form"
      onSubmit={(e) => (e.preventDefault(), create())}
    >
      <h2>Silence {draft.alertname}</h2>
      <fieldset>
        <legend>Matching alerts with these labels</legend>
        {draft.matchers.map((x, i) => (
          <label key={x.m.name} class="label">
            <input
              type="checkbox"
              checked={x.on}
              onChange={(e) =>
                onChange({
                  ...draft,
                  matchers: draft.matchers.map((y, j) =>
                    j === i ? { ...y, on: (e.target as HTMLInputElement).checked } : y
                  ),
                })}
            />{" "}
            {matcherText(x.m)}
          </label>
        ))}
      </fieldset>
      <div class="row">
        <label>
          Duration (hours){" "}
          <input
            type="number"
            min={0.1}
            step={0.1}
            value={draft.hours}
            onInput={(e) =>
              onChange({ ...draft, hours: Number((e.target as HTMLInputElement).value) })}
          />
        </label>
        <label>
          Author{" "}
          <input value={draft.createdBy} placeholder="perch-ui" onInput={input("createdBy")} />
        </label>
        <label>
          Comment <input value={draft.comment} onInput={input("comment")} />
        </label>
      </div>
      {errors.length > 0 && (
        <ul class="error" role="alert" data-testid="silence-errors">
          {errors.map((e) => (
            <li>
              {e.field && <code>{e.field}</code>} {e.message}
            </li>
          ))}
        </ul>
      )}
      <div class="row">
        <button type="submit" class="primary" disabled={busy} data-testid="create-silence">
          Create silence
        </button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

function SilencesTable(
  { list, onExpire }: { list: readonly ApiSilence[]; onExpire: (s: ApiSilence) => void },
) {
  if (list.length === 0) return <p class="muted">No silences.</p>;
  return (
    <table class="table" data-testid="silences-table">
      <thead>
        <tr>
          <th scope="col">State</th>
          <th scope="col">Matchers</th>
          <th scope="col">Starts</th>
          <th scope="col">Ends</th>
          <th scope="col">By</th>
          <th scope="col">Comment</th>
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {sortSilences(list).map((s) => (
          <tr key={s.id} data-silence-id={s.id} data-state={s.status.state}>
            <td>
              <span
                class={`badge ${
                  s.status.state === "active"
                    ? "badge-pending"
                    : s.status.state === "expired"
                    ? ""
                    : "badge-up"
                }`}
              >
                {s.status.state}
              </span>
            </td>
            <td>
              {s.matchers.map((m) => <span key={m.name} class="label">{matcherText(m)}</span>)}
            </td>
            <td>{new Date(s.startsAt).toLocaleString()}</td>
            <td>{new Date(s.endsAt).toLocaleString()}</td>
            <td>{s.createdBy}</td>
            <td>{s.comment}</td>
            <td>
              {s.status.state !== "expired" && (
                <button
                  type="button"
                  data-testid="expire-silence"
                  onClick={() => onExpire(s)}
                >
                  Expire
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RuleGroups({ groups }: { groups: readonly ApiRuleGroup[] }) {
  if (groups.length === 0) return <p class="muted">No rules loaded.</p>;
  return (
    <>
      {groups.map((g) => (
        <div key={`${g.file}\u0000${g.name}`} data-testid="rule-group">
          <h3>
            {g.name} <span class="muted">{g.file}</span>
          </h3>
          <p class="muted">
            Every {seconds(g.interval)} · last evaluated {ago(g.lastEvaluation)}
            {!isZeroTime(g.lastEvaluation) && ` in ${seconds(g.evaluationTime)}`}
          </p>
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Query</th>
                <th scope="col">State</th>
                <th scope="col">Health</th>
                <th scope="col">Last evaluation</th>
              </tr>
            </thead>
            <tbody>
              {g.rules.map((r) => (
                <tr key={r.name} data-rule={r.name}>
                  <td>
                    {r.name} <span class="muted">{r.type === "alerting" ? "alert" : "record"}</span>
                    {r.duration ? <div class="muted">for {seconds(r.duration)}</div> : null}
                  </td>
                  <td>
                    <code>{r.query}</code>
                  </td>
                  <td>
                    {r.state && <span class={`badge badge-${r.state}`}>{r.state}</span>}
                    {(r.alerts?.length ?? 0) > 0 && (
                      <div class="muted">{r.alerts!.length} active</div>
                    )}
                  </td>
                  <td>
                    <span
                      class={`badge badge-${
                        r.health === "ok" ? "up" : r.health === "err" ? "down" : "pending"
                      }`}
                    >
                      {r.health}
                    </span>
                    {r.lastError && <div class="error rule-error">{r.lastError}</div>}
                  </td>
                  <td>
                    {ago(r.lastEvaluation)}
                    {!isZeroTime(r.lastEvaluation) && r.evaluationTime !== undefined && (
                      <div class="muted">took {seconds(r.evaluationTime)}</div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </>
  );
}

function DeliveryLog({ rows }: { rows: readonly DeliveryEntry[] }) {
  if (rows.length === 0) return <p class="muted">No notifications sent yet.</p>;
  return (
    <table class="table" data-testid="notification-log">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Receiver</th>
          <th scope="col">Notification</th>
          <th scope="col">Result</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((e) => {
          const r = deliveryResult(e);
          return (
            <tr key={e.id} data-result={r.kind}>
              <td>
                <time dateTime={e.time}>{new Date(e.time).toLocaleString()}</time>
              </td>
              <td>
                {e.receiver} <span class="muted">{e.channel}</span>
              </td>
              <td>
                <span class={`badge badge-${e.state === "firing" ? "firing" : "up"}`}>
                  {e.state}
                </span>{" "}
                {[...new Set(e.alerts.map((a) => a.alertname))].join(", ")}{" "}
                <span class="muted">
                  ({e.alerts.length} alert{e.alerts.length === 1 ? "" : "s"})
                </span>
              </td>
              <td class={r.kind === "failed" ? "error" : ""}>{r.text}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The alerts page: alerts, silences, rules, notification log. */
export function AlertsView() {
  const [tick, refresh] = useTick(5000);
  const alerts = useApi<{ alerts: ApiAlert[] }>("/api/v1/alerts", tick);
  const notifierAlerts = useApi<NotifierAlert[]>("/api/v2/alerts", tick, true);
  const rules = useApi<{ groups: ApiRuleGroup[] }>("/api/v1/rules", tick);
  const silences = useApi<ApiSilence[]>("/api/v2/silences", tick, true);
  const log = useApi<DeliveryEntry[]>("/api/v1/notifications?limit=50", tick);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [msg, setMsg] = useState("");

  const silenced = notifierAlerts.state === "ok"
    ? silencedIndex(notifierAlerts.data)
    : new Map<string, string[]>();
  const expire = async (s: ApiSilence) => {
    const r = await adminFetch("DELETE", `/api/v2/silence/${encodeURIComponent(s.id)}`);
    setMsg(r.ok ? "Silence expired." : `Cannot expire the silence: ${r.status}`);
    refresh();
  };

  return (
    <div class="stack">
      {msg && <p class="muted" role="status">{msg}</p>}
      <section class="card">
        <h2>Alerts</h2>
        <Status s={alerts} what="Alerts">
          {(d) => (
            <AlertsTable
              alerts={d.alerts}
              silenced={silenced}
              onSilence={(a) =>
                setDraft({
                  alertname: a.labels.alertname ?? "",
                  matchers: matchersFor(a.labels).map((m) => ({ m, on: true })),
                  hours: 2,
                  createdBy: "",
                  comment: "",
                })}
            />
          )}
        </Status>
      </section>
      {draft && (
        <SilenceForm
          draft={draft}
          onChange={setDraft}
          onCreated={(m) => {
            setDraft(null);
            setMsg(m);
            refresh();
          }}
          onCancel={() => setDraft(null)}
        />
      )}
      <section class="card">
        <h2>Silences</h2>
        <Status s={silences} what="Silences">
          {(list) => <SilencesTable list={list} onExpire={expire} />}
        </Status>
      </section>
      <section class="card">
        <h2>Rules</h2>
        <Status s={rules} what="Rules">{(d) => <RuleGroups groups={d.groups} />}</Status>
      </section>
      <section class="card">
        <h2>Notification log</h2>
        <Status s={log} what="Notification log">{(rows) => <DeliveryLog rows={rows} />}</Status>
      </section>
    </div>
  );
}
