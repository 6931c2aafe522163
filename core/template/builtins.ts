/**
 * Go's predefined template functions (`and or not len index slice print
 * printf println html js urlquery eq ne lt le gt ge`), common to every
 * dialect, with Go's typing: `1` is an int and `1.0` a float64, so
 * `gt 1.5 1` fails with "incompatible types for comparison" as in Go.
 *
 * @module
 */
import { FnError } from "./errors.ts";
import { type FuncMap, htmlEscape } from "./exec.ts";
import { sprint, sprintf } from "./go_fmt.ts";
import { ENC, jsEscape, queryEscape } from "./text.ts";
import {
  basicValue,
  formatGoValue,
  GoMap,
  GoSlice,
  GoString,
  goTypeName,
  type GoValue,
  type Kind,
  kindOf,
  truth,
} from "./value.ts";

function eq(a: GoValue, rest: GoValue[]): boolean {
  if (rest.length === 0) throw new FnError("missing argument for comparison");
  const k1 = kindOf(a);
  for (const b of rest) {
    const k2 = kindOf(b);
    let t = false;
    if (k1 !== k2) {
      if (k1 !== "invalid" && k2 !== "invalid") {
        throw new FnError("incompatible types for comparison");
      }
    } else if (k1 === "map" || k1 === "slice") {
      throw new FnError(`non-comparable type ${formatGoValue(a)}: ${goTypeName(a)}`);
    } else t = k1 === "invalid" || basicValue(a) === basicValue(b);
    if (t) return true;
  }
  return false;
}

function lt(a: GoValue, b: GoValue): boolean {
  const k1 = kindOf(a), k2 = kindOf(b);
  const basic = (k: Kind) => k === "int" || k === "float" || k === "string" || k === "bool";
  if (!basic(k1) || !basic(k2)) throw new FnError("invalid type for comparison");
  if (k1 !== k2) throw new FnError("incompatible types for comparison");
  if (k1 === "bool") throw new FnError("invalid type for comparison");
  return (basicValue(a) as number) < (basicValue(b) as number);
}

/** A string's bytes as Go indexes them. */
function byteLength(s: string): number {
  return ENC.encode(s).length;
}

/** Go's predefined functions (`and`/`or` are short-circuited by the evaluator). */
export const GO_FUNCS: FuncMap = {
  and: { params: ["any"], variadic: "any", call: () => undefined },
  or: { params: ["any"], variadic: "any", call: () => undefined },
  not: { params: ["any"], call: ([v]) => !truth(v) },
  len: {
    params: ["any"],
    call: ([v]) => {
      if (typeof v === "string") return BigInt(byteLength(v));
      if (v instanceof GoString) return BigInt(byteLength(v.value));
      if (v instanceof GoSlice) return BigInt(v.items.length);
      if (v instanceof GoMap) return BigInt(v.entries.size);
      throw new FnError(`len of type ${goTypeName(v)}`);
    },
  },
  index: {
    params: ["any"],
    variadic: "any",
    call: ([item, ...idx]) => {
      if (item === null || item === undefined) throw new FnError("index of untyped nil");
      for (const k of idx) {
        if (item instanceof GoString) item = item.value;
        if (item instanceof GoSlice || typeof item === "string") {
          if (typeof k !== "bigint") {
            throw new FnError(`cannot index slice/array with type ${goTypeName(k)}`);
          }
          const len = typeof item === "string" ? byteLength(item) : item.items.length;
          if (k < 0n || k >= BigInt(len)) throw new FnError(`index out of range: ${k}`);
          item = typeof item === "string"
            ? BigInt(ENC.encode(item)[Number(k)]!)
            : item.items[Number(k)];
        } else if (item instanceof GoMap) {
          if (typeof k !== "string") {
            throw new FnError(`value has type ${goTypeName(k)}; should be string`);
          }
          item = item.entries.has(k) ? item.entries.get(k) : item.zero;
        } else if (item === null) throw new FnError("index of nil pointer");
        else throw new FnError(`can't index item of type ${goTypeName(item)}`);
      }
      return item;
    },
  },
  slice: {
    params: ["any"],
    variadic: "any",
    call: ([item, ...idx]) => {
      if (typeof item !== "string" && !(item instanceof GoSlice)) {
        throw new FnError(`can't slice item of type ${goTypeName(item)}`);
      }
      if (idx.length > (typeof item === "string" ? 2 : 3)) {
        throw new FnError(`too many slice indexes: ${idx.length}`);
      }
      const len = typeof item === "string" ? item.length : item.items.length;
      const ix = idx.map((k) => {
        if (typeof k !== "bigint") {
          throw new FnError(`cannot index slice/array with type ${goTypeName(k)}`);
        }
        if (k < 0n || k > BigInt(len)) throw new FnError(`index out of range: ${k}`);
        return Number(k);
      });
      const [lo = 0, hi = len] = ix;
      if (lo > hi) throw new FnError(`invalid slice index: ${lo} > ${hi}`);
      return typeof item === "string"
        ? item.slice(lo, hi)
        : new GoSlice(item.type, item.items.slice(lo, hi), item.methods);
    },
  },
  print: { params: [], variadic: "any", call: (a) => sprint(a) },
  println: {
    params: [],
    variadic: "any",
    call: (a) => a.map((v) => formatGoValue(v)).join(" ") + "\n",
  },
  printf: { params: ["string"], variadic: "any", call: ([f, ...a]) => sprintf(f as string, a) },
  html: { params: [], variadic: "any", call: (a) => htmlEscape(sprint(a)) },
  js: { params: [], variadic: "any", call: (a) => jsEscape(sprint(a)) },
  urlquery: { params: [], variadic: "any", call: (a) => queryEscape(sprint(a)) },
  eq: { params: ["any"], variadic: "any", call: ([a, ...b]) => eq(a, b) },
  ne: { params: ["any", "any"], call: ([a, b]) => !eq(a, [b]) },
  lt: { params: ["any", "any"], call: ([a, b]) => lt(a, b) },
  le: { params: ["any", "any"], call: ([a, b]) => lt(a, b) || eq(a, [b]) },
  gt: { params: ["any", "any"], call: ([a, b]) => !(lt(a, b) || eq(a, [b])) },
  ge: { params: ["any", "any"], call: ([a, b]) => !lt(a, b) },
};
