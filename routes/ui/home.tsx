/**
 * The home page: health, the box's vital numbers (ingestion rate, series,
 * disk use, firing alerts) and the dashboards.
 */
import type { DashboardSummary } from "../../core/dashboards/mod.ts";
import { OVERVIEW_ID, OVERVIEW_METRICS } from "../../core/dashboards/mod.ts";
import type { HealthReport } from "../../core/selfmon/mod.ts";
import HealthPanel from "../../islands/HealthPanel.tsx";
import { HomeStats } from "../../islands/pages.tsx";
import { Island, Page } from "./layout.tsx";
import { DashboardTable } from "./pages.tsx";

/** What the home page shows. */
export interface HomeData {
  readonly health: HealthReport;
  readonly startedAt: Date;
  readonly dataDir: string;
  readonly listen: string;
}

const M = OVERVIEW_METRICS;
const HOME_QUERIES = [
  { label: "Ingestion rate", query: `sum(rate(${M.ingested}[5m]))`, unit: "" },
  { label: "Series", query: `sum(${M.series})`, unit: "" },
  { label: "Disk use", query: `sum(${M.disk})`, unit: "bytes" },
];

export function HomePage(
  { data, dashboards = [] }: { data: HomeData; dashboards?: readonly DashboardSummary[] },
) {
  return (
    <Page title="Home" path="/">
      <h1 class="sr-only">Home</h1>
      <div class="grid">
        <Island name="HealthPanel" component={HealthPanel} props={{ ...data.health }} />
        <Island name="HomeStats" component={HomeStats} props={{ queries: HOME_QUERIES }} />
        <section class="card">
          <h2>This Perch</h2>
          <dl class="kv">
            <dt>Started</dt>
            <dd>{data.startedAt.toISOString()}</dd>
            <dt>Listening on</dt>
            <dd>{data.listen}</dd>
            <dt>Data directory</dt>
            <dd>{data.dataDir}</dd>
            <dt>Self-metrics</dt>
            <dd>
              <a href="/metrics">/metrics</a> · <a href={`/d/${OVERVIEW_ID}`}>Perch overview</a>
            </dd>
          </dl>
        </section>
      </div>
      <section class="card">
        <h2>Dashboards</h2>
        <DashboardTable list={dashboards} />
      </section>
    </Page>
  );
}
