/**
 * Islands for the list pages that read APIs built elsewhere: Targets,
 * Status, Home numbers and the dashboard list actions. Each renders a
 * friendly note when its API answers 404 (not available in this build).
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { formatValue } from "../core/dashboards/mod_browser.ts";
import { type ApiAlert, isZeroTime } from "./alerts_model.ts";
import { queryInstant, sendJson } from "./api.ts";
import { Labels, since, Status, useApi } from "./_page_util.tsx";
import { sampleValue } from "./series.ts";

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
                      <td>{isZeroTime(x.lastScrape) ? "never" : `${since(x.lastScrape)} ago`}</td>
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

/** A key/value list; empty values are left out. */
function KV(
  { o, fmt }: { o: Record<string, unknown>; fmt?: Record<string, (v: unknown) => string> },
) {
  return (
    <dl class="kv">
      {Object.entries(o).filter(([, v]) => v !== "" && v !== null && v !== undefined).map((
        [k, v],
      ) => (
        <>
          <dt>{k}</dt>
          <dd>{fmt?.[k] ? fmt[k](v) : typeof v === "object" ? JSON.stringify(v) : String(v)}</dd>
        </>
      ))}
    </dl>
  );
}

const msTime = (v: unknown) => (Number(v) > 0 ? new Date(Number(v)).toLocaleString() : "none");
/** Bytes, or `{wal, blocks, kv, total}` bytes as "total (wal ..., blocks ..., kv ...)". */
const bytes = (v: unknown) => {
  const f = (n: unknown) => formatValue(Number(n), "bytes");
  if (v && typeof v === "object") {
    const { total, ...parts } = v as Record<string, number>;
    const rest = Object.entries(parts).map(([k, n]) => `${k} ${f(n)}`).join(", ");
    return total !== undefined ? `${f(total)} (${rest})` : rest;
  }
  return f(v);
};
const isoTime = (v: unknown) => {
  const t = Date.parse(String(v));
  return Number.isFinite(t) ? new Date(t).toLocaleString() : String(v);
};

/** The status page: health, build info, TSDB stats and cardinality, config. */
/** A storage incident as /health reports it (core/tsdb/recovery.ts). */
interface StorageIncidentView {
  id: string;
  at: number;
  file: string;
  message: string;
  samples?: number;
}

export function StatusView() {
  const build = useApi<Record<string, string>>("/api/v1/status/buildinfo");
  const tsdb = useApi<
    {
      headStats?: Record<string, number>;
      seriesCountByMetricName?: { name: string; value: number }[];
      labelValueCountByLabelName?: { name: string; value: number }[];
      perch?: Record<string, number | Record<string, number>>;
    }
  >("/api/v1/status/tsdb");
  const runtime = useApi<Record<string, unknown>>("/api/v1/status/runtimeinfo");
  const config = useApi<{ yaml: string }>("/api/v1/status/config");
  const [healthTick, setHealthTick] = useState(0);
  const [ackError, setAckError] = useState("");
  const health = useApi<
    {
      status: string;
      checks: Record<
        string,
        { status: string; message: string; details?: { incidents?: StorageIncidentView[] } }
      >;
    }
  >("/health", healthTick, true);
  const acknowledge = async () => {
    try {
      await sendJson("POST", "/api/v1/admin/health/ack", {});
      setAckError("");
    } catch (e) {
      setAckError((e as Error).message);
    }
    setHealthTick((t) => t + 1);
  };
  const top = (title: string, rows?: { name: string; value: number }[]) =>
    rows && rows.length > 0 && (
      <div>
        <h3>{title}</h3>
        <table class="table">
          <tbody>
            {rows.slice(0, 10).map((r) => (
              <tr key={r.name}>
                <td class="name">{r.name}</td>
                <td class="num">{r.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  return (
    <div class="grid">
      <section class="card" data-testid="status-health">
        <h2>Health</h2>
        <Status s={health} what="Health">
          {(h) => (
            <dl class="kv">
              <dt>overall</dt>
              <dd>
                <span class={`badge badge-${h.status}`}>{h.status}</span>
              </dd>
              {Object.entries(h.checks).map(([k, c]) => (
                <>
                  <dt>{k}</dt>
                  <dd>
                    <span class={`badge badge-${c.status}`}>{c.status}</span>{" "}
                    {c.message && c.message !== "ok" && <span class="muted">{c.message}</span>}
                  </dd>
                </>
              ))}
            </dl>
          )}
        </Status>
      </section>
      {health.state === "ok" && (health.data.checks.storage?.details?.incidents?.length ?? 0) > 0 &&
        (
          <section class="card wide" data-testid="status-incidents">
            <h2>Storage incidents</h2>
            <p class="muted">
              Recovery skipped, quarantined or rebuilt data. Health stays degraded until an admin
              acknowledges these.
            </p>
            <table class="table">
              <thead>
                <tr>
                  <th>when</th>
                  <th>file</th>
                  <th>samples lost</th>
                  <th>what happened</th>
                </tr>
              </thead>
              <tbody>
                {health.data.checks.storage.details!.incidents!.map((i) => (
                  <tr key={i.id}>
                    <td>{new Date(i.at).toISOString()}</td>
                    <td class="name">{i.file}</td>
                    <td class="num">{i.samples ?? ""}</td>
                    <td>{i.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <button type="button" class="primary" data-testid="ack-incidents" onClick={acknowledge}>
              Acknowledge
            </button>
            {ackError && <p class="error">{ackError}</p>}
          </section>
        )}
      <section class="card" data-testid="status-build">
        <h2>Build</h2>
        <Status s={build} what="Build info">{(d) => <KV o={d} />}</Status>
      </section>
      <section class="card">
        <h2>Runtime</h2>
        <Status s={runtime} what="Runtime info">
          {(d) => <KV o={d} fmt={{ startTime: isoTime, lastConfigTime: isoTime }} />}
        </Status>
      </section>
      <section class="card" data-testid="status-tsdb">
        <h2>TSDB</h2>
        <Status s={tsdb} what="TSDB stats">
          {(d) => (
            <>
              {d.perch && <KV o={d.perch} fmt={{ bytesOnDisk: bytes }} />}
              {d.headStats && (
                <>
                  <h3>Head</h3>
                  <KV o={d.headStats} fmt={{ minTime: msTime, maxTime: msTime }} />
                </>
              )}
            </>
          )}
        </Status>
      </section>
      <section class="card">
        <h2>Cardinality</h2>
        <Status s={tsdb} what="TSDB stats">
          {(d) => (
            <>
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
  const alerts = useApi<{ alerts: ApiAlert[] }>("/api/v1/alerts");
  useEffect(() => {
    const load = () =>
      Promise.all(queries.map((q) =>
        queryInstant(q.query, Date.now()).then((r) => {
          const first = r.resultType === "vector" ? r.result[0]?.value : undefined;
          if (first) return formatValue(sampleValue(first[1]), q.unit, 1);
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
            <dd data-testid={`home-${i}`}>{vals[i] ?? "\u2026"}</dd>
          </>
        ))}
        <dt>Firing alerts</dt>
        <dd>
          {alerts.state === "missing"
            ? "n/a"
            : firing === null
            ? "\u2026"
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
