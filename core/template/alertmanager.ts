/**
 * Alertmanager's notification templates: its data (`.Status`, `.Receiver`,
 * `.Alerts` with `Firing`/`Resolved`, `.GroupLabels`, `.CommonLabels`,
 * `.CommonAnnotations` as `KV` with `SortedPairs`, `Remove`, `Names`,
 * `Values`, `.ExternalURL`) and functions (`toUpper toLower title trimSpace
 * join match safeHtml safeUrl urlUnescape reReplaceAll stringSlice
 * routeLabels date tz now since humanizeDuration toDate mustToDate toJson
 * base64encode base64decode list append dict`) of Alertmanager's `template`
 * package, on top of Go's predefined ones, with `define`, `template` and
 * `block`. Perch adds `humanize` (Prometheus's) and, on each alert, `Value`
 * and `DashboardURL`.
 *
 * Perch has no route labels, so `routeLabels` is always empty; `now` is UTC.
 *
 * @module
 */
import { GO_FUNCS } from "./builtins.ts";
import { FnError, TemplateRenderError } from "./errors.ts";
import { execute, type FuncMap } from "./exec.ts";
import { COMMON_FUNCS } from "./funcs_common.ts";
import { marshalJson } from "./go_json.ts";
import { formatLayout, parseLayout, zoneAt } from "./go_time.ts";
import { humanize, toFloat } from "./humanize.ts";
import { type Dialect, parseTemplate, type Template } from "./parse.ts";
import { ENC, titleCase, trimSpace } from "./text.ts";
import {
  GoDuration,
  GoMap,
  type GoMethods,
  GoSlice,
  GoString,
  GoStruct,
  GoTime,
  type GoValue,
} from "./value.ts";

/** What Alertmanager's functions read from the render. */
export interface NotificationEnv {
  /** The time for `now` and `since`, in ms. @default Date.now() */
  readonly now?: number;
}

/** Go's zero `time.Time`, which Alertmanager's `EndsAt` holds while an alert fires. */
const ZERO_TIME_MS = -62135596800000;

const STRINGS_METHODS: GoMethods = {
  Join: {
    params: ["string"],
    call: (recv, [sep]) => (recv as GoSlice).items.join(sep as string),
  },
};

function strings(items: string[]): GoSlice {
  return new GoSlice("template.Strings", items, STRINGS_METHODS);
}

const PAIRS_METHODS: GoMethods = {
  Names: { params: [], call: (recv) => strings(pairs(recv).map((p) => p[0])) },
  Values: { params: [], call: (recv) => strings(pairs(recv).map((p) => p[1])) },
  String: {
    params: [],
    call: (recv) => pairs(recv).map(([k, v]) => `${k}=${v}`).join(", "),
  },
};

function pairs(recv: GoValue): [string, string][] {
  return (recv as GoSlice).items.map((p) => {
    const f = (p as GoStruct).fields;
    return [f.Name as string, f.Value as string];
  });
}

/** Names in `SortedPairs` order: `alertname` first, then the rest sorted. */
function sortedNames(kv: GoMap): string[] {
  const keys = [...kv.entries.keys()].filter((k) => k !== "alertname").sort();
  return kv.entries.has("alertname") ? ["alertname", ...keys] : keys;
}

const KV_METHODS: GoMethods = {
  SortedPairs: {
    params: [],
    call: (recv) => {
      const kv = recv as GoMap;
      return new GoSlice(
        "template.Pairs",
        sortedNames(kv).map((k) =>
          new GoStruct("template.Pair", { Name: k, Value: kv.entries.get(k) })
        ),
        PAIRS_METHODS,
      );
    },
  },
  Remove: {
    params: ["[]string"],
    call: (recv, [keys]) => {
      const drop = new Set((keys as GoSlice).items as string[]);
      const out: Record<string, string> = {};
      for (const [k, v] of (recv as GoMap).entries) if (!drop.has(k)) out[k] = v as string;
      return kv(out);
    },
  },
  Names: { params: [], call: (recv) => strings(sortedNames(recv as GoMap)) },
  Values: {
    params: [],
    call: (recv) =>
      strings(sortedNames(recv as GoMap).map((k) => (recv as GoMap).entries.get(k) as string)),
  },
  String: {
    params: [],
    call: (recv) =>
      sortedNames(recv as GoMap).map((k) => `${k}=${(recv as GoMap).entries.get(k)}`).join(", "),
  },
};

/** Alertmanager's `KV`: a label or annotation set. */
function kv(obj: Readonly<Record<string, string>>): GoMap {
  return new GoMap("template.KV", new Map(Object.entries(obj)), "", KV_METHODS);
}

/** One alert as notification templates see it; times in ms (0 = Go's zero time). */
export interface NotificationAlertData {
  readonly status: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly generatorURL: string;
  readonly fingerprint: string;
  /** More fields (Perch's `Value`, `DashboardURL`). */
  readonly extra?: Readonly<Record<string, GoValue>>;
}

/** What a notification template renders (Alertmanager's `Data`). */
export interface NotificationData {
  readonly receiver: string;
  readonly status: string;
  readonly alerts: readonly NotificationAlertData[];
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly commonLabels: Readonly<Record<string, string>>;
  readonly commonAnnotations: Readonly<Record<string, string>>;
  readonly externalURL: string;
  /** More fields (Perch's `GroupKey`). */
  readonly extra?: Readonly<Record<string, GoValue>>;
}

const ALERT_JSON = {
  Status: "status",
  Labels: "labels",
  Annotations: "annotations",
  StartsAt: "startsAt",
  EndsAt: "endsAt",
  GeneratorURL: "generatorURL",
  Fingerprint: "fingerprint",
};

function time(ms: number): GoTime {
  return new GoTime(ms > 0 ? ms : ZERO_TIME_MS, undefined, false);
}

function alertValue(a: NotificationAlertData): GoStruct {
  return new GoStruct(
    "template.Alert",
    {
      Status: a.status,
      Labels: kv(a.labels),
      Annotations: kv(a.annotations),
      StartsAt: time(a.startsAt),
      EndsAt: time(a.endsAt),
      GeneratorURL: a.generatorURL,
      Fingerprint: a.fingerprint,
      ...a.extra,
    },
    undefined,
    ALERT_JSON,
  );
}

function alertsWithStatus(recv: GoValue, status: string): GoSlice {
  const items = (recv as GoSlice).items.filter((a) => (a as GoStruct).fields.Status === status);
  return new GoSlice("[]template.Alert", items);
}

const ALERTS_METHODS: GoMethods = {
  Firing: { params: [], call: (recv) => alertsWithStatus(recv, "firing") },
  Resolved: { params: [], call: (recv) => alertsWithStatus(recv, "resolved") },
};

/** Builds Alertmanager's template data as Go values. */
export function notificationData(d: NotificationData): GoStruct {
  return new GoStruct(
    "*template.Data",
    {
      Receiver: d.receiver,
      Status: d.status,
      Alerts: new GoSlice("template.Alerts", d.alerts.map(alertValue), ALERTS_METHODS),
      GroupLabels: kv(d.groupLabels),
      CommonLabels: kv(d.commonLabels),
      CommonAnnotations: kv(d.commonAnnotations),
      ExternalURL: d.externalURL,
      ...d.extra,
    },
    undefined,
    {
      Receiver: "receiver",
      Status: "status",
      Alerts: "alerts",
      GroupLabels: "groupLabels",
      CommonLabels: "commonLabels",
      CommonAnnotations: "commonAnnotations",
      ExternalURL: "externalURL",
    },
  );
}

function nowMs(e: unknown): number {
  return (e as NotificationEnv | undefined)?.now ?? Date.now();
}

/** Go's `url.QueryUnescape`. */
function queryUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "%") {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) {
        throw new FnError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      }
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (c === "+") bytes.push(0x20);
    else {
      // One code point at a time: a surrogate pair encoded half by half would be two U+FFFD.
      const ch = String.fromCodePoint(s.codePointAt(i)!);
      bytes.push(...ENC.encode(ch));
      i += ch.length - 1;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function base64Decode(s: string): string {
  const at = /[^A-Za-z0-9_\-=]/.exec(s);
  if (at || s.length % 4 !== 0 || /=[^=]/.test(s)) {
    const i = at ? at.index : s.length - (s.length % 4 || 4);
    throw new FnError(`illegal base64 data at input byte ${i}`);
  }
  const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

function base64Encode(s: string): string {
  const bytes = ENC.encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_");
}

function parseTime(layout: string, s: string): GoTime {
  const t = parseLayout(layout, s);
  return new GoTime(t.ms, t.zone, false);
}

const ANY_SLICE = "[]interface {}";

/** Alertmanager's template functions, besides Go's predefined ones. */
const ALERTMANAGER_FUNCS: FuncMap = {
  ...GO_FUNCS,
  ...COMMON_FUNCS,
  title: { params: ["string"], call: ([s]) => titleCase(s as string, true) },
  trimSpace: { params: ["string"], call: ([s]) => trimSpace(s as string) },
  join: {
    params: ["string", "[]string"],
    call: ([sep, list]) => (list as GoSlice).items.join(sep as string),
  },
  safeUrl: { params: ["string"], call: ([s]) => new GoString("template.URL", s as string) },
  urlUnescape: { params: ["string"], call: ([s]) => queryUnescape(s as string) },
  stringSlice: { params: [], variadic: "string", call: (a) => new GoSlice("[]string", a) },
  routeLabels: { params: ["string"], call: () => "" },
  date: {
    params: ["string", "time"],
    call: ([f, t]) => formatLayout((t as GoTime).ms, (t as GoTime).zone, f as string),
  },
  tz: {
    params: ["string", "time"],
    call: ([name, t]) => {
      const ms = (t as GoTime).ms;
      try {
        return new GoTime(ms, zoneAt(name as string, ms), false);
      } catch (e) {
        throw new FnError((e as Error).message);
      }
    },
  },
  now: { params: [], call: (_a, e) => new GoTime(nowMs(e), undefined, false) },
  since: {
    params: ["time"],
    call: ([t], e) => new GoDuration(BigInt(nowMs(e) - (t as GoTime).ms) * 1_000_000n),
  },
  toDate: {
    params: ["string", "string"],
    call: ([layout, s]) => {
      try {
        return parseTime(layout as string, s as string);
      } catch {
        return new GoTime(ZERO_TIME_MS, undefined, false);
      }
    },
  },
  mustToDate: {
    params: ["string", "string"],
    call: ([layout, s]) => {
      try {
        return parseTime(layout as string, s as string);
      } catch (e) {
        throw new FnError((e as Error).message);
      }
    },
  },
  toJson: { params: ["any"], call: ([v]) => marshalJson(v) },
  base64encode: { params: ["string"], call: ([s]) => base64Encode(s as string) },
  base64decode: { params: ["string"], call: ([s]) => base64Decode(s as string) },
  list: { params: [], variadic: "any", call: (a) => new GoSlice(ANY_SLICE, a) },
  append: {
    params: ["[]any"],
    variadic: "any",
    call: ([s, ...a]) => new GoSlice(ANY_SLICE, [...(s as GoSlice).items, ...a]),
  },
  dict: {
    params: [],
    variadic: "any",
    call: (a) => {
      if (a.length % 2 !== 0) throw new FnError("dict requires an even number of arguments");
      const m = new Map<string, GoValue>();
      for (let i = 0; i < a.length; i += 2) {
        if (typeof a[i] !== "string") throw new FnError("dict keys must be strings");
        m.set(a[i] as string, a[i + 1]);
      }
      return new GoMap("map[string]interface {}", m, null);
    },
  },
  // Perch's: Prometheus's humanize (Alertmanager has none).
  humanize: { params: ["any"], call: ([v]) => humanize(toFloat(v)) },
};

const NOTIFICATION_DIALECT: Dialect = { funcs: ALERTMANAGER_FUNCS, defines: true };

/** Parses a notification template (or a template file of `define`s); throws `TemplateParseError`. */
export function parseNotificationTemplate(source: string): Template {
  return parseTemplate(source, NOTIFICATION_DIALECT);
}

/** How to render a notification template. */
export interface NotificationRenderOptions extends NotificationEnv {
  /** Escape printed values for HTML (an email body), except `safeHtml` ones. */
  readonly html?: boolean;
  /** Named templates (`templates` files, built-in defaults) `{{ template }}` may call. */
  readonly lookup?: (name: string) => Template | undefined;
}

/** Renders a parsed notification template; throws {@linkcode TemplateRenderError}. */
export function renderNotificationTemplate(
  t: Template,
  data: GoValue,
  o: NotificationRenderOptions = {},
): string {
  try {
    return execute(t, {
      funcs: ALERTMANAGER_FUNCS,
      data,
      env: { now: o.now },
      html: o.html,
      lookup: o.lookup,
    });
  } catch (e) {
    if (e instanceof TemplateRenderError) throw e;
    throw new TemplateRenderError(e instanceof Error ? e.message : String(e));
  }
}
