/**
 * Go's `time` package as templates print and read it: `Time.String()`,
 * `Time.Format(layout)`, `time.ParseInLocation(layout, s, UTC)`,
 * `Duration.String()`, and zones by IANA name (`time.LoadLocation`, from the
 * runtime's time-zone data). Times have millisecond precision.
 *
 * @module
 */
import { formatG } from "../model/mod.ts";

/** A zone: the name Go prints (`UTC`, `CET`; empty for a bare offset) and seconds east of UTC. */
export interface Zone {
  readonly name: string;
  readonly offset: number;
}

const UTC: Zone = { name: "UTC", offset: 0 };

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Go's reference layout of `Time.String()`. */
const STRING_LAYOUT = "2006-01-02 15:04:05.999999999 -0700 MST";

/** `Time.String()` of an instant in ms (`2015-06-23 13:19:44.128 +0000 UTC`). */
export function formatGoTime(ms: number, zone: Zone = UTC): string {
  return formatLayout(ms, zone, STRING_LAYOUT);
}

/** `Date.UTC` without its mapping of years 0-99 to 1900-1999. */
function utcDay(y: number, m: number, d: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, m, d);
  return t.getTime();
}

function pad(n: number, width: number, fill = "0"): string {
  return String(n).padStart(width, fill);
}

function year(y: number): string {
  return y < 0 ? "-" + pad(-y, 4) : pad(y, 4);
}

/** Layout elements, longest first where one is a prefix of another. */
const CHUNKS = [
  "January",
  "Jan",
  "Monday",
  "Mon",
  "MST",
  "2006",
  "002",
  "01",
  "02",
  "03",
  "04",
  "05",
  "06",
  "15",
  "__2",
  "_2",
  "1",
  "2",
  "3",
  "4",
  "5",
  "PM",
  "pm",
  "-07:00:00",
  "-070000",
  "-07:00",
  "-0700",
  "-07",
  "Z07:00:00",
  "Z070000",
  "Z07:00",
  "Z0700",
  "Z07",
];

/** Splits a layout into literal text and elements (a fraction is `.000`/`,999`...). */
function chunks(layout: string): { std: boolean; s: string }[] {
  const out: { std: boolean; s: string }[] = [];
  let lit = "";
  let i = 0;
  while (i < layout.length) {
    const c = layout[i]!;
    if ((c === "." || c === ",") && (layout[i + 1] === "0" || layout[i + 1] === "9")) {
      const d = layout[i + 1]!;
      let j = i + 1;
      while (layout[j] === d) j++;
      if (!/[0-9]/.test(layout[j] ?? "")) {
        if (lit) out.push({ std: false, s: lit });
        lit = "";
        out.push({ std: true, s: layout.slice(i, j) });
        i = j;
        continue;
      }
    }
    const m = CHUNKS.find((k) => layout.startsWith(k, i));
    // `_2006` is `_` then a year; `2006` after `_` must not read as `_2`.
    const chunk = m === "_2" && layout.startsWith("_2006", i) ? undefined : m;
    if (chunk) {
      if (lit) out.push({ std: false, s: lit });
      lit = "";
      out.push({ std: true, s: chunk });
      i += chunk.length;
    } else {
      lit += c;
      i++;
    }
  }
  if (lit) out.push({ std: false, s: lit });
  return out;
}

function offsetText(offset: number, colon: boolean, seconds: boolean, z: boolean): string {
  if (z && offset === 0) return "Z";
  const sign = offset < 0 ? "-" : "+";
  const a = Math.abs(offset);
  const h = pad(Math.floor(a / 3600), 2);
  const m = pad(Math.floor(a / 60) % 60, 2);
  const s = pad(a % 60, 2);
  const sep = colon ? ":" : "";
  return sign + h + sep + m + (seconds ? sep + s : "");
}

/** Go's `Time.Format(layout)` of an instant in ms in `zone`. */
export function formatLayout(ms: number, zone: Zone, layout: string): string {
  const t = new Date(ms + zone.offset * 1000);
  const y = t.getUTCFullYear(), mo = t.getUTCMonth(), d = t.getUTCDate();
  const h = t.getUTCHours(), mi = t.getUTCMinutes(), s = t.getUTCSeconds();
  const nanos = (((ms % 1000) + 1000) % 1000) * 1e6;
  const yday = Math.round((utcDay(y, mo, d) - utcDay(y, 0, 1)) / 86400000) + 1;
  let out = "";
  for (const c of chunks(layout)) {
    if (!c.std) {
      out += c.s;
      continue;
    }
    switch (c.s) {
      case "January":
        out += MONTHS[mo];
        break;
      case "Jan":
        out += MONTHS[mo]!.slice(0, 3);
        break;
      case "Monday":
        out += DAYS[t.getUTCDay()];
        break;
      case "Mon":
        out += DAYS[t.getUTCDay()]!.slice(0, 3);
        break;
      case "MST":
        out += zone.name !== "" ? zone.name : offsetText(zone.offset, false, false, false);
        break;
      case "2006":
        out += year(y);
        break;
      case "06":
        out += pad(((y % 100) + 100) % 100, 2);
        break;
      case "01":
        out += pad(mo + 1, 2);
        break;
      case "1":
        out += mo + 1;
        break;
      case "02":
        out += pad(d, 2);
        break;
      case "_2":
        out += pad(d, 2, " ");
        break;
      case "2":
        out += d;
        break;
      case "002":
        out += pad(yday, 3);
        break;
      case "__2":
        out += pad(yday, 3, " ");
        break;
      case "15":
        out += pad(h, 2);
        break;
      case "03":
        out += pad(h % 12 || 12, 2);
        break;
      case "3":
        out += h % 12 || 12;
        break;
      case "04":
        out += pad(mi, 2);
        break;
      case "4":
        out += mi;
        break;
      case "05":
        out += pad(s, 2);
        break;
      case "5":
        out += s;
        break;
      case "PM":
        out += h >= 12 ? "PM" : "AM";
        break;
      case "pm":
        out += h >= 12 ? "pm" : "am";
        break;
      default:
        if (c.s[0] === "-" || c.s[0] === "Z") {
          out += offsetText(zone.offset, c.s.includes(":"), c.s.length >= 7, c.s[0] === "Z");
        } else {
          // Fraction: `.000` keeps its digits, `.999` drops trailing zeros (and the dot).
          const digits = pad(nanos, 9).slice(0, c.s.length - 1);
          if (c.s[1] === "0") out += c.s[0] + digits;
          else {
            const trimmed = digits.replace(/0+$/, "");
            if (trimmed) out += c.s[0] + trimmed;
          }
        }
    }
  }
  return out;
}

/** Go's `time.ParseInLocation(layout, value, time.UTC)`; throws an Error with Go's message. */
export function parseLayout(layout: string, value: string): { ms: number; zone: Zone } {
  const fail = (elem: string, rest: string, extra = ""): never => {
    throw new Error(
      `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${
        JSON.stringify(rest)
      } as ${JSON.stringify(elem)}${extra}`,
    );
  };
  let rest = value;
  let y = 1, mo = 1, d = 1, h = 0, mi = 0, s = 0, ms = 0, yday = -1;
  let pm: boolean | undefined;
  let zone: Zone | undefined;
  const num = (elem: string, min: number, max: number): number => {
    const m = new RegExp(`^[0-9]{${min},${max}}`).exec(rest);
    if (!m) fail(elem, rest);
    rest = rest.slice(m![0].length);
    return Number(m![0]);
  };
  const word = (elem: string, list: string[], short: boolean): number => {
    const i = list.findIndex((w) =>
      rest.toLowerCase().startsWith((short ? w.slice(0, 3) : w).toLowerCase())
    );
    if (i < 0) fail(elem, rest);
    rest = rest.slice(short ? 3 : list[i]!.length);
    return i;
  };
  const offset = (elem: string): Zone => {
    if (elem[0] === "Z" && rest[0] === "Z") {
      rest = rest.slice(1);
      return UTC;
    }
    const colon = elem.includes(":");
    const secs = elem.length >= 7;
    const short = elem.endsWith("07");
    const re = short
      ? /^([+-])(\d\d)/
      : colon
      ? (secs ? /^([+-])(\d\d):(\d\d):(\d\d)/ : /^([+-])(\d\d):(\d\d)/)
      : (secs ? /^([+-])(\d\d)(\d\d)(\d\d)/ : /^([+-])(\d\d)(\d\d)/);
    const m = re.exec(rest);
    if (!m) return fail(elem, rest);
    rest = rest.slice(m[0].length);
    const off = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
    return { name: "", offset: m[1] === "-" ? -off : off };
  };
  for (const c of chunks(layout)) {
    if (!c.std) {
      if (!rest.startsWith(c.s)) fail(c.s, rest);
      rest = rest.slice(c.s.length);
      continue;
    }
    switch (c.s) {
      case "2006":
        y = num(c.s, 4, 4);
        break;
      case "06": {
        const v = num(c.s, 2, 2);
        y = v >= 69 ? 1900 + v : 2000 + v;
        break;
      }
      case "January":
        mo = word(c.s, MONTHS, false) + 1;
        break;
      case "Jan":
        mo = word(c.s, MONTHS, true) + 1;
        break;
      case "Monday":
        word(c.s, DAYS, false);
        break;
      case "Mon":
        word(c.s, DAYS, true);
        break;
      case "01":
        mo = num(c.s, 2, 2);
        break;
      case "1":
        mo = num(c.s, 1, 2);
        break;
      case "02":
        d = num(c.s, 2, 2);
        break;
      case "_2":
        if (rest[0] === " ") rest = rest.slice(1);
        d = num(c.s, 1, 2);
        break;
      case "2":
        d = num(c.s, 1, 2);
        break;
      case "002":
        yday = num(c.s, 3, 3);
        break;
      case "__2":
        rest = rest.replace(/^ {0,2}/, "");
        yday = num(c.s, 1, 3);
        break;
      case "15":
        h = num(c.s, 1, 2);
        break;
      case "03":
        h = num(c.s, 2, 2);
        break;
      case "3":
        h = num(c.s, 1, 2);
        break;
      case "04":
        mi = num(c.s, 2, 2);
        break;
      case "4":
        mi = num(c.s, 1, 2);
        break;
      case "05":
        s = num(c.s, 2, 2);
        break;
      case "5":
        s = num(c.s, 1, 2);
        break;
      case "PM":
      case "pm": {
        const m = /^(AM|PM)/i.exec(rest);
        if (!m) fail(c.s, rest);
        pm = m![1]!.toUpperCase() === "PM";
        rest = rest.slice(2);
        break;
      }
      case "MST": {
        const m = /^(?:UTC|GMT|[A-Z]{3,5})/.exec(rest);
        if (!m) fail(c.s, rest);
        rest = rest.slice(m![0].length);
        zone = m![0] === "UTC" || m![0] === "GMT" ? UTC : { name: m![0], offset: 0 };
        break;
      }
      default:
        if (c.s[0] === "-" || c.s[0] === "Z") zone = offset(c.s);
        else {
          const m = new RegExp(`^[.,](\\d{${c.s[1] === "0" ? c.s.length - 1 : "1,9"}})`)
            .exec(rest);
          if (!m) {
            if (c.s[1] === "9") break;
            fail(c.s, rest);
          }
          rest = rest.slice(m![0].length);
          ms = Math.floor(Number(m![1]!.padEnd(9, "0")) / 1e6);
        }
    }
  }
  // A layout without a fraction still accepts one right after the seconds (as Go does).
  const frac = /^[.,](\d+)/.exec(rest);
  if (frac && /05|5/.test(layout)) {
    rest = rest.slice(frac[0].length);
    ms = Math.floor(Number(frac[1]!.slice(0, 9).padEnd(9, "0")) / 1e6);
  }
  if (rest !== "") {
    throw new Error(
      `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: extra text: ${
        JSON.stringify(rest)
      }`,
    );
  }
  if (pm !== undefined) {
    if (h < 1 || h > 12) fail("15", String(h), ": hour out of range");
    if (pm && h < 12) h += 12;
    else if (!pm && h === 12) h = 0;
  }
  const range = (what: string, v: number, lo: number, hi: number) => {
    if (v < lo || v > hi) {
      throw new Error(
        `parsing time ${JSON.stringify(value)}: ${what} out of range`,
      );
    }
  };
  range("month", mo, 1, 12);
  range("hour", h, 0, 23);
  range("minute", mi, 0, 59);
  range("second", s, 0, 59);
  if (yday >= 0) {
    const t = new Date(utcDay(y, 0, yday));
    mo = t.getUTCMonth() + 1;
    d = t.getUTCDate();
  }
  const day = utcDay(y, mo - 1, d);
  if (new Date(day).getUTCDate() !== d) range("day", 0, 1, 0);
  const z = zone ?? UTC;
  return { ms: day + ((h * 60 + mi) * 60 + s) * 1000 + ms - z.offset * 1000, zone: z };
}

/** Go's `Duration.String()` (`1h2m3.5s`, `1.5ms`, `0s`). */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  const frac = (v: bigint, prec: number): [string, bigint] => {
    const p = 10n ** BigInt(prec);
    const f = (v % p).toString().padStart(prec, "0").replace(/0+$/, "");
    return [f ? "." + f : "", v / p];
  };
  let out: string;
  if (u < 1_000_000_000n) {
    const [prec, unit] = u < 1000n ? [0, "ns"] : u < 1_000_000n ? [3, "µs"] : [6, "ms"];
    const [f, int] = frac(u, prec);
    out = `${int}${f}${unit}`;
  } else {
    const [f, secs] = frac(u, 9);
    u = secs;
    out = `${u % 60n}${f}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? "-" + out : out;
}

/** A zone's formatters: its UTC offset, and its abbreviation in the locales tried in turn. */
interface ZoneFormats {
  readonly offset: Intl.DateTimeFormat;
  readonly short: readonly Intl.DateTimeFormat[];
}

/** Formatters by zone name, built once each (a formatter is costly to build and holds ICU memory). */
const zoneCache = new Map<string, ZoneFormats | Error>();

/**
 * The zone `name` (IANA, `UTC`, `Local`) in force at `ms`, as Go's
 * `time.LoadLocation` + `Time.In` would print it; throws Go's message for an
 * unknown name. Abbreviations come from the runtime's locale data
 * (`CET`, `EST`), or the offset (`+03`) where it has none.
 */
export function zoneAt(name: string, ms: number): Zone {
  if (name === "" || name === "UTC") return UTC;
  let f = zoneCache.get(name);
  if (!f) {
    const timeZone = name === "Local" ? undefined : name;
    try {
      f = {
        offset: new Intl.DateTimeFormat("en-US", {
          timeZone,
          timeZoneName: "longOffset",
          year: "numeric",
        }),
        short: ["en-US", "en-GB"].map((locale) =>
          new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: "short" })
        ),
      };
    } catch {
      f = new Error(`unknown time zone ${name}`);
    }
    if (zoneCache.size > 100) zoneCache.clear();
    zoneCache.set(name, f);
  }
  if (f instanceof Error) throw f;
  const part = zoneName(f.offset, ms) ?? "GMT";
  const m = /GMT([+-])(\d\d):(\d\d)/.exec(part);
  const offset = m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60) : 0;
  return { name: abbreviation(f.short, ms, offset), offset };
}

function zoneName(f: Intl.DateTimeFormat, ms: number): string | undefined {
  return f.formatToParts(ms).find((p) => p.type === "timeZoneName")?.value;
}

function abbreviation(
  formats: readonly Intl.DateTimeFormat[],
  ms: number,
  offset: number,
): string {
  for (const f of formats) {
    const short = zoneName(f, ms);
    if (short && !/^(GMT|UTC)[+-]/.test(short)) {
      return short === "GMT" && offset === 0 ? "GMT" : short;
    }
  }
  // Go's zone data names such zones by their offset: `+03`, `-0930`.
  const sign = offset < 0 ? "-" : "+";
  const a = Math.abs(offset);
  const h = pad(Math.floor(a / 3600), 2), m = Math.floor(a / 60) % 60;
  return sign + h + (m ? pad(m, 2) : "");
}

/**
 * Prometheus's `floatToTime`: seconds -> ms as `model.TimeFromUnixNano(int64(v·1e9))`
 * (truncated to the millisecond). Undefined for NaN/±Inf; throws a RangeError
 * when `v·1e9` overflows int64.
 */
export function secondsToMs(v: number): number | undefined {
  if (!Number.isFinite(v)) return undefined;
  const ns = v * 1e9;
  if (ns >= 9223372036854775807 || ns < -9223372036854775808) {
    throw new RangeError(
      `${formatG(v)} cannot be represented as a nanoseconds timestamp since it overflows int64`,
    );
  }
  // int64(ns) truncates toward zero; /1e6 in Go's integer division truncates again.
  return Number(BigInt(Math.trunc(ns)) / 1000000n);
}
