/**
 * Scrape routes: Prometheus's `GET /api/v1/targets`, `/api/v1/targets/metadata`
 * and `/api/v1/scrape_pools`, and the product's `/api/v1/scrape` to list, add
 * (`POST`, 201) and remove (`DELETE /api/v1/scrape/<id>`) run-time targets.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { fromPairs, type Matcher, matchesAll } from "../core/model/mod.ts";
import {
  type ActiveTargetInfo,
  type ApiTarget,
  ApiTargetConflictError,
  ApiTargetInputError,
  type ScrapeManager,
} from "../core/scrape/mod.ts";
import { formatDuration } from "../core/model/mod.ts";
import { BadParam, parseLimit, parseMatchParam } from "./api_params.ts";
import { ADMIN, READ } from "./scope.ts";

/** What the scrape routes need. */
export interface ScrapeRoutesDeps {
  readonly manager: ScrapeManager;
  /**
   * The URL base other machines reach targets on `localhost` by (Prometheus's
   * `globalUrl`); by default the scrape URL is shown unchanged.
   */
  readonly globalHost?: string;
}

/** Go's zero time, which Prometheus reports for targets never scraped. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

function badData(c: Context, message: string): Response {
  return c.json({ status: "error", errorType: "bad_data", error: message }, 400);
}

function globalUrl(url: string, host: string | undefined): string {
  if (!host) return url;
  try {
    const u = new URL(url);
    if (["localhost", "127.0.0.1", "[::1]"].includes(u.hostname)) u.hostname = host;
    return u.toString();
  } catch {
    return url;
  }
}

function activeJson(t: ActiveTargetInfo, host: string | undefined) {
  const h = t.health;
  return {
    discoveredLabels: t.discoveredLabels,
    labels: t.labels,
    scrapePool: t.pool,
    scrapeUrl: t.scrapeUrl,
    globalUrl: globalUrl(t.scrapeUrl, host),
    lastError: h.lastError,
    lastScrape: h.lastScrape > 0 ? new Date(h.lastScrape).toISOString() : ZERO_TIME,
    lastScrapeDuration: h.lastScrapeDuration,
    health: h.health,
    scrapeInterval: formatDuration(t.interval),
    scrapeTimeout: formatDuration(t.timeout),
  };
}

function apiTargetJson(t: ApiTarget) {
  return {
    id: t.id,
    job: t.job,
    url: t.url,
    interval: formatDuration(t.interval),
    labels: t.labels,
    createdAt: new Date(t.createdAt).toISOString(),
  };
}

/** Builds the scrape routes; mount with `app.route("/", scrapeRoutes(deps))`. */
export function scrapeRoutes(deps: ScrapeRoutesDeps): Hono {
  const app = new Hono();
  const m = deps.manager;

  app.get("/api/v1/targets", READ, (c) => {
    const state = (c.req.query("state") ?? "any").toLowerCase();
    if (!["active", "dropped", "any"].includes(state)) {
      return badData(c, `invalid parameter "state": must be active, dropped or any`);
    }
    const pool = c.req.query("scrapePool");
    const snap = m.targets();
    const inPool = (p: string) => pool === undefined || pool === "" || p === pool;
    const showActive = state !== "dropped", showDropped = state !== "active";
    const droppedTargetCounts: Record<string, number> = {};
    for (const p of m.pools()) if (inPool(p)) droppedTargetCounts[p] = 0;
    for (const d of snap.dropped) {
      if (inPool(d.pool)) droppedTargetCounts[d.pool] = (droppedTargetCounts[d.pool] ?? 0) + 1;
    }
    return c.json({
      status: "success",
      data: {
        activeTargets: showActive
          ? snap.active.filter((t) => inPool(t.pool)).map((t) => activeJson(t, deps.globalHost))
          : [],
        droppedTargets: showDropped
          ? snap.dropped.filter((d) => inPool(d.pool)).map((d) => ({
            discoveredLabels: d.discoveredLabels,
            scrapePool: d.pool,
          }))
          : [],
        droppedTargetCounts: showDropped ? droppedTargetCounts : {},
      },
    });
  });

  app.get("/api/v1/targets/metadata", READ, (c) => {
    let matchers: readonly Matcher[] = [];
    let limit: number;
    try {
      const mt = c.req.query("match_target");
      if (mt !== undefined && mt !== "") matchers = parseMatchParam(mt);
      limit = parseLimit(c.req.query("limit"));
    } catch (e) {
      const msg = e instanceof BadParam
        ? e.message.replace('"match[]"', '"match_target"')
        : String(e);
      return badData(c, msg);
    }
    const metric = c.req.query("metric") ?? "";
    const out: Record<string, unknown>[] = [];
    for (const t of m.targets().active) {
      if (out.length >= limit) break;
      if (matchers.length > 0 && !matchesAll(matchers, fromPairs(Object.entries(t.labels)))) {
        continue;
      }
      const names = metric === "" ? [...t.metadata.keys()].sort() : [metric];
      for (const name of names) {
        const md = t.metadata.get(name);
        if (!md) continue;
        const entry: Record<string, unknown> = { target: t.labels };
        if (metric === "") entry.metric = name;
        entry.type = md.type === "untyped" ? "unknown" : md.type;
        entry.help = md.help;
        entry.unit = md.unit;
        out.push(entry);
        if (out.length >= limit) break;
      }
    }
    return c.json({ status: "success", data: out });
  });

  app.get("/api/v1/scrape_pools", READ, (c) => {
    return c.json({ status: "success", data: { scrapePools: m.pools() } });
  });

  app.get("/api/v1/scrape", READ, (c) => {
    return c.json({ targets: m.listApiTargets().map(apiTargetJson) });
  });

  app.post("/api/v1/scrape", ADMIN, async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({
        error: "request body must be JSON",
        errors: [{ field: "body", message: "must be a JSON object" }],
      }, 400);
    }
    try {
      const t = await m.addApiTarget(body);
      return c.json(apiTargetJson(t), 201);
    } catch (e) {
      if (e instanceof ApiTargetInputError) {
        return c.json({ error: "invalid scrape target", errors: e.problems }, 400);
      }
      if (e instanceof ApiTargetConflictError) return c.json({ error: e.message }, 409);
      throw e;
    }
  });

  app.delete("/api/v1/scrape/:id", ADMIN, async (c) => {
    const id = c.req.param("id");
    if (!(await m.removeApiTarget(id))) {
      return c.json({ error: `no scrape target with id ${id}` }, 404);
    }
    return c.body(null, 204);
  });

  return app;
}
