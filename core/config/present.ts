/**
 * The resolved configuration as people read it: durations (held in ms) as
 * `15s`, `28d`, sizes (held in bytes) as `32.0 MiB`, so that the Status page
 * and `/api/v1/status/config` show what a config file would say, as
 * Prometheus does. Sections that components validate themselves
 * (`scrape_configs`, `receivers`, ...) are kept as written.
 *
 * @module
 */
import { formatBytes, formatDuration } from "../model/mod.ts";

/** Keys whose numbers are durations in ms. */
const DURATIONS = new Set([
  "after",
  "block_range",
  "body_timeout",
  "evaluation_interval",
  "fsync_interval",
  "future_tolerance",
  "header_timeout",
  "idle_timeout",
  "interval",
  "lookback_delta",
  "max_age",
  "max_backoff",
  "max_duration",
  "min_backoff",
  "out_of_order_window",
  "resolution",
  "retention",
  "scrape_interval",
  "scrape_timeout",
  "shutdown_timeout",
  "timeout",
]);

/** Keys whose numbers are sizes in bytes. */
const SIZES = new Set([
  "cache_max_bytes",
  "head_memory_budget",
  "max_body_bytes",
  "max_bytes",
  "max_memory",
]);

/** Sections owned by components: shown as the user wrote them. */
const AS_WRITTEN = new Set([
  "scrape_configs",
  "remote_write",
  "route",
  "receivers",
  "inhibit_rules",
  "time_intervals",
  "rule_files",
]);

function present(v: unknown, key: string): unknown {
  if (typeof v === "number" && Number.isFinite(v)) {
    if (DURATIONS.has(key)) return v === 0 ? "0s" : formatDuration(v);
    if (SIZES.has(key)) return v === 0 ? 0 : formatBytes(v);
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => present(x, key));
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, AS_WRITTEN.has(k) ? x : present(x, k)]),
    );
  }
  return v;
}

/** A copy of `config` with durations and sizes as text (see the module doc). */
export function presentConfig<T>(config: T): unknown {
  return present(config, "");
}
