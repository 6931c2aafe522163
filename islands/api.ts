/**
 * Browser helpers for Perch's HTTP APIs (Prometheus shapes). Every call
 * resolves to a value or throws an {@linkcode ApiError} with the server's
 * message; a 404 becomes `ApiError.status === 404` so pages can say the API
 * is not available instead of failing.
 *
 * @module
 */

/**
 * A native histogram as the Prometheus API returns it: count, sum, and the
 * populated buckets `[boundaries, lower, upper, count]` (boundaries: 0
 * upper inclusive, 1 lower inclusive, 2 neither, 3 both), numbers as strings.
 */
export interface ApiHistogram {
  readonly count: string;
  readonly sum: string;
  readonly buckets?: readonly [number, string, string, string][];
}

/** One series of a matrix result, as the Prometheus API returns it. */
export interface MatrixSeries {
  readonly metric: Record<string, string>;
  /** `[seconds, "value"]` pairs, ascending (empty for a series of native histograms only). */
  readonly values: [number, string][];
  /** `[seconds, histogram]` pairs, ascending: the series' native histogram points. */
  readonly histograms?: [number, ApiHistogram][];
}

/** One sample of a vector result: a float `value` or a native `histogram`. */
export interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly histogram?: [number, ApiHistogram];
}

/** Query statistics when `stats=all` was asked for. */
export interface ApiStats {
  readonly samples?: { readonly totalQueryableSamples?: number };
  readonly series?: number;
}

/** A `query` / `query_range` result. */
export type QueryData =
  | { resultType: "matrix"; result: MatrixSeries[]; stats?: ApiStats }
  | { resultType: "vector"; result: VectorSample[]; stats?: ApiStats }
  | { resultType: "scalar" | "string"; result: [number, string]; stats?: ApiStats };

/** A failed API call. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "ApiError";
  }
}

/** GETs (or POSTs) `path` and returns `data` of a Prometheus-style envelope. */
export async function apiGet<T>(
  path: string,
  params?: Record<string, string | string[]>,
  signal?: AbortSignal,
): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    for (const x of Array.isArray(v) ? v : [v]) qs.append(k, x);
  }
  const q = qs.toString();
  let res: Response;
  try {
    // Long queries go in a form body so URLs stay short.
    res = q.length > 1500
      ? await fetch(path, {
        method: "POST",
        body: qs,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        signal,
      })
      : await fetch(q ? `${path}?${q}` : path, { signal });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, `Cannot reach Perch: ${(e as Error).message}`);
  }
  let body: { status?: string; data?: unknown; error?: string };
  try {
    body = await res.json();
  } catch (e) {
    // An abort while the body streams in is an abort, not a bad response.
    if (signal?.aborted || (e as Error).name === "AbortError") throw e;
    throw new ApiError(res.status, `${path}: ${res.status} ${res.statusText}`);
  }
  if (!res.ok || body.status === "error") {
    throw new ApiError(res.status, body.error ?? `${path}: ${res.status} ${res.statusText}`);
  }
  return ("data" in body ? body.data : body) as T;
}

const TOKEN_KEY = "perch.adminToken";

/**
 * Sends an admin action (always as JSON, which Perch requires there). When
 * Perch answers 401 with a Bearer challenge (its generated admin token, or
 * configured tokens), asks for the token once, keeps it in this browser and
 * retries; a wrong token is forgotten so the next action asks again.
 */
export async function adminFetch(method: string, path: string, body?: unknown): Promise<Response> {
  const send = (token: string | null) =>
    fetch(path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
  let token = globalThis.localStorage?.getItem(TOKEN_KEY) ?? null;
  let res = await send(token);
  if (res.status === 401 && /^Bearer/i.test(res.headers.get("www-authenticate") ?? "")) {
    if (token) globalThis.localStorage?.removeItem(TOKEN_KEY);
    token = globalThis.prompt?.(
      "This action needs Perch's admin token (printed in Perch's log at its first start, kept in <data_dir>/admin_token):",
    ) ?? null;
    if (token) {
      res = await send(token.trim());
      if (res.status !== 401) globalThis.localStorage?.setItem(TOKEN_KEY, token.trim());
    }
  }
  return res;
}

/** Sends JSON and returns the parsed JSON response or throws with field errors. */
export async function sendJson<T>(method: string, path: string, body: unknown): Promise<T> {
  const res = await adminFetch(method, path, body);
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : {};
  if (!res.ok) {
    throw new FieldErrors(res.status, parsed.error ?? res.statusText, parsed.errors ?? []);
  }
  return parsed as T;
}

/** A rejected save: the message and errors by field path. */
export class FieldErrors extends ApiError {
  constructor(
    status: number,
    message: string,
    readonly fields: { field: string; message: string }[],
  ) {
    super(status, message);
  }
}

/**
 * The API leaves `values` out of a matrix series that holds only native
 * histograms; every panel reads `values`, so it is made an empty list.
 */
function withValues(d: QueryData): QueryData {
  if (d.resultType === "matrix") {
    for (const s of d.result) (s as { values?: unknown }).values ??= [];
  }
  return d;
}

/** Runs a range query; times in ms, step in ms. */
export async function queryRange(
  query: string,
  start: number,
  end: number,
  step: number,
  signal?: AbortSignal,
  stats = false,
): Promise<QueryData> {
  return withValues(
    await apiGet<QueryData>("/api/v1/query_range", {
      query,
      start: String(start / 1000),
      end: String(end / 1000),
      step: String(step / 1000),
      ...(stats ? { stats: "all" } : {}),
    }, signal),
  );
}

/** Runs an instant query at `time` ms. */
export async function queryInstant(
  query: string,
  time: number,
  signal?: AbortSignal,
): Promise<QueryData> {
  return withValues(
    await apiGet<QueryData>("/api/v1/query", { query, time: String(time / 1000) }, signal),
  );
}

/** Values of a label, optionally restricted by a selector. */
export function labelValues(
  label: string,
  match?: string,
  signal?: AbortSignal,
): Promise<string[]> {
  return apiGet<string[]>(
    `/api/v1/label/${encodeURIComponent(label)}/values`,
    match ? { "match[]": match } : {},
    signal,
  );
}
