/**
 * Go values as templates see them. A template's data is a tree of these;
 * each knows its Go type name (for `%T` and messages) and may carry methods,
 * which a field chain calls as Go's `text/template` does (`.Alerts.Firing`,
 * `.Labels.SortedPairs`, `.GroupLabels.Values.Join ","`).
 *
 * Plain JavaScript values map as: string -> `string`, number -> `float64`,
 * bigint -> `int`, boolean -> `bool`, null -> `nil`, undefined -> no value.
 *
 * @module
 */
import { formatGoDuration, formatGoTime } from "./go_time.ts";
import { formatG } from "../model/mod.ts";

/** A method of a Go type: parameters as for functions; `recv` is the value it is called on. */
export interface GoMethod {
  readonly params: readonly ParamType[];
  readonly variadic?: ParamType;
  call(recv: GoValue, args: GoValue[]): GoValue;
}

/** Methods by name; `String` makes the value a `fmt.Stringer`. */
export type GoMethods = Readonly<Record<string, GoMethod>>;

/**
 * A parameter type a function or method declares; arguments are checked
 * against it as Go's reflection would (`samples`, `sample` are Prometheus's
 * `queryResult` and `*sample`).
 */
export type ParamType =
  | "any"
  | "string"
  | "time"
  | "[]string"
  | "[]any"
  | "samples"
  | "sample";

/** A Go map (`map[string]string`, `map[string]interface {}`, Alertmanager's `KV`). */
export class GoMap {
  constructor(
    /** Go type name, for messages and `%T`. */
    readonly type: string,
    readonly entries: ReadonlyMap<string, GoValue>,
    /** What a missing key yields (`missingkey=zero`). */
    readonly zero: GoValue,
    readonly methods?: GoMethods,
  ) {}
}

/** A Go struct (or pointer to one: `type` starts with `*`). */
export class GoStruct {
  constructor(
    readonly type: string,
    readonly fields: Readonly<Record<string, GoValue>>,
    readonly methods?: GoMethods,
    /** Field names as `encoding/json` writes them (the struct's json tags). */
    readonly json?: Readonly<Record<string, string>>,
  ) {}
}

/** A Go slice (`[]string`, Prometheus's `queryResult`, Alertmanager's `Alerts`). */
export class GoSlice {
  constructor(
    readonly type: string,
    readonly items: readonly GoValue[],
    readonly methods?: GoMethods,
  ) {}
}

/** A value of a named string type (`template.HTML`, `template.URL`): a string to Go's `eq` and `len`. */
export class GoString {
  constructor(readonly type: string, readonly value: string) {}
}

/** A `time.Time` (ms precision) in a zone; `pointer` for a `*time.Time`. */
export class GoTime {
  constructor(
    readonly ms: number,
    /** The zone's name as Go prints it (`UTC`, `CET`) and its offset east of UTC in seconds. */
    readonly zone: { readonly name: string; readonly offset: number } = UTC,
    readonly pointer = true,
  ) {}
}

/** A `time.Duration` in ns; `pointer` for a `*time.Duration`. */
export class GoDuration {
  constructor(readonly ns: bigint, readonly pointer = false) {}
}

const UTC = { name: "UTC", offset: 0 } as const;

/**
 * A value in a template: string; number = float64; bigint = int; boolean;
 * null = nil; undefined = no value.
 */
export type GoValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | GoMap
  | GoStruct
  | GoSlice
  | GoString
  | GoTime
  | GoDuration;

/** The HTML-safe string type (`safeHtml`): not escaped by an HTML render. */
export const HTML_TYPE = "template.HTML";

/** The Go type name of a value, as `%T` and error messages print it. */
export function goTypeName(v: GoValue): string {
  if (v === null) return "<nil>";
  if (v === undefined) return "<invalid reflect.Value>";
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
      return "float64";
    case "bigint":
      return "int";
    case "boolean":
      return "bool";
  }
  if (v instanceof GoTime) return v.pointer ? "*time.Time" : "time.Time";
  if (v instanceof GoDuration) return v.pointer ? "*time.Duration" : "time.Duration";
  return v.type;
}

function methodsOf(v: GoValue): GoMethods | undefined {
  if (v instanceof GoMap || v instanceof GoStruct || v instanceof GoSlice) return v.methods;
  return undefined;
}

/** The method `name` of `v`, if its type has one. */
export function methodOf(v: GoValue, name: string): GoMethod | undefined {
  const m = methodsOf(v);
  return m && Object.hasOwn(m, name) ? m[name] : undefined;
}

/** `%v` of a value (fmt's default format; a `String()` method wins, as for a `fmt.Stringer`). */
export function formatGoValue(v: GoValue): string {
  if (v === null) return "<nil>";
  if (v === undefined) return "<invalid reflect.Value>";
  switch (typeof v) {
    case "string":
      return v;
    case "number":
      return formatG(v);
    case "bigint":
    case "boolean":
      return String(v);
  }
  const str = methodOf(v, "String");
  if (str && str.params.length === 0) return formatGoValue(str.call(v, []));
  if (v instanceof GoString) return v.value;
  if (v instanceof GoTime) return formatGoTime(v.ms, v.zone);
  if (v instanceof GoDuration) return formatGoDuration(v.ns);
  if (v instanceof GoMap) {
    const keys = [...v.entries.keys()].sort();
    return `map[${keys.map((k) => `${k}:${formatGoValue(v.entries.get(k))}`).join(" ")}]`;
  }
  if (v instanceof GoStruct) {
    const body = `{${Object.values(v.fields).map((f) => formatGoValue(f)).join(" ")}}`;
    return v.type.startsWith("*") ? "&" + body : body;
  }
  return `[${v.items.map((e) => formatGoValue(e)).join(" ")}]`;
}

/** Go's `text/template` truth: the zero value, empty collections and nil are false. */
export function truth(v: GoValue): boolean {
  if (v === undefined || v === null) return false;
  switch (typeof v) {
    case "string":
      return v.length > 0;
    case "number":
      return v !== 0;
    case "bigint":
      return v !== 0n;
    case "boolean":
      return v;
  }
  if (v instanceof GoMap) return v.entries.size > 0;
  if (v instanceof GoSlice) return v.items.length > 0;
  if (v instanceof GoString) return v.value.length > 0;
  if (v instanceof GoDuration) return v.pointer || v.ns !== 0n;
  return true; // structs (a time.Time too), and non-nil pointers
}

/** reflect.Kind as the comparison functions see it. */
export type Kind = "bool" | "int" | "float" | "string" | "invalid" | "ptr" | "map" | "slice";

export function kindOf(v: GoValue): Kind {
  if (v === undefined || v === null) return "invalid";
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
      return "float";
    case "bigint":
      return "int";
    case "boolean":
      return "bool";
  }
  if (v instanceof GoMap) return "map";
  if (v instanceof GoSlice) return "slice";
  if (v instanceof GoString) return "string";
  if (v instanceof GoDuration && !v.pointer) return "int";
  return "ptr";
}

/** The value a basic kind compares by (`GoString` by its text, a duration by its ns). */
export function basicValue(v: GoValue): string | number | bigint | boolean | GoValue {
  if (v instanceof GoString) return v.value;
  if (v instanceof GoDuration && !v.pointer) return v.ns;
  return v;
}

/** Whether `v` may be passed for a parameter of type `t`. */
export function fitsParam(v: GoValue, t: ParamType): boolean {
  switch (t) {
    case "any":
      return true;
    case "string":
      return typeof v === "string";
    case "time":
      return v instanceof GoTime && !v.pointer;
    case "[]string":
      return v instanceof GoSlice && v.items.every((e) => typeof e === "string") &&
        (v.type === "[]string" || v.type === "template.Strings");
    case "[]any":
      return v instanceof GoSlice && v.type === "[]interface {}";
    case "samples":
      return v instanceof GoSlice && v.type === SAMPLES_TYPE;
    case "sample":
      return v === null || (v instanceof GoStruct && v.type === SAMPLE_TYPE);
  }
}

/** Go type names of the parameter types, for messages. */
export const PARAM_TYPE_NAMES: Readonly<Record<ParamType, string>> = {
  any: "interface {}",
  string: "string",
  time: "time.Time",
  "[]string": "[]string",
  "[]any": "[]interface {}",
  samples: "template.queryResult",
  sample: "*template.sample",
};

/** Prometheus's query result and sample types. */
export const SAMPLES_TYPE = "template.queryResult";
export const SAMPLE_TYPE = "*template.sample";

/**
 * A plain JavaScript value as a Go value: objects become
 * `map[string]interface {}`, arrays `[]interface {}`, a `Date` a `time.Time`;
 * Go values pass unchanged.
 */
export function toGoValue(x: unknown): GoValue {
  if (
    x === undefined || x === null || typeof x === "string" || typeof x === "number" ||
    typeof x === "bigint" || typeof x === "boolean"
  ) return x;
  if (
    x instanceof GoMap || x instanceof GoStruct || x instanceof GoSlice ||
    x instanceof GoString || x instanceof GoTime || x instanceof GoDuration
  ) return x;
  if (x instanceof Date) return new GoTime(x.getTime(), undefined, false);
  if (Array.isArray(x)) return new GoSlice("[]interface {}", x.map(toGoValue));
  if (typeof x === "object") {
    const m = new Map(Object.entries(x).map(([k, v]) => [k, toGoValue(v)]));
    return new GoMap("map[string]interface {}", m, null);
  }
  return String(x);
}
