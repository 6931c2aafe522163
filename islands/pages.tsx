/**
 * Islands for the list pages that read APIs built elsewhere: Alerts, Targets,
 * Status, Home numbers and the dashboard list actions. Each renders a
 * friendly note when its API answers 404 (not available in this build).
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { formatValue } from "../core/dashboards/format.ts";
import { ApiError, apiGet, queryInstant, sendJson } from "./api.ts";
import { sampleValue } from "./series.ts";

type Load<T> = { state: "loading" } | { state: "ok"; data: T } | { state: "missing" } | {
  state: "error";
  error: string;
};

/** Fetches an API path once (and again when `tick` changes). */
function useApi<T>(path: string, tick = 0, raw = false): Load<T> {
  const [s, setS] = useState<Load<T>>({ state: "loading" });
  useEffect(() => {
    const ctl = new AbortController();
    const p = raw
      ? fetch(path, { signal: ctl.signal }).then(async (r) => {
        if (!r.ok) throw new ApiError(r.status, `${path}: ${r.status}`);
        return await r.json() as T;
      })
      : apiGet<T>(path, {}, ctl.signal);
    p.then((data) => setS({ state: "ok", data }))
      .catch((e) => {
        if ((e as Error).name === "AbortError") return;
        setS(
          e instanceof ApiError && e.status === 404
            ? { state: "missing" }
            : { state: "error", error: (e as Error).message },
        );
      });
    return () => ctl.abort();
  }, [path, tick]);
  return s;
}

function Status<T>(
  { s, what, children }: { s: Load<T>; what: string; children: (d: T) => preact.ComponentChildren },
) {
  if (s.state === "loading") return <p class="muted">Loading {what}…</p>;
  if (s.state === "missing") {
    return (
      <p class="muted" data-testid="api-missing">
        {what}: not available in this Perch (API not found).
      </p>
    );
  }
  if (s.state === "error") return <p class="error" role="alert">{what}: {s.error}</p>;
  return <>{children(s.data)}</>;
}

function Labels({ labels }: { labels: Record<string, string> }) {
  return (
    <span class="labels">
      {Object.entries(labels).map(([k, v]) => <span key={k} class="label">{k}="{v}"</span>)}
    </span>
  );
}

interface Alert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  state: string;
  activeAt?: string;
  value?: string;
}
interface Silence {
  id: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  status: { state: string };
}

function since(iso?: string): string {
  if (!iso) return "";
  const s = (Date.now() - Date.parse(iso)) / 1000;
  return s < 0 ? "" : formatValue(s, "seconds", 0);
}

/** The alerts page: alerts, rules, silences, notification log. */
export function AlertsView() {
  const [tick, setTick] = useState(0);
  const alerts = useApi<{ alerts: Alert[] }>("/api/v1/alerts", tick);
  const rules = useApi<
    {
      groups: {
        name: string;
        file?: string;
        rules: {
          name: string;
          query: string;
          health: string;
          lastError?: string;
          lastEvaluation?: string;
          state?: string;
          type: string;
        }[];
      }[];
    }
  >("/api/v1/rules", tick);
  const silences = useApi<Silence[]>("/api/v2/silences", tick, true);
  const notes = useApi<unknown>("/api/v1/notifications", tick);
  const [draft, setDraft] = useState<
    { matchers: Silence["matchers"]; hours: number; comment: string; createdBy: string } | null
  >(null);
  const [msg, setMsg] = useState("");

  useEffect(() => {
    const id = setInterval(() => setTick((t) => t + 1), 15_000);
    return () => clearInterval(id);
  }, []);

  const create = async () => {
    if (!draft) return;
    const now = Date.now();
    try {
      await sendJson("POST", "/api/v2/silences", {
        matchers: draft.matchers,
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + draft.hours * 3600_000).toISOString(),
        createdBy: draft.createdBy || "perch-ui",
        comment: draft.comment || "silenced from the alerts page",
      });
      setDraft(null);
      setMsg("Silence created.");
      setTick((t) => t + 1);
    } catch (e) {
      setMsg(`Cannot create the silence: ${(e as Error).message}`);
    }
  };
  const expire = async (id: string) => {
    const r = await fetch(`/api/v2/silence/${encodeURIComponent(id)}`, { method: "DELETE" });
    setMsg(r.ok ? "Silence expired." : `Cannot expire: ${r.status}`);
    setTick((t) => t + 1);
  };

  return (
    <div class="stack">
      {msg && <p class="muted" role="status">{msg}</p>}
      <section class="card">
        <h2>Alerts</h2>
        <Status s={alerts} what="Alerts">
          {(d) =>
            d.alerts.length === 0
              ? <p class="muted">No alerts are firing or pending.</p>
              : (
                <table class="table" data-testid="alerts-table">
                  <thead>
                    <tr>
                      <th scope="col">State</th>
                      <th scope="col">Alert</th>
                      <th scope="col">Labels</th>
                      <th scope="col" class="num">Value</th>
                      <th scope="col">Since</th>
                      <th scope="col"></th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.alerts.map((a) => (
                      <tr>
                        <td>
                          <span class={`badge badge-${a.state}`}>{a.state}</span>
                        </td>
                        <td>
                          {a.labels.alertname}
                          {a.annotations?.summary && (
                            <div class="muted">{a.annotations.summary}</div>
                          )}
                        </td>
                        <td>
                          <Labels labels={a.labels} />
                        </td>
                        <td class="num">
                          {a.value !== undefined ? formatValue(sampleValue(a.value)) : ""}
                        </td>
                        <td>{since(a.activeAt)}</td>
                        <td>
                          <button
                            type="button"
                            data-testid="silence-alert"
                            onClick={() =>
                              setDraft({
                                matchers: Object.entries(a.labels).map(([name, value]) => ({
                                  name,
                                  value,
                                  isRegex: false,
                                  isEqual: true,
                                })),
                                hours: 2,
                                comment: "",
                                createdBy: "",
                              })}
                          >
                            Silence
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
        </Status>
      </section>
      {draft && (
        <form
          class="card"
          aria-label="New silence"
          onSubmit={(e) => (e.preventDefault(), create())}
        >
          <h2>New silence</h2>
          <p>
            <Labels labels={Object.fromEntries(draft.matchers.map((m) => [m.name, m.value]))} />
          </p>
          <label>
            Duration (hours){" "}
            <input
              type="number"
              min={0.1}
              step={0.1}
              value={draft.hours}
              onInput={(e) =>
                setDraft({ ...draft, hours: Number((e.target as HTMLInputElement).value) })}
            />
          </label>
          <label>
            Author{" "}
            <input
              value={draft.createdBy}
              onInput={(e) =>
                setDraft({ ...draft, createdBy: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            Comment{" "}
            <input
              value={draft.comment}
              onInput={(e) => setDraft({ ...draft, comment: (e.target as HTMLInputElement).value })}
            />
          </label>
          <div class="row">
            <button type="submit" class="primary" data-testid="create-silence">
              Create silence
            </button>
            <button type="button" onClick={() => setDraft(null)}>Cancel</button>
          </div>
        </form>
      )}
      <section class="card">
        <h2>Silences</h2>
        <Status s={silences} what="Silences">
          {(list) =>
            list.length === 0
              ? <p class="muted">No silences.</p>
              : (
                <table class="table" data-testid="silences-table">
                  <thead>
                    <tr>
                      <th scope="col">State</th>
                      <th scope="col">Matchers</th>
                      <th scope="col">Ends</th>
                      <th scope="col">By</th>
                      <th scope="col">Comment</th>
                      <th scope="col"></th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((s) => (
                      <tr>
                        <td>
                          <span class="badge">{s.status.state}</span>
                        </td>
                        <td>
                          {s.matchers.map((m) => (
                            <span class="label">
                              {m.name}
                              {m.isEqual === false ? "!" : ""}
                              {m.isRegex ? "=~" : "="}"{m.value}"
                            </span>
                          ))}
                        </td>
                        <td>{new Date(s.endsAt).toLocaleString()}</td>
                        <td>{s.createdBy}</td>
                        <td>{s.comment}</td>
                        <td>
                          {s.status.state !== "expired" && (
                            <button
                              type="button"
                              onClick={() => expire(s.id)}
                            >
                              Expire
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
        </Status>
      </section>
      <section class="card">
        <h2>Rules</h2>
        <Status s={rules} what="Rules">
          {(d) =>
            d.groups.length === 0
              ? <p class="muted">No rules loaded.</p>
              : d.groups.map((g) => (
                <div>
                  <h3>
                    {g.name} <span class="muted">{g.file}</span>
                  </h3>
                  <table class="table">
                    <thead>
                      <tr>
                        <th scope="col">Rule</th>
                        <th scope="col">Query</th>
                        <th scope="col">Health</th>
                        <th scope="col">Last evaluation</th>
                      </tr>
                    </thead>
                    <tbody>
                      {g.rules.map((r) => (
                        <tr>
                          <td>
                            {r.name}{" "}
                            <span class="muted">{r.type}{r.state ? ` · ${r.state}` : ""}</span>
                          </td>
                          <td>
                            <code>{r.query}</code>
                          </td>
                          <td>
                            <span
                              class={`badge badge-${
                                r.health === "ok" ? "up" : r.health === "err" ? "down" : "pending"
                              }`}
                            >
                              {r.health}
                            </span>
                            {r.lastError && <div class="error">{r.lastError}</div>}
                          </td>
                          <td>{r.lastEvaluation ? `${since(r.lastEvaluation)} ago` : ""}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ))}
        </Status>
      </section>
      <section class="card">
        <h2>Notification log</h2>
        <Status s={notes} what="Notification log">
          {(d) => {
            const rows = (Array.isArray(d)
              ? d
              : (d as { notifications?: unknown[] }).notifications ?? []) as Record<
                string,
                unknown
              >[];
            if (rows.length === 0) return <p class="muted">No notifications sent yet.</p>;
            const cols = [...new Set(rows.slice(0, 50).flatMap((r) => Object.keys(r)))].slice(0, 8);
            return (
              <table class="table">
                <thead>
                  <tr>{cols.map((c) => <th key={c} scope="col">{c}</th>)}</tr>
                </thead>
                <tbody>
                  {rows.slice(0, 200).map((r) => (
                    <tr>
                      {cols.map((c) => (
                        <td>
                          {typeof r[c] === "object" ? JSON.stringify(r[c]) : String(r[c] ?? "")}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            );
          }}
        </Status>
      </section>
    </div>
  );
}

/** The targets page. */
export function TargetsView() {
  const t = useApi<
    {
      activeTargets: {
        labels: Record<string, string>;
        scrapePool: string;
        scrapeUrl: string;
        health: string;
        lastError: string;
        lastScrape: string;
        lastScrapeDuration: number;
      }[];
    }
  >("/api/v1/targets");
  return (
    <section class="card">
      <h2>Scrape targets</h2>
      <Status s={t} what="Targets">
        {(d) =>
          d.activeTargets.length === 0
            ? <p class="muted">No scrape targets configured.</p>
            : (
              <table class="table">
                <thead>
                  <tr>
                    <th scope="col">Endpoint</th>
                    <th scope="col">State</th>
                    <th scope="col">Labels</th>
                    <th scope="col">Last scrape</th>
                    <th scope="col">Duration</th>
                    <th scope="col">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {d.activeTargets.map((x) => (
                    <tr>
                      <td>
                        {x.scrapeUrl}
                        <div class="muted">{x.scrapePool}</div>
                      </td>
                      <td>
                        <span class={`badge badge-${x.health}`}>{x.health}</span>
                      </td>
                      <td>
                        <Labels labels={x.labels} />
                      </td>
                      <td>{since(x.lastScrape)} ago</td>
                      <td>{formatValue(x.lastScrapeDuration, "seconds")}</td>
                      <td class="error">{x.lastError}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
      </Status>
    </section>
  );
}

/** The status page: build info, TSDB stats, config. */
export function StatusView() {
  const build = useApi<Record<string, string>>("/api/v1/status/buildinfo");
  const tsdb = useApi<
    {
      headStats?: Record<string, number>;
      seriesCountByMetricName?: { name: string; value: number }[];
      labelValueCountByLabelName?: { name: string; value: number }[];
    }
  >("/api/v1/status/tsdb");
  const runtime = useApi<Record<string, unknown>>("/api/v1/status/runtimeinfo");
  const config = useApi<{ yaml: string }>("/api/v1/status/config");
  const kv = (o: Record<string, unknown>) => (
    <dl class="kv">
      {Object.entries(o).map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{typeof v === "object" ? JSON.stringify(v) : String(v)}</dd>
        </>
      ))}
    </dl>
  );
  const top = (title: string, rows?: { name: string; value: number }[]) =>
    rows && rows.length > 0 && (
      <div>
        <h3>{title}</h3>
        <table class="table">
          <tbody>
            {rows.slice(0, 10).map((r) => (
              <tr>
                <td>{r.name}</td>
                <td class="num">{r.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  return (
    <div class="grid">
      <section class="card">
        <h2>Build</h2>
        <Status s={build} what="Build info">{kv}</Status>
      </section>
      <section class="card">
        <h2>Runtime</h2>
        <Status s={runtime} what="Runtime info">{kv}</Status>
      </section>
      <section class="card">
        <h2>TSDB</h2>
        <Status s={tsdb} what="TSDB stats">
          {(d) => (
            <>
              {d.headStats && kv(d.headStats)}
              {top("Series by metric (top 10)", d.seriesCountByMetricName)}
              {top("Values by label (top 10)", d.labelValueCountByLabelName)}
            </>
          )}
        </Status>
      </section>
      <section class="card wide">
        <h2>Configuration</h2>
        <Status s={config} what="Config">{(d) => <pre class="config">{d.yaml}</pre>}</Status>
      </section>
    </div>
  );
}

/** Home numbers: ingestion rate, series, disk use, firing alerts. */
export function HomeStats(
  { queries }: { queries: { label: string; query: string; unit: string }[] },
) {
  const [vals, setVals] = useState<(string | null)[]>(queries.map(() => null));
  const alerts = useApi<{ alerts: Alert[] }>("/api/v1/alerts");
  useEffect(() => {
    const load = () =>
      Promise.all(queries.map((q) =>
        queryInstant(q.query, Date.now()).then((r) => {
          if (r.resultType === "vector" && r.result[0]) {
            return formatValue(sampleValue(r.result[0].value[1]), q.unit, 1);
          }
          if (r.resultType === "scalar") {
            return formatValue(sampleValue(r.result[1]), q.unit, 1);
          }
          return "no data";
        }).catch(() => "n/a")
      )).then(setVals);
    load();
    const id = setInterval(load, 15_000);
    return () => clearInterval(id);
  }, []);
  const firing = alerts.state === "ok"
    ? alerts.data.alerts.filter((a) => a.state === "firing").length
    : null;
  return (
    <section class="card">
      <h2>At a glance</h2>
      <dl class="kv big">
        {queries.map((q, i) => (
          <>
            <dt>{q.label}</dt>
            <dd data-testid={`home-${i}`}>{vals[i] ?? "…"}</dd>
          </>
        ))}
        <dt>Firing alerts</dt>
        <dd>
          {alerts.state === "missing"
            ? "n/a"
            : firing === null
            ? "…"
            : <a href="/alerts">{firing}</a>}
        </dd>
      </dl>
    </section>
  );
}

/** New / import / delete actions on the dashboard list. */
export function DashboardActions() {
  const [title, setTitle] = useState("");
  const [json, setJson] = useState("");
  const [out, setOut] = useState<
    {
      error?: string;
      errors?: { field: string; message: string }[];
      unsupported?: string[];
      id?: string;
    } | null
  >(null);
  const create = async () => {
    const id =
      title.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64) ||
      `dash-${Date.now()}`;
    try {
      await sendJson("POST", "/api/dashboards", { id, title: title || id });
      location.href = `/d/${id}?edit=1`;
    } catch (e) {
      setOut({
        error: (e as Error).message,
        errors: (e as { fields?: { field: string; message: string }[] }).fields,
      });
    }
  };
  const doImport = async () => {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(json);
    } catch (e) {
      return setOut({ error: `Not JSON: ${(e as Error).message}` });
    }
    const inner = (doc.dashboard ?? doc) as Record<string, unknown>;
    const grafana = "schemaVersion" in inner || "templating" in inner || "uid" in inner ||
      "__inputs" in doc;
    try {
      if (grafana) {
        const r = await sendJson<{ dashboard: { id: string }; unsupported: string[] }>(
          "POST",
          "/api/dashboards/import/grafana",
          doc,
        );
        setOut({ id: r.dashboard.id, unsupported: r.unsupported });
      } else {
        const r = await sendJson<{ id: string }>("POST", "/api/dashboards", doc);
        setOut({ id: r.id, unsupported: [] });
      }
    } catch (e) {
      setOut({
        error: (e as Error).message,
        errors: (e as { fields?: { field: string; message: string }[] }).fields,
      });
    }
  };
  return (
    <section class="card">
      <h2>New dashboard</h2>
      <form class="row" onSubmit={(e) => (e.preventDefault(), create())}>
        <label>
          Title{" "}
          <input
            value={title}
            onInput={(e) => setTitle((e.target as HTMLInputElement).value)}
            required
            data-testid="new-dash-title"
          />
        </label>
        <button type="submit" class="primary">Create</button>
      </form>
      <details>
        <summary>Import JSON (Perch or Grafana)</summary>
        <textarea
          rows={8}
          value={json}
          onInput={(e) => setJson((e.target as HTMLTextAreaElement).value)}
          aria-label="Dashboard JSON"
        />
        <button type="button" onClick={doImport}>Import</button>
      </details>
      {out?.error && (
        <div class="error" role="alert">
          {out.error}
          {out.errors && (
            <ul>
              {out.errors.map((e) => (
                <li>
                  <code>{e.field}</code>: {e.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {out?.id && (
        <div role="status">
          <p>
            Imported <a href={`/d/${out.id}`}>{out.id}</a>.
          </p>
          {out.unsupported && out.unsupported.length > 0 && (
            <>
              <p>Not imported or changed:</p>
              <ul data-testid="unsupported">{out.unsupported.map((u) => <li key={u}>{u}</li>)}</ul>
            </>
          )}
        </div>
      )}
    </section>
  );
}
