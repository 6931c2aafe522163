/**
 * UI routes: server-rendered pages and the embedded static assets.
 */
import { Hono } from "hono";
import { DashboardNotFoundError, type DashboardStore } from "../../core/dashboards/mod.ts";
import { readViewState } from "../../islands/url_state.ts";
import { ASSETS } from "../../static/gen/assets.ts";
import { type HomeData, HomePage } from "./home.tsx";
import { Page, renderPage } from "./layout.tsx";
import {
  AlertsPage,
  DashboardListPage,
  DashboardPage,
  ExplorePage,
  StatusPage,
  TargetsPage,
} from "./pages.tsx";

/** What the UI routes need. */
export interface UiDeps {
  readonly homeData: () => Promise<HomeData>;
  /** The dashboard store; without it the dashboard pages say so. */
  readonly dashboards?: DashboardStore;
  /** Clock for the first render (tests pin it). */
  readonly now?: () => number;
}

const gzipCache = new Map<string, Uint8Array>();

async function gzip(key: string, body: string): Promise<Uint8Array> {
  let z = gzipCache.get(key);
  if (!z) {
    const stream = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
    z = new Uint8Array(await new Response(stream).arrayBuffer());
    gzipCache.set(key, z);
  }
  return z;
}

function NotFound({ what }: { what: string }) {
  return (
    <Page title="Not found" path="">
      <section class="card">
        <h1>Not found</h1>
        <p>{what}</p>
        <p>
          <a href="/dashboards">All dashboards</a>
        </p>
      </section>
    </Page>
  );
}

/** Pages and `/static/*`. */
export function uiRoutes(deps: UiDeps): Hono {
  const app = new Hono();
  const now = deps.now ?? Date.now;

  app.get("/", async (c) => {
    const data = await deps.homeData();
    const list = deps.dashboards ? await deps.dashboards.list() : [];
    return c.html(renderPage(<HomePage data={data} dashboards={list} />));
  });

  app.get("/dashboards", async (c) => {
    const list = deps.dashboards ? await deps.dashboards.list() : [];
    return c.html(renderPage(<DashboardListPage list={list} />));
  });

  app.get("/d/:id", async (c) => {
    const id = c.req.param("id");
    if (!deps.dashboards) {
      return c.html(renderPage(<NotFound what="Dashboards are not enabled." />), 404);
    }
    try {
      const dashboard = await deps.dashboards.get(id);
      const view = readViewState(new URL(c.req.url).searchParams, dashboard);
      return c.html(renderPage(<DashboardPage props={{ dashboard, view, now: now() }} />));
    } catch (e) {
      if (e instanceof DashboardNotFoundError) {
        return c.html(renderPage(<NotFound what={`No dashboard with id "${id}".`} />), 404);
      }
      throw e;
    }
  });

  app.get("/explore", (c) => {
    const q = c.req.query();
    return c.html(renderPage(
      <ExplorePage props={{ query: q.q ?? "", from: q.from || "now-1h", to: q.to || "now" }} />,
    ));
  });
  app.get("/alerts", (c) => c.html(renderPage(<AlertsPage />)));
  app.get("/targets", (c) => c.html(renderPage(<TargetsPage />)));
  app.get("/status", (c) => c.html(renderPage(<StatusPage />)));

  app.get("/static/*", async (c) => {
    const asset = ASSETS[c.req.path];
    if (!asset) return c.json({ error: `not found: ${c.req.path}` }, 404);
    const etag = `"${asset.etag}"`;
    const headers: Record<string, string> = {
      "Content-Type": asset.type,
      "ETag": etag,
      "Cache-Control": c.req.query("v") ? "public, max-age=31536000, immutable" : "no-cache",
      "Vary": "Accept-Encoding",
    };
    if (c.req.header("If-None-Match") === etag) return c.body(null, 304, headers);
    if ((c.req.header("Accept-Encoding") ?? "").includes("gzip")) {
      const z = await gzip(c.req.path + asset.etag, asset.body);
      return c.body(z as Uint8Array<ArrayBuffer>, 200, { ...headers, "Content-Encoding": "gzip" });
    }
    return c.body(asset.body, 200, headers);
  });

  return app;
}
