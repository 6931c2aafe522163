/**
 * Rules and alerts API: Prometheus's `GET /api/v1/rules` and
 * `GET /api/v1/alerts`, and the product spec's threshold rules
 * (`POST /api/v1/alerts`, `GET/PUT/DELETE /api/v1/alerts/<id>`,
 * `POST /api/v1/alerts/<id>/test`).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import {
  type AlertRecord,
  formatAlertValue,
  RuleConflictError,
  type RuleInfo,
  type RuleManager,
  RuleNotFoundError,
  RuleValidationError,
  thresholdRuleJSON,
  thresholdWarnings,
} from "../core/rules/mod.ts";
import { whenLoaded } from "./loaded.ts";
import { ADMIN, READ } from "./scope.ts";

/** What the rules routes need. */
export interface RulesDeps {
  readonly rules: RuleManager;
  /** Resolves once the rules are loaded (after start-up); every request waits for it. */
  readonly loaded?: () => Promise<void>;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

function rfc3339(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : ZERO_TIME;
}

function alertJSON(a: AlertRecord) {
  return {
    labels: a.labels,
    annotations: a.annotations,
    state: a.state,
    activeAt: rfc3339(a.activeAt),
    ...(a.keepFiringSince > 0 ? { keepFiringSince: rfc3339(a.keepFiringSince) } : {}),
    value: formatAlertValue(a.value, -1),
    ...(a.flapping ? { flapping: true } : {}),
  };
}

function ruleJSON(info: RuleInfo, excludeAlerts: boolean) {
  const { rule, status } = info;
  const common = {
    name: rule.name,
    query: rule.expr,
    labels: rule.labels,
    health: status.health,
    ...(status.lastError ? { lastError: status.lastError } : {}),
    evaluationTime: status.evaluationTimeMs / 1000,
    lastEvaluation: rfc3339(status.lastEvaluation),
  };
  if (rule.kind === "recording") return { ...common, type: "recording" };
  const active = info.alerts.filter((a) => a.state !== "resolved");
  const state = active.some((a) => a.state === "firing")
    ? "firing"
    : active.length > 0
    ? "pending"
    : "inactive";
  return {
    state,
    ...common,
    duration: rule.forMs / 1000,
    keepFiringFor: rule.keepFiringForMs / 1000,
    annotations: rule.annotations,
    ...(excludeAlerts ? {} : { alerts: active.map(alertJSON) }),
    ...(rule.threshold ? { threshold: rule.threshold, id: rule.thresholdId } : {}),
    type: "alerting",
  };
}

function error(
  c: Context,
  status: 400 | 404 | 409 | 422,
  type: string,
  message: string,
  extra = {},
) {
  return c.json({ status: "error", errorType: type, error: message, ...extra }, status);
}

function mapError(c: Context, e: unknown): Response {
  if (e instanceof RuleValidationError) {
    return error(c, 400, "bad_data", e.message, { errors: e.problems });
  }
  if (e instanceof RuleNotFoundError) return error(c, 404, "not_found", e.message);
  if (e instanceof RuleConflictError) return error(c, 409, "conflict", e.message);
  throw e;
}

async function jsonBody(
  c: Context,
): Promise<{ ok: true; body: unknown } | { ok: false; res: Response }> {
  try {
    return { ok: true, body: await c.req.json() };
  } catch {
    return {
      ok: false,
      res: error(c, 400, "bad_data", "Cannot parse request body: not valid JSON"),
    };
  }
}

/** The rules and alerts routes. */
export function rulesRoutes(deps: RulesDeps): Hono {
  const app = new Hono();
  const rules = deps.rules;
  const loaded = whenLoaded(deps.loaded);

  app.get("/api/v1/rules", READ, loaded, (c) => {
    const url = new URL(c.req.url);
    const type = url.searchParams.get("type");
    if (type !== null && type !== "alert" && type !== "record") {
      return error(c, 400, "bad_data", `unsupported type "${type}": must be alert or record`);
    }
    const names = new Set(url.searchParams.getAll("rule_name[]"));
    const groups = new Set(url.searchParams.getAll("rule_group[]"));
    const files = new Set(url.searchParams.getAll("file[]"));
    const excludeAlerts = url.searchParams.get("exclude_alerts") === "true";
    const out = [];
    for (const g of rules.groups()) {
      if (groups.size > 0 && !groups.has(g.name)) continue;
      if (files.size > 0 && !files.has(g.file)) continue;
      const rs = g.rules.filter((r) =>
        (type === null || (type === "alert") === (r.rule.kind === "alerting")) &&
        (names.size === 0 || names.has(r.rule.name))
      );
      if (rs.length === 0 && (type !== null || names.size > 0)) continue;
      out.push({
        name: g.name,
        file: g.file,
        rules: rs.map((r) => ruleJSON(r, excludeAlerts)),
        interval: g.intervalMs / 1000,
        limit: g.limit,
        evaluationTime: g.evaluationTimeMs / 1000,
        lastEvaluation: rfc3339(g.lastEvaluation),
      });
    }
    return c.json({ status: "success", data: { groups: out } });
  });

  app.get("/api/v1/alerts", READ, loaded, (c) => {
    return c.json({ status: "success", data: { alerts: rules.alerts().map(alertJSON) } });
  });

  app.post("/api/v1/alerts", ADMIN, loaded, async (c) => {
    const b = await jsonBody(c);
    if (!b.ok) return b.res;
    try {
      const rule = await rules.createThresholdRule(b.body);
      const warnings = thresholdWarnings(rule);
      return c.json({
        status: "success",
        data: thresholdRuleJSON(rule),
        ...(warnings.length ? { warnings } : {}),
      }, 201);
    } catch (e) {
      return mapError(c, e);
    }
  });

  app.get("/api/v1/alerts/:id", READ, loaded, (c) => {
    try {
      const id = c.req.param("id");
      const info = rules.getThresholdRule(id);
      const active = rules.alerts().filter((a) => a.ruleKey === `threshold\u001f${id}`);
      return c.json({
        status: "success",
        data: {
          ...thresholdRuleJSON(info.rule),
          source: info.source,
          alerts: active.map(alertJSON),
        },
      });
    } catch (e) {
      return mapError(c, e);
    }
  });

  app.put("/api/v1/alerts/:id", ADMIN, loaded, async (c) => {
    const b = await jsonBody(c);
    if (!b.ok) return b.res;
    try {
      const rule = await rules.updateThresholdRule(c.req.param("id"), b.body);
      return c.json({ status: "success", data: thresholdRuleJSON(rule) });
    } catch (e) {
      return mapError(c, e);
    }
  });

  app.delete("/api/v1/alerts/:id", ADMIN, loaded, async (c) => {
    try {
      await rules.deleteThresholdRule(c.req.param("id"));
      return c.json({ status: "success", data: null });
    } catch (e) {
      return mapError(c, e);
    }
  });

  app.post("/api/v1/alerts/:id/test", ADMIN, loaded, async (c) => {
    try {
      const r = await rules.testThresholdRule(c.req.param("id"));
      if (r.error) return error(c, 422, "execution", r.error);
      return c.json({
        status: "success",
        data: {
          time: rfc3339(r.time),
          samples: r.samples.map((s) => ({
            labels: Object.fromEntries(s.labels.map((l) => [l.name, l.value])),
            value: formatAlertValue(s.value, -1),
          })),
          alerts: r.alerts.map(alertJSON),
          transitions: r.transitions.map((t) => ({
            labels: t.record.labels,
            from: t.from,
            to: t.to,
          })),
          wouldNotify: r.wouldNotify.map((a) => ({
            labels: a.labels,
            annotations: a.annotations,
            status: a.endsAt > 0 ? "resolved" : "firing",
            startsAt: rfc3339(a.startsAt),
            ...(a.endsAt > 0 ? { endsAt: rfc3339(a.endsAt) } : {}),
          })),
        },
      });
    } catch (e) {
      return mapError(c, e);
    }
  });

  return app;
}
