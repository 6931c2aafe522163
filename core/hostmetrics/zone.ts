/**
 * The local time zone as node_exporter (Go's `time.Now().Zone()`) reports it:
 * read from the zoneinfo files, not from ICU. `Intl` and V8's local-time
 * `Date` methods answer from ICU's data, which is mapped from the deno binary:
 * a time-zone-name formatter every host pass kept ~2.8 MiB of it resident in
 * an otherwise idle Perch.
 *
 * Which zone, as Go's `initLocal`: `$TZ` unset is `/etc/localtime`; `$TZ`
 * empty or `UTC` is UTC; `$TZ` (without a leading `:`) is an absolute path or
 * a name under `/usr/share/zoneinfo`. A zone file that is missing or not TZif
 * is UTC. Files are TZif (RFC 8536): the 64-bit block of version 2+ (else the
 * 32-bit one) and, after the last transition, the footer's POSIX TZ string.
 *
 * @module
 */

/** A zone's abbreviation and offset east of UTC at one instant. */
export interface ZoneAt {
  readonly name: string;
  readonly offsetSeconds: number;
}

/** The zone in effect at `ms` (ms since the epoch). */
export type LocalZone = (ms: number) => ZoneAt;

const UTC: ZoneAt = { name: "UTC", offsetSeconds: 0 };

/** The process's local zone, read once; see the module doc for the rules. */
export function loadLocalZone(
  tz: string | undefined = Deno.env.get("TZ"),
  readFile: (path: string) => Uint8Array = Deno.readFileSync,
): LocalZone {
  if (tz?.startsWith(":")) tz = tz.slice(1);
  const path = tz === undefined
    ? "/etc/localtime"
    : tz === "" || tz === "UTC"
    ? undefined
    : tz.startsWith("/")
    ? tz
    : `/usr/share/zoneinfo/${tz}`;
  if (path === undefined) return () => UTC;
  try {
    return parseTzif(readFile(path));
  } catch {
    return () => UTC;
  }
}

/** A TZif file as a {@linkcode LocalZone}; throws when it is not TZif. */
export function parseTzif(b: Uint8Array): LocalZone {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (new TextDecoder().decode(b.subarray(0, 4)) !== "TZif") throw new Error("not TZif");
  let at = 0;
  let counts = header(v, at);
  let timeSize = 4;
  if (b[4] >= 0x32) { // version 2+: skip the 32-bit block to the 64-bit one.
    at += 44 + blockSize(counts, 4);
    counts = header(v, at);
    timeSize = 8;
  }
  const [, , , timecnt, typecnt, charcnt] = counts;
  let p = at + 44;
  const times: number[] = [];
  for (let i = 0; i < timecnt; i++, p += timeSize) {
    times.push(timeSize === 8 ? Number(v.getBigInt64(p)) : v.getInt32(p));
  }
  const idx = b.subarray(p, p + timecnt);
  p += timecnt;
  const chars = new TextDecoder().decode(b.subarray(p + 6 * typecnt, p + 6 * typecnt + charcnt));
  const types: ZoneAt[] = [];
  for (let i = 0; i < typecnt; i++, p += 6) {
    const name = chars.slice(b[p + 5], chars.indexOf("\0", b[p + 5]));
    types.push({ name, offsetSeconds: v.getInt32(p) });
  }
  if (types.length === 0) throw new Error("TZif without types");
  let footer: LocalZone | undefined;
  if (timeSize === 8) {
    p = at + 44 + blockSize(counts, 8);
    const text = new TextDecoder().decode(b.subarray(p + 1, b.indexOf(0x0a, p + 1)));
    if (text !== "") footer = parsePosixTz(text);
  }
  return (ms) => {
    const s = Math.floor(ms / 1000);
    if (footer && (times.length === 0 || s >= times[times.length - 1])) return footer(ms);
    let lo = 0, hi = times.length; // first transition after s
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= s) lo = mid + 1;
      else hi = mid;
    }
    return types[lo === 0 ? 0 : idx[lo - 1]] ?? types[0];
  };
}

/** isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt of the header at `at`. */
function header(v: DataView, at: number): number[] {
  return [0, 1, 2, 3, 4, 5].map((i) => v.getUint32(at + 20 + 4 * i));
}

/** Bytes of a data block after its header, with `t`-byte times. */
function blockSize([isut, isstd, leap, time, type, char]: number[], t: number): number {
  return time * t + time + type * 6 + char + leap * (t + 4) + isstd + isut;
}

/** A transition rule of a POSIX TZ string: `Jn`, `n` or `Mm.w.d`, and a time. */
interface Rule {
  readonly kind: "J" | "n" | "M";
  readonly day: number;
  readonly week: number;
  readonly month: number;
  readonly seconds: number;
}

/**
 * A POSIX TZ string (the TZif footer, e.g. `CET-1CEST,M3.5.0,M10.5.0/3`),
 * evaluated as Go's `tzset`: the rules of the instant's UTC year.
 */
export function parsePosixTz(s: string): LocalZone {
  let i = 0;
  const name = () => {
    const m = /^(<[^>]*>|[A-Za-z]+)/.exec(s.slice(i)) ?? fail(s);
    i += m[0].length;
    return m[0].replace(/^<|>$/g, "");
  };
  const clock = () => { // [+-]hh[:mm[:ss]] in seconds
    const m = /^([+-]?)(\d+)(?::(\d+))?(?::(\d+))?/.exec(s.slice(i)) ?? fail(s);
    i += m[0].length;
    const secs = +m[2] * 3600 + +(m[3] ?? 0) * 60 + +(m[4] ?? 0);
    return m[1] === "-" ? -secs : secs;
  };
  const std: ZoneAt = { name: name(), offsetSeconds: -clock() };
  if (i === s.length) return () => std;
  const dstName = name();
  const dst: ZoneAt = {
    name: dstName,
    offsetSeconds: i < s.length && s[i] !== "," ? -clock() : std.offsetSeconds + 3600,
  };
  const rule = (): Rule => {
    const m = /^,(?:J(\d+)|(\d+)|M(\d+)\.(\d+)\.(\d+))/.exec(s.slice(i)) ?? fail(s);
    i += m[0].length;
    const seconds = s[i] === "/" ? (i++, clock()) : 7200;
    if (m[1]) return { kind: "J", day: +m[1], week: 0, month: 0, seconds };
    if (m[2]) return { kind: "n", day: +m[2], week: 0, month: 0, seconds };
    return { kind: "M", month: +m[3], week: +m[4], day: +m[5], seconds };
  };
  // Go's default when a DST name comes without rules: US rules.
  if (i === s.length) s += ",M3.2.0,M11.1.0";
  const start = rule(), end = rule();
  return (ms) => {
    const year = new Date(ms).getUTCFullYear();
    const on = ruleMs(year, start) - std.offsetSeconds * 1000;
    const off = ruleMs(year, end) - dst.offsetSeconds * 1000;
    // Southern hemisphere: DST spans the new year, so the year starts in DST.
    return on < off ? (ms >= on && ms < off ? dst : std) : (ms >= off && ms < on ? std : dst);
  };
}

/** The instant `rule` names in `year`, as if the zone were UTC. */
function ruleMs(year: number, r: Rule): number {
  const jan1 = Date.UTC(year, 0, 1);
  const leap = new Date(Date.UTC(year, 1, 29)).getUTCMonth() === 1;
  let day: number; // days after January 1
  if (r.kind === "J") day = r.day - 1 + (leap && r.day >= 60 ? 1 : 0);
  else if (r.kind === "n") day = r.day;
  else {
    const first = Date.UTC(year, r.month - 1, 1);
    const monthDays = new Date(Date.UTC(year, r.month, 0)).getUTCDate();
    let d = (r.day - new Date(first).getUTCDay() + 7) % 7 + 7 * (r.week - 1);
    while (d >= monthDays) d -= 7;
    day = (first - jan1) / 86400_000 + d;
  }
  return jan1 + day * 86400_000 + r.seconds * 1000;
}

function fail(s: string): never {
  throw new Error(`bad TZ string: ${s}`);
}
