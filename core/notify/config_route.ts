/**
 * The notify config's `route` section: the routing tree in Alertmanager's
 * syntax, compiled with inherited settings filled in; and the matcher lists
 * (`matchers`, legacy `match`/`match_re`) that routes and inhibition rules use.
 *
 * @module
 */
import { LABEL_NAME_REGEXP, type Matcher, parseDuration, z } from "../model/mod.ts";
import {
  amBool as bool,
  amDuration as duration,
  amDurationOrZero as durationOrZero,
  amStr as str,
  amStrMap as strMap,
} from "../config/mod.ts";
import { fromApiMatcher, parseMatcher } from "./label_matchers.ts";

/** A node of the routing tree, with inherited settings filled in. */
export interface RouteConfig {
  /** Position in the tree, e.g. `"0"` for the root, `"0.2.1"` for a grandchild. */
  readonly id: string;
  readonly receiver: string;
  /** Label names to group by; `"all"` for `['...']`. */
  readonly groupBy: readonly string[] | "all";
  readonly groupWait: number;
  readonly groupInterval: number;
  readonly repeatInterval: number;
  readonly matchers: readonly Matcher[];
  readonly continue: boolean;
  readonly muteTimeIntervals: readonly string[];
  readonly activeTimeIntervals: readonly string[];
  readonly routes: readonly RouteConfig[];
}

/** Alertmanager's route defaults. */
export const ROUTE_DEFAULTS = {
  groupWait: 30_000,
  groupInterval: 300_000,
  repeatInterval: 4 * 3600_000,
} as const;

/** `matchers: ['name="v"', ...]`. */
export const matcherList = z.optional(z.array(str));
/** Alertmanager's older `match` / `match_re` maps. */
export const legacyMatch = z.optional(strMap);

/** A `route` node as written in the config file. */
export interface RawRoute {
  receiver?: string;
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  matchers?: string[];
  match?: Record<string, string>;
  match_re?: Record<string, string>;
  continue?: boolean;
  mute_time_intervals?: string[];
  active_time_intervals?: string[];
  routes?: RawRoute[];
}

/** Validates a `route` node and its children. */
export const routeSchema: z.ZodMiniType<RawRoute> = z.lazy(() =>
  z.strictObject({
    receiver: z.optional(str),
    group_by: z.optional(z.array(str)),
    group_wait: z.optional(durationOrZero),
    group_interval: z.optional(duration),
    repeat_interval: z.optional(duration),
    matchers: matcherList,
    match: legacyMatch,
    match_re: legacyMatch,
    continue: z.optional(bool),
    mute_time_intervals: z.optional(z.array(str)),
    active_time_intervals: z.optional(z.array(str)),
    routes: z.optional(z.array(routeSchema)),
  })
);

/**
 * Compiles the route `r` at `at` (config path) with tree position `id`,
 * inheriting what it leaves out from `parent`; checks the receivers and time
 * intervals it names. Problems go to `errors`.
 */
export function compileRoute(
  r: RawRoute,
  at: string,
  id: string,
  parent: RouteConfig | undefined,
  receivers: ReadonlyMap<string, unknown>,
  timeIntervals: ReadonlyMap<string, unknown>,
  errors: string[],
): RouteConfig {
  const receiver = r.receiver ?? parent?.receiver ?? "";
  if (r.receiver !== undefined && !receivers.has(r.receiver)) {
    errors.push(`${at}.receiver: unknown receiver ${JSON.stringify(r.receiver)}`);
  }
  let groupBy: readonly string[] | "all" = parent?.groupBy ?? [];
  if (r.group_by) {
    if (r.group_by.includes("...")) {
      if (r.group_by.length > 1) errors.push(`${at}.group_by: '...' must be the only entry`);
      groupBy = "all";
    } else {
      r.group_by.forEach((l, i) => {
        if (!LABEL_NAME_REGEXP.test(l)) errors.push(`${at}.group_by[${i}]: invalid label name`);
      });
      groupBy = [...new Set(r.group_by)].sort();
    }
  }
  const intervals = (field: string, list: string[] | undefined) => {
    (list ?? []).forEach((n, i) => {
      if (!timeIntervals.has(n)) {
        errors.push(`${at}.${field}[${i}]: unknown time interval ${JSON.stringify(n)}`);
      }
    });
    return list ?? [];
  };
  const node: RouteConfig = {
    id,
    receiver,
    groupBy,
    groupWait: r.group_wait !== undefined ? parseDuration(r.group_wait)! : parent?.groupWait ??
      ROUTE_DEFAULTS.groupWait,
    groupInterval: r.group_interval ? parseDuration(r.group_interval)! : parent?.groupInterval ??
      ROUTE_DEFAULTS.groupInterval,
    repeatInterval: r.repeat_interval
      ? parseDuration(r.repeat_interval)!
      : parent?.repeatInterval ??
        ROUTE_DEFAULTS.repeatInterval,
    matchers: compileMatchers(r.matchers, r.match, r.match_re, errors, `${at}.`),
    continue: r.continue ?? false,
    muteTimeIntervals: intervals("mute_time_intervals", r.mute_time_intervals),
    activeTimeIntervals: intervals("active_time_intervals", r.active_time_intervals),
    routes: [],
  };
  (node as { routes: readonly RouteConfig[] }).routes = (r.routes ?? []).map((child, i) =>
    compileRoute(child, `${at}.routes[${i}]`, `${id}.${i}`, node, receivers, timeIntervals, errors)
  );
  return node;
}

/**
 * Compiles a matcher list and the legacy `match`/`match_re` maps into one
 * list; `at` is the path of their fields without the field names
 * (`route.routes[0].`, `inhibit_rules[1].source_`).
 */
export function compileMatchers(
  list: string[] | undefined,
  match: Record<string, string> | undefined,
  matchRe: Record<string, string> | undefined,
  errors: string[],
  at: string,
): Matcher[] {
  const out: Matcher[] = [];
  const add = (path: string, m: Matcher | string) => {
    if (typeof m === "string") errors.push(`${path}: ${m}`);
    else out.push(m);
  };
  (list ?? []).forEach((s, i) => add(`${at}matchers[${i}]`, parseMatcher(s)));
  for (const [k, v] of Object.entries(match ?? {})) {
    add(`${at}match.${k}`, fromApiMatcher({ name: k, value: v, isRegex: false }));
  }
  for (const [k, v] of Object.entries(matchRe ?? {})) {
    add(`${at}match_re.${k}`, fromApiMatcher({ name: k, value: v, isRegex: true }));
  }
  return out;
}
