/**
 * Dashboard view state in the URL query string, so a view can be shared:
 * `from`, `to`, `refresh`, `var-<name>` (repeated for several values) and
 * `edit`. Pure functions used by the server (first render) and the browser.
 *
 * @module
 */

/** The view state a URL carries. */
export interface ViewState {
  readonly from: string;
  readonly to: string;
  readonly refresh: string;
  readonly vars: Record<string, string[]>;
  readonly edit: boolean;
}

/** Reads the view state, falling back to the dashboard's defaults. */
export function readViewState(
  params: URLSearchParams,
  defaults: {
    time: { from: string; to: string };
    refresh: string;
    variables: readonly { name: string; current: readonly string[] }[];
  },
): ViewState {
  const vars: Record<string, string[]> = {};
  for (const v of defaults.variables) {
    const fromUrl = params.getAll(`var-${v.name}`);
    vars[v.name] = fromUrl.length ? fromUrl : [...v.current];
  }
  return {
    from: params.get("from") || defaults.time.from,
    to: params.get("to") || defaults.time.to,
    refresh: params.get("refresh") ?? defaults.refresh,
    vars,
    edit: params.get("edit") === "1",
  };
}

/** Writes the view state as a query string (without `?`). */
export function writeViewState(s: ViewState): string {
  const p = new URLSearchParams();
  p.set("from", s.from);
  p.set("to", s.to);
  if (s.refresh) p.set("refresh", s.refresh);
  for (const [k, vs] of Object.entries(s.vars)) for (const v of vs) p.append(`var-${k}`, v);
  if (s.edit) p.set("edit", "1");
  return p.toString();
}
