import { parseExpr } from "./parser.ts";
import { formatExpr } from "./printer.ts";

const DASHBOARD_QUERY =
  `sum by (region) (rate(http_requests_total{job="api", status=~"5.."}[5m])) / on (region) group_left sum by (region) (rate(http_requests_total{job="api"}[5m])) > bool 0.01`;

Deno.bench("parseExpr() of a typical dashboard query", () => {
  parseExpr(DASHBOARD_QUERY);
});

const parsed = parseExpr(DASHBOARD_QUERY);
Deno.bench("formatExpr() of a typical dashboard query", () => {
  formatExpr(parsed);
});
