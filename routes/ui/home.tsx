/**
 * The home page: health and the box's vital numbers.
 */
import type { HealthReport } from "../../core/selfmon/mod.ts";
import HealthPanel from "../../islands/HealthPanel.tsx";
import { Island, Page } from "./layout.tsx";

/** What the home page shows. */
export interface HomeData {
  readonly health: HealthReport;
  readonly startedAt: Date;
  readonly dataDir: string;
  readonly listen: string;
}

export function HomePage({ data }: { data: HomeData }) {
  return (
    <Page title="Home" path="/">
      <div class="grid">
        <Island name="HealthPanel" component={HealthPanel} props={{ ...data.health }} />
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
              <a href="/metrics">/metrics</a>
            </dd>
          </dl>
        </section>
      </div>
    </Page>
  );
}
