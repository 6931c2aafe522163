/**
 * The routing tree: which routes (and so receivers) an alert goes to, and
 * which aggregation group it joins there.
 *
 * @module
 */
import type { RouteConfig } from "./config_route.ts";
import { matchLabels } from "./label_matchers.ts";

/**
 * Returns the routes an alert with `labels` is delivered through, as in
 * Alertmanager: depth first, the deepest matching routes win, siblings after
 * a match are tried only when the matching route has `continue: true`, and a
 * route whose children do not match takes the alert itself.
 */
export function matchRoutes(
  route: RouteConfig,
  labels: Readonly<Record<string, string>>,
): RouteConfig[] {
  if (!matchLabels(route.matchers, labels)) return [];
  const all: RouteConfig[] = [];
  for (const child of route.routes) {
    const m = matchRoutes(child, labels);
    all.push(...m);
    if (m.length > 0 && !child.continue) break;
  }
  if (all.length === 0) all.push(route);
  return all;
}

/** The labels an alert is grouped by on `route`. */
export function groupLabels(
  route: RouteConfig,
  labels: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  const names = route.groupBy === "all" ? Object.keys(labels).sort() : route.groupBy;
  for (const n of names) {
    const v = labels[n];
    if (v !== undefined && v !== "") out[n] = v;
  }
  return out;
}

/** A stable key for a route's aggregation group: `<route id>:{a="1",b="2"}`. */
export function groupKey(route: RouteConfig, group: Readonly<Record<string, string>>): string {
  const parts = Object.keys(group).sort().map((k) => `${k}=${JSON.stringify(group[k])}`);
  return `${route.id}:{${parts.join(",")}}`;
}

/** Every route of the tree, depth first. */
export function walkRoutes(route: RouteConfig): RouteConfig[] {
  return [route, ...route.routes.flatMap(walkRoutes)];
}
