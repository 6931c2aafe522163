/**
 * Go's string, URL and regexp helpers as the template functions use them:
 * `url.QueryEscape`, `strings.ToUpper`/`ToLower`/`Title`/`TrimSpace`,
 * `net.SplitHostPort`, `net.ParseIP`, and RE2 matching and `ReplaceAllString`
 * (re2js).
 *
 * @module
 */
import { RE2JS } from "re2js";
import { expandRegexp } from "../model/mod.ts";
import { FnError } from "./errors.ts";

export const ENC = new TextEncoder();

/** Go's `url.QueryEscape`. */
export function queryEscape(s: string): string {
  let out = "";
  for (const b of ENC.encode(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

export function jsEscape(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\" || ch === "'" || ch === '"') out += "\\" + ch;
    else if ("<>&=".includes(ch) || cp < 0x20) {
      out += "\\u" + cp.toString(16).toUpperCase().padStart(4, "0");
    } else out += ch;
  }
  return out;
}

/** Go's `net.SplitHostPort`; undefined where it fails. */
export function splitHostPort(hp: string): { host: string; port: string } | undefined {
  const i = hp.lastIndexOf(":");
  if (i < 0) return undefined;
  let host: string;
  if (hp[0] === "[") {
    const end = hp.indexOf("]");
    if (end < 0 || end + 1 !== i) return undefined;
    host = hp.slice(1, end);
    if (host.includes("[") || host.includes("]")) return undefined;
  } else {
    host = hp.slice(0, i);
    if (host.includes(":") || host.includes("[") || host.includes("]")) return undefined;
  }
  const port = hp.slice(i + 1);
  if (port.includes("[") || port.includes("]")) return undefined;
  return { host, port };
}

/** Whether Go's `net.ParseIP` accepts `s`. */
export function isIP(s: string): boolean {
  if (/^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(s)) {
    return true;
  }
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return false;
  const parts = s.split("::");
  if (parts.length > 2) return false;
  const groups = parts.flatMap((p) => (p === "" ? [] : p.split(":")));
  let n = 0;
  for (const [k, g] of groups.entries()) {
    if (k === groups.length - 1 && g.includes(".")) {
      if (!isIP(g) || g.includes(":")) return false;
      n += 2;
    } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) n++;
    else return false;
  }
  return parts.length === 2 ? n < 8 : n === 8;
}

/** Go's `strings.ToUpper`/`ToLower`: simple per-rune case mapping. */
export function mapCase(s: string, upper: boolean): string {
  let out = "";
  for (const ch of s) {
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += [...m].length === 1 ? m : ch;
  }
  return out;
}

/**
 * Title case as `cases.Title(language.AmericanEnglish)` does for common text:
 * the first letter of each word upper, and with `lower` (Alertmanager's
 * `title`; Prometheus's passes `cases.NoLower`) the rest lower.
 */
export function titleCase(s: string, lower = false): string {
  const titled = s.replace(
    /(^|[^\p{L}\p{M}\p{N}_'\u2019.:])(\p{Ll})|((?:^|[^\p{L}\p{M}\p{N}_])[.:'\u2019])(\p{Ll})/gu,
    (_m, p1, c1, p2, c2) => p1 !== undefined ? p1 + mapCase(c1, true) : p2 + mapCase(c2, true),
  );
  if (!lower) return titled;
  // Lower every letter that does not start a word.
  return titled.replace(
    /(?<=[\p{L}\p{M}\p{N}_'\u2019])(\p{Lu}+)/gu,
    (m) => mapCase(m, false),
  );
}

/** Go's `strings.TrimSpace` (Unicode white space; not U+FEFF, which JavaScript's `trim` takes). */
export function trimSpace(s: string): string {
  return s.replace(
    /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g,
    "",
  );
}

const RE_CACHE = new Map<string, RE2JS | Error>();

export function compileRegexp(pattern: string): RE2JS {
  let re = RE_CACHE.get(pattern);
  if (!re) {
    try {
      re = RE2JS.compile(pattern);
    } catch (e) {
      re = new Error(`error parsing regexp: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (RE_CACHE.size >= 256) RE_CACHE.clear();
    RE_CACHE.set(pattern, re);
  }
  if (re instanceof Error) throw new FnError(re.message);
  return re;
}

/** Go's `Regexp.ReplaceAllString`. */
export function replaceAll(re: RE2JS, src: string, repl: string): string {
  const m = re.matcher(src);
  const named = re.namedGroups();
  const groups = re.groupCount();
  const group = (i: number) => (i <= groups ? m.group(i) ?? "" : "");
  const byName = (name: string) => (name in named ? group(named[name]!) : undefined);
  let out = "";
  let lastEnd = 0;
  let pos = 0;
  while (pos <= src.length) {
    if (!m.find(pos)) break;
    const a0 = m.start(), a1 = m.end();
    out += src.slice(lastEnd, a0);
    // An empty match right after a match is not replaced (Go's rule).
    if (a1 > lastEnd || a0 === 0) out += expandRegexp(repl, group, byName);
    lastEnd = a1;
    const cp = src.codePointAt(pos);
    const width = cp !== undefined && cp > 0xffff ? 2 : 1;
    if (pos + width > a1) pos += width;
    else if (pos + 1 > a1) pos++;
    else pos = a1;
  }
  return out + src.slice(lastEnd);
}

export function pathOf(url: string): string {
  const m = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?(?:\/\/[^/?#]*)?([^?#]*)/.exec(url);
  const p = m?.[1] ?? "";
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}
