/**
 * Go's `json.Marshal` of template values, for Alertmanager's `toJson`: maps
 * with sorted keys, structs by their json tags, times in RFC 3339 with
 * nanoseconds, durations as ns, and `<`, `>`, `&` escaped as Go escapes them.
 *
 * @module
 */
import { FnError } from "./errors.ts";
import { formatLayout } from "./go_time.ts";
import { GoDuration, GoMap, GoSlice, GoString, GoStruct, GoTime, type GoValue } from "./value.ts";

function quote(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

/** `json.Marshal(v)` as text; throws {@linkcode FnError} with Go's message for NaN and ±Inf. */
export function marshalJson(v: GoValue): string {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "string":
      return quote(v);
    case "number":
      if (!Number.isFinite(v)) {
        throw new FnError(
          `json: unsupported value: ${v === v ? (v > 0 ? "+Inf" : "-Inf") : "NaN"}`,
        );
      }
      return Object.is(v, -0) ? "-0" : String(v);
    case "bigint":
    case "boolean":
      return String(v);
  }
  if (v instanceof GoString) return quote(v.value);
  if (v instanceof GoDuration) return String(v.ns);
  if (v instanceof GoTime) {
    return quote(formatLayout(v.ms, v.zone, "2006-01-02T15:04:05.999999999Z07:00"));
  }
  if (v instanceof GoMap) {
    const keys = [...v.entries.keys()].sort();
    return `{${keys.map((k) => `${quote(k)}:${marshalJson(v.entries.get(k))}`).join(",")}}`;
  }
  if (v instanceof GoStruct) {
    const fields = Object.entries(v.fields).map(([k, f]) =>
      `${quote(v.json?.[k] ?? k)}:${marshalJson(f)}`
    );
    return `{${fields.join(",")}}`;
  }
  return `[${(v as GoSlice).items.map(marshalJson).join(",")}]`;
}
