/**
 * Server-rendered pages: dashboard list, dashboard view, explore, alerts,
 * targets and status. Islands do the interactive parts; the server renders
 * their first frame so nothing jumps when they hydrate.
 *
 * @module
 */
import type { DashboardSummary } from "../../core/dashboards/mod.ts";
import DashboardView, { type DashboardProps } from "../../islands/Dashboard.tsx";
import Explore, { type ExploreProps } from "../../islands/Explore.tsx";
import { AlertsView } from "../../islands/Alerts.tsx";
import { ReceiversView } from "../../islands/Receivers.tsx";
import { DashboardActions, StatusView, TargetsView } from "../../islands/pages.tsx";
import { Island, Page } from "./layout.tsx";

/** The list of dashboards with create and import. */
export function DashboardListPage({ list }: { list: readonly DashboardSummary[] }) {
  return (
    <Page title="Dashboards" path="/dashboards">
      <section class="card">
        <h1>Dashboards</h1>
        <DashboardTable list={list} />
      </section>
      <Island name="DashboardActions" component={DashboardActions} props={{}} />
    </Page>
  );
}

/** A table of dashboards (also on the home page). */
export function DashboardTable({ list }: { list: readonly DashboardSummary[] }) {
  if (list.length === 0) return <p class="muted">No dashboards yet.</p>;
  return (
    <table class="table" data-testid="dashboard-list">
      <thead>
        <tr>
          <th scope="col">Title</th>
          <th scope="col">Tags</th>
          <th scope="col" class="num">Panels</th>
          <th scope="col">Source</th>
        </tr>
      </thead>
      <tbody>
        {list.map((d) => (
          <tr>
            <td>
              <a href={`/d/${encodeURIComponent(d.id)}`}>{d.title}</a>
            </td>
            <td>{d.tags.map((t) => <span key={t} class="label">{t}</span>)}</td>
            <td class="num">{d.panels}</td>
            <td class="muted">{d.source}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One dashboard. */
export function DashboardPage({ props }: { props: DashboardProps }) {
  return (
    <Page title={props.dashboard.title} path="/dashboards" bundle="dash">
      <Island name="DashboardView" component={DashboardView} props={props} />
    </Page>
  );
}

/** Explore. */
export function ExplorePage({ props }: { props: ExploreProps }) {
  return (
    <Page title="Explore" path="/explore" bundle="dash">
      <h1 class="sr-only">Explore</h1>
      <Island name="Explore" component={Explore} props={props} />
    </Page>
  );
}

/** Alerts, rules, silences, the notification log and the receivers (with a test button). */
export function AlertsPage() {
  return (
    <Page title="Alerts" path="/alerts">
      <h1 class="sr-only">Alerts</h1>
      <Island name="AlertsView" component={AlertsView} props={{}} />
      <Island name="ReceiversView" component={ReceiversView} props={{}} />
    </Page>
  );
}

/** Scrape targets. */
export function TargetsPage() {
  return (
    <Page title="Targets" path="/targets">
      <h1 class="sr-only">Targets</h1>
      <Island name="TargetsView" component={TargetsView} props={{}} />
    </Page>
  );
}

/** Build info, TSDB stats and config. */
export function StatusPage() {
  return (
    <Page title="Status" path="/status">
      <h1 class="sr-only">Status</h1>
      <Island name="StatusView" component={StatusView} props={{}} />
    </Page>
  );
}
