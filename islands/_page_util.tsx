/**
 * Helpers shared by the list-page islands: fetch an API once per tick, show
 * its loading / missing / error state, labels as chips, and "time since".
 *
 * @module
 */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { formatValue } from "../core/dashboards/mod_browser.ts";
import { ApiError, apiGet } from "./api.ts";

/** The state of one API fetch. */
export type Load<T> = { state: "loading" } | { state: "ok"; data: T } | { state: "missing" } | {
  state: "error";
  error: string;
};

/**
 * Fetches an API path once (and again when `tick` changes). `raw` reads the
 * body as is instead of a `{status, data}` envelope. The last good data
 * stays shown while a refetch is in flight.
 */
export function useApi<T>(path: string, tick = 0, raw = false): Load<T> {
  const [s, setS] = useState<Load<T>>({ state: "loading" });
  useEffect(() => {
    const ctl = new AbortController();
    const p = raw
      ? fetch(path, { signal: ctl.signal }).then(async (r) => {
        if (!r.ok) throw new ApiError(r.status, `${path}: ${r.status}`);
        return await r.json() as T;
      })
      : apiGet<T>(path, {}, ctl.signal);
    p.then((data) => setS({ state: "ok", data }))
      .catch((e) => {
        if ((e as Error).name === "AbortError") return;
        setS(
          e instanceof ApiError && e.status === 404
            ? { state: "missing" }
            : { state: "error", error: (e as Error).message },
        );
      });
    return () => ctl.abort();
  }, [path, tick]);
  return s;
}

/** Renders `children(data)` once loaded, or the loading / missing / error note. */
export function Status<T>(
  { s, what, children }: { s: Load<T>; what: string; children: (d: T) => ComponentChildren },
) {
  if (s.state === "loading") return <p class="muted">Loading {what}&hellip;</p>;
  if (s.state === "missing") {
    return (
      <p class="muted" data-testid="api-missing">
        {what}: not available in this Perch (API not found).
      </p>
    );
  }
  if (s.state === "error") return <p class="error" role="alert">{what}: {s.error}</p>;
  return <>{children(s.data)}</>;
}

/** Labels as `name="value"` chips (escaped text). */
export function Labels({ labels }: { labels: Record<string, string> }) {
  return (
    <span class="labels">
      {Object.entries(labels).map(([k, v]) => <span key={k} class="label">{k}="{v}"</span>)}
    </span>
  );
}

/** Time since an RFC 3339 time, as a duration ("3.2 min"); "" when unknown or future. */
export function since(iso?: string): string {
  if (!iso) return "";
  const s = (Date.now() - Date.parse(iso)) / 1000;
  return s < 0 || !Number.isFinite(s) ? "" : formatValue(s, "seconds", 0);
}

/** A tick that increases every `ms` (for periodic refetch). */
export function useTick(ms: number): [number, () => void] {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const id = setInterval(() => setTick((t) => t + 1), ms);
    return () => clearInterval(id);
  }, [ms]);
  return [tick, () => setTick((t) => t + 1)];
}
