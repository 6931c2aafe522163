/**
 * Prometheus's alert templates: the data (`$labels`, `$value`,
 * `$externalLabels`, `$externalURL`, and `.Labels`, `.Value`, ... on dot) and
 * functions (`query first label value strvalue sortByLabel args reReplaceAll
 * match safeHtml title toUpper toLower graphLink tableLink stripPort
 * stripDomain humanize humanize1024 humanizeDuration humanizePercentage
 * humanizeTimestamp toTime toDuration parseDuration now externalURL
 * pathPrefix urlQueryEscape`) of Prometheus's `template` package, on top of
 * Go's predefined ones. `define` and `template` are not part of the dialect.
 *
 * `query` runs PromQL at the evaluation time. Rendering stays synchronous:
 * the results come from a {@linkcode TemplateQueries} of the evaluation; a
 * template that asks for a query not fetched yet is rendered again once
 * {@linkcode renderWithQueries} has fetched it.
 *
 * @example
 * ```ts
 * const t = parseAlertTemplate("{{ $labels.instance }} at {{ $value | humanize }}");
 * renderAlertTemplate(t, { labels: { instance: "a" }, value: 1234 }); // "a at 1.234k"
 * ```
 *
 * @module
 */
import { type Labels, labelsToObject, parseDuration } from "../model/mod.ts";
import { GO_FUNCS } from "./builtins.ts";
import { FnError, TemplateParseError, TemplateRenderError } from "./errors.ts";
import { execute, type FuncMap } from "./exec.ts";
import { COMMON_FUNCS } from "./funcs_common.ts";
import { formatGoTime, secondsToMs } from "./go_time.ts";
import {
  humanize,
  humanize1024,
  humanizePercentage,
  humanizeTimestamp,
  toFloat,
} from "./humanize.ts";
import { type Dialect, parseTemplate, type Template } from "./parse.ts";
import { isIP, pathOf, queryEscape, splitHostPort, titleCase } from "./text.ts";
import {
  GoDuration,
  GoMap,
  GoSlice,
  GoStruct,
  GoTime,
  type GoValue,
  SAMPLE_TYPE,
  SAMPLES_TYPE,
} from "./value.ts";

/** Thrown by `query` for a result that is not fetched yet; never escapes a render loop. */
class QueryPending extends Error {
  constructor(readonly query: string) {
    super(`query ${JSON.stringify(query)} is not fetched yet`);
    this.name = "QueryPending";
  }
}

/** One sample of a query result, as the `query` function returns it. */
export interface TemplateSample {
  readonly labels: Labels;
  readonly value: number;
}

/**
 * Results of the templates' `query` calls for one evaluation: read
 * synchronously while rendering; queries not fetched yet are recorded and
 * fetched by {@linkcode TemplateQueries.fetch}. Each distinct query runs once.
 */
export class TemplateQueries {
  readonly #run: (query: string) => Promise<readonly TemplateSample[]>;
  readonly #results = new Map<string, readonly TemplateSample[] | Error>();
  readonly #wanted = new Set<string>();
  #final = false;

  /** `run` executes a PromQL query at the evaluation time; a rejection becomes a render error. */
  constructor(run: (query: string) => Promise<readonly TemplateSample[]>) {
    this.#run = run;
  }

  /** The result of `query`; throws while it is not fetched. */
  get(query: string): readonly TemplateSample[] {
    const r = this.#results.get(query);
    if (r instanceof Error) throw r;
    if (r) return r;
    if (this.#final) {
      throw new Error("query result not available: queries built from query results nest too deep");
    }
    this.#wanted.add(query);
    throw new QueryPending(query);
  }

  /** How many queries were asked for and not fetched yet. */
  get wanted(): number {
    return this.#wanted.size;
  }

  /** Runs the queries asked for (one after another, to spare a small box). */
  async fetch(): Promise<void> {
    const qs = [...this.#wanted];
    this.#wanted.clear();
    for (const q of qs) {
      try {
        this.#results.set(q, await this.#run(q));
      } catch (e) {
        this.#results.set(q, e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /** From now on a query not fetched is an error instead of a request. */
  finish(): void {
    this.#final = true;
  }
}

/**
 * Calls `render` (synchronous and free of side effects, e.g. `stepAlerts`)
 * until no template asks for a query result that is not fetched, fetching in
 * between; after `maxRounds` fetches, what is still missing is a render error.
 */
export async function renderWithQueries<T>(
  queries: TemplateQueries,
  render: () => T,
  maxRounds = 3,
): Promise<T> {
  for (let round = 0;; round++) {
    const out = render();
    if (queries.wanted === 0) return out;
    if (round >= maxRounds) {
      queries.finish();
      return render();
    }
    await queries.fetch();
  }
}

/** What an alert template sees. */
export interface AlertTemplateData {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly externalLabels?: Readonly<Record<string, string>>;
  readonly externalURL?: string;
  /** Evaluation time in ms, for `now`. @default Date.now() */
  readonly time?: number;
  /** Answers `query`; without it `query` is a render error. */
  readonly queries?: TemplateQueries;
}

const STRING_MAP = "map[string]string";

function labelMap(o: Readonly<Record<string, string>>): GoMap {
  return new GoMap(STRING_MAP, new Map(Object.entries(o)), "");
}

function toSample(s: TemplateSample): GoStruct {
  return new GoStruct(SAMPLE_TYPE, {
    Labels: labelMap(labelsToObject(s.labels)),
    Value: s.value,
  });
}

function sampleField(s: GoValue, f: "Labels" | "Value"): GoValue {
  if (!(s instanceof GoStruct)) {
    throw new FnError("invalid memory address or nil pointer dereference");
  }
  return s.fields[f];
}

/** `f` of a number, rethrowing a RangeError (int64 overflow) as the function's failure. */
function numeric<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) throw new FnError(e.message);
    throw e;
  }
}

function humanizing(f: (v: number) => string) {
  return { params: ["any"] as const, call: ([v]: GoValue[]) => f(toFloat(v)) };
}

function env(e: unknown): AlertTemplateData {
  return e as AlertTemplateData;
}

/** Prometheus's template functions, besides Go's predefined ones. */
const PROMETHEUS_FUNCS: FuncMap = {
  ...GO_FUNCS,
  ...COMMON_FUNCS,
  query: {
    params: ["string"],
    call: ([q], e) => {
      const qs = env(e).queries;
      if (!qs) throw new FnError("queries are not available here");
      try {
        return new GoSlice(SAMPLES_TYPE, qs.get(q as string).map(toSample));
      } catch (err) {
        if (err instanceof QueryPending) throw err;
        throw new FnError(err instanceof Error ? err.message : String(err));
      }
    },
  },
  first: {
    params: ["samples"],
    call: ([v]) => {
      const a = (v as GoSlice).items;
      if (a.length === 0) throw new FnError("first() called on vector with no elements");
      return a[0];
    },
  },
  label: {
    params: ["string", "sample"],
    call: ([l, s]) => {
      const m = sampleField(s, "Labels") as GoMap;
      return m.entries.get(l as string) ?? "";
    },
  },
  value: { params: ["sample"], call: ([s]) => sampleField(s, "Value") },
  strvalue: {
    params: ["sample"],
    call: ([s]) => (sampleField(s, "Labels") as GoMap).entries.get("__value__") ?? "",
  },
  sortByLabel: {
    params: ["string", "samples"],
    call: ([l, v]) => {
      const key = (s: GoValue) =>
        ((s as GoStruct | null)?.fields.Labels as GoMap | undefined)?.entries.get(l as string) ??
          "";
      const items = [...(v as GoSlice).items].sort((a, b) => {
        const x = key(a), y = key(b);
        return x < y ? -1 : x > y ? 1 : 0;
      });
      return new GoSlice(SAMPLES_TYPE, items);
    },
  },
  args: {
    params: [],
    variadic: "any",
    call: (a) =>
      new GoMap("map[string]interface {}", new Map(a.map((v, i) => [`arg${i}`, v])), null),
  },
  title: { params: ["string"], call: ([s]) => titleCase(s as string) },
  graphLink: {
    params: ["string"],
    call: ([e]) => `/graph?g0.expr=${queryEscape(e as string)}&g0.tab=0`,
  },
  tableLink: {
    params: ["string"],
    call: ([e]) => `/graph?g0.expr=${queryEscape(e as string)}&g0.tab=1`,
  },
  stripPort: {
    params: ["string"],
    call: ([hp]) => splitHostPort(hp as string)?.host ?? hp,
  },
  stripDomain: {
    params: ["string"],
    call: ([v]) => {
      const hp = v as string;
      const sp = splitHostPort(hp);
      const host = sp ? sp.host : hp, port = sp ? sp.port : "";
      if (isIP(host)) return hp;
      const h = host.split(".")[0]!;
      if (port === "") return h;
      return (h.includes(":") ? `[${h}]` : h) + ":" + port;
    },
  },
  humanize: humanizing(humanize),
  humanize1024: humanizing(humanize1024),
  humanizePercentage: humanizing(humanizePercentage),
  humanizeTimestamp: {
    params: ["any"],
    call: ([v]) => {
      if (v instanceof GoTime) return formatGoTime(v.ms, v.zone);
      return numeric(() => humanizeTimestamp(toFloat(v)));
    },
  },
  toTime: {
    params: ["any"],
    call: ([v]) => {
      const ms = numeric(() => secondsToMs(toFloat(v)));
      if (ms === undefined) throw new FnError("value is NaN or Inf");
      return new GoTime(ms);
    },
  },
  toDuration: {
    params: ["any"],
    call: ([v]) => {
      const ns = toFloat(v) * 1e9;
      // Go's float-to-int64 conversion: truncation; out of range gives the minimum int64.
      const int = Number.isFinite(ns) && Math.abs(ns) < 2 ** 63
        ? BigInt(Math.trunc(ns))
        : -(2n ** 63n);
      return new GoDuration(int, true);
    },
  },
  parseDuration: {
    params: ["string"],
    call: ([d]) => {
      const s = d as string;
      const neg = s.startsWith("-");
      const ms = parseDuration(neg ? s.slice(1) : s);
      if (ms === undefined) throw new FnError(`not a valid duration string: ${JSON.stringify(d)}`);
      return (neg ? -ms : ms) / 1000;
    },
  },
  now: { params: [], call: (_a, e) => (env(e).time ?? Date.now()) / 1000 },
  externalURL: { params: [], call: (_a, e) => env(e).externalURL ?? "" },
  pathPrefix: { params: [], call: (_a, e) => pathOf(env(e).externalURL ?? "") },
  urlQueryEscape: { params: ["string"], call: ([s]) => queryEscape(s as string) },
};

/** Variables every alert template starts with (Prometheus prepends their definitions). */
const ALERT_DIALECT: Dialect = {
  funcs: PROMETHEUS_FUNCS,
  vars: ["$labels", "$externalLabels", "$externalURL", "$value"],
};

/** Parses an alert template; throws {@linkcode TemplateParseError} with the position of the problem. */
export function parseAlertTemplate(source: string): Template {
  return parseTemplate(source, ALERT_DIALECT);
}

const ROOT_TYPE =
  "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";

/** Renders a parsed alert template; throws {@linkcode TemplateRenderError} when it fails. */
export function renderAlertTemplate(t: Template, d: AlertTemplateData): string {
  const root = new GoStruct(ROOT_TYPE, {
    Labels: labelMap(d.labels),
    ExternalLabels: labelMap(d.externalLabels ?? {}),
    ExternalURL: d.externalURL ?? "",
    Value: d.value,
  });
  try {
    return execute(t, {
      funcs: PROMETHEUS_FUNCS,
      data: root,
      vars: {
        $labels: root.fields.Labels,
        $externalLabels: root.fields.ExternalLabels,
        $externalURL: root.fields.ExternalURL,
        $value: root.fields.Value,
      },
      env: d,
    });
  } catch (e) {
    if (e instanceof TemplateRenderError || e instanceof QueryPending) throw e;
    // A bug or a stack overflow must not take the evaluation down.
    throw new TemplateRenderError(e instanceof Error ? e.message : String(e));
  }
}

/** Checks an alert template's syntax; returns the problem or undefined. */
export function checkAlertTemplate(source: string): string | undefined {
  try {
    parseAlertTemplate(source);
    return undefined;
  } catch (e) {
    if (e instanceof TemplateParseError) return e.message;
    throw e;
  }
}

const CACHE_MAX = 1000;
const cache = new Map<string, Template>();

/**
 * Renders an alert template `source` (parsed once and cached). On any error
 * returns the raw text plus a note, and the error, so the caller can log and
 * count it. A query result that is not fetched yet is reported like an error;
 * under {@linkcode renderWithQueries} that pass is discarded.
 */
export function expandAlertTemplate(
  source: string,
  d: AlertTemplateData,
): { text: string; error?: string } {
  if (!source.includes("{{")) return { text: source };
  try {
    let t = cache.get(source);
    if (!t) {
      if (cache.size >= CACHE_MAX) cache.clear();
      t = parseAlertTemplate(source);
      cache.set(source, t);
    }
    return { text: renderAlertTemplate(t, d) };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { text: `${source} (template error: ${msg})`, error: msg };
  }
}
