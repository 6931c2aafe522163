/**
 * Functions Prometheus's alert templates and Alertmanager's notification
 * templates both define, the same way: `toUpper toLower match reReplaceAll
 * safeHtml humanizeDuration`.
 *
 * @module
 */
import { FnError } from "./errors.ts";
import type { FuncMap } from "./exec.ts";
import { humanizeDuration, toFloat } from "./humanize.ts";
import { compileRegexp, mapCase, replaceAll } from "./text.ts";
import { GoString, HTML_TYPE } from "./value.ts";

/** The functions both dialects share. */
export const COMMON_FUNCS: FuncMap = {
  toUpper: { params: ["string"], call: ([s]) => mapCase(s as string, true) },
  toLower: { params: ["string"], call: ([s]) => mapCase(s as string, false) },
  match: {
    params: ["string", "string"],
    call: ([p, s]) => compileRegexp(p as string).test(s as string),
  },
  reReplaceAll: {
    params: ["string", "string", "string"],
    call: ([p, r, t]) => {
      let re;
      try {
        re = compileRegexp(p as string);
      } catch (e) {
        throw new FnError(`regexp: Compile(${JSON.stringify(p)}): ${(e as Error).message}`);
      }
      return replaceAll(re, t as string, r as string);
    },
  },
  safeHtml: { params: ["string"], call: ([s]) => new GoString(HTML_TYPE, s as string) },
  humanizeDuration: { params: ["any"], call: ([v]) => humanizeDuration(toFloat(v)) },
};
