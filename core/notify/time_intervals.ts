/**
 * Alertmanager time intervals (`time_intervals[].time_intervals[]`): times of
 * day, weekdays, days of month, months and years, in UTC or an IANA
 * `location` (evaluated through `Intl`). Routes use them as mute or active
 * windows, e.g. business hours.
 *
 * @module
 */

/** One `time_intervals[].time_intervals[]` entry, compiled. Empty lists match everything. */
export interface TimeInterval {
  /** Minute-of-day ranges `[start, end)`. */
  readonly times: readonly (readonly [number, number])[];
  /** Inclusive ranges of 0 (Sunday) .. 6. */
  readonly weekdays: readonly (readonly [number, number])[];
  /** Inclusive ranges; negative counts from the month's end (-1 = last day). */
  readonly daysOfMonth: readonly (readonly [number, number])[];
  /** Inclusive ranges of 1..12. */
  readonly months: readonly (readonly [number, number])[];
  readonly years: readonly (readonly [number, number])[];
  /** IANA zone name, or "UTC". */
  readonly location: string;
}

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

/** Raw YAML shape of one interval entry. */
export interface RawTimeInterval {
  times?: { start_time: string; end_time: string }[];
  weekdays?: string[];
  days_of_month?: string[];
  months?: string[];
  years?: string[];
  location?: string;
}

/** Compiles one interval; problems are pushed as `field: message`. */
export function compileTimeInterval(raw: RawTimeInterval, errors: string[]): TimeInterval {
  const times: [number, number][] = [];
  (raw.times ?? []).forEach((t, i) => {
    const s = clock(t.start_time), e = clock(t.end_time);
    if (s === undefined) errors.push(`times[${i}].start_time: must be HH:MM`);
    if (e === undefined) errors.push(`times[${i}].end_time: must be HH:MM`);
    if (s !== undefined && e !== undefined) {
      if (e <= s) errors.push(`times[${i}].end_time: must be after start_time`);
      else times.push([s, e]);
    }
  });
  const named = (names: string[], offset: number) => (x: string) => {
    const i = names.indexOf(x.toLowerCase());
    return i >= 0 ? i + offset : Number.isInteger(Number(x)) && x !== "" ? Number(x) : undefined;
  };
  const weekdays = ranges(raw.weekdays, "weekdays", named(WEEKDAYS, 0), 0, 6, errors);
  const daysOfMonth = ranges(raw.days_of_month, "days_of_month", num, -31, 31, errors);
  const months = ranges(raw.months, "months", named(MONTHS, 1), 1, 12, errors);
  const years = ranges(raw.years, "years", num, 0, 9999, errors);
  const location = raw.location ?? "UTC";
  if (location !== "UTC" && location !== "Local") {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: location });
    } catch {
      errors.push(`location: unknown time zone ${JSON.stringify(location)}`);
    }
  }
  return {
    times,
    weekdays,
    daysOfMonth,
    months,
    years,
    location: location === "Local" ? "UTC" : location,
  };
}

function num(x: string): number | undefined {
  return /^-?\d+$/.test(x.trim()) ? Number(x) : undefined;
}

function clock(s: string): number | undefined {
  const m = /^(\d{2}):(\d{2})$/.exec(s ?? "");
  if (!m) return undefined;
  const h = Number(m[1]), mi = Number(m[2]);
  if (h > 24 || mi > 59 || (h === 24 && mi !== 0)) return undefined;
  return h * 60 + mi;
}

function ranges(
  list: string[] | undefined,
  field: string,
  parse: (x: string) => number | undefined,
  min: number,
  max: number,
  errors: string[],
): [number, number][] {
  const out: [number, number][] = [];
  (list ?? []).forEach((item, i) => {
    const parts = String(item).split(":");
    const a = parse(parts[0]!.trim()), b = parts.length > 1 ? parse(parts[1]!.trim()) : a;
    if (parts.length > 2 || a === undefined || b === undefined || a < min || b > max || b < min) {
      errors.push(`${field}[${i}]: cannot parse ${JSON.stringify(item)}`);
      return;
    }
    out.push([a, b]);
  });
  return out;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

interface LocalTime {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minute: number;
  daysInMonth: number;
}

function localTime(ms: number, zone: string): LocalTime {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      weekday: "long",
    });
    formatters.set(zone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(new Date(ms))) p[part.type] = part.value;
  const year = Number(p.year), month = Number(p.month);
  return {
    year,
    month,
    day: Number(p.day),
    weekday: WEEKDAYS.indexOf(p.weekday!.toLowerCase()),
    minute: Number(p.hour) * 60 + Number(p.minute),
    daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
}

function inRanges(rs: readonly (readonly [number, number])[], v: number): boolean {
  if (rs.length === 0) return true;
  return rs.some(([a, b]) => v >= a && v <= b);
}

/** True when `ms` falls inside the interval. */
export function intervalContains(ti: TimeInterval, ms: number): boolean {
  const t = localTime(ms, ti.location);
  if (ti.times.length > 0 && !ti.times.some(([s, e]) => t.minute >= s && t.minute < e)) {
    return false;
  }
  if (!inRanges(ti.weekdays, t.weekday)) return false;
  if (!inRanges(ti.months, t.month)) return false;
  if (!inRanges(ti.years, t.year)) return false;
  if (ti.daysOfMonth.length > 0) {
    const ok = ti.daysOfMonth.some(([a, b]) => {
      const lo = a < 0 ? t.daysInMonth + a + 1 : a, hi = b < 0 ? t.daysInMonth + b + 1 : b;
      return t.day >= lo && t.day <= hi;
    });
    if (!ok) return false;
  }
  return true;
}

/** True when any interval of the list contains `ms`. */
export function anyIntervalContains(list: readonly TimeInterval[], ms: number): boolean {
  return list.some((ti) => intervalContains(ti, ms));
}
