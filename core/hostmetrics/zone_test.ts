import assert from "node:assert/strict";
import { loadLocalZone, parsePosixTz } from "./zone.ts";

const ZONEINFO = "/usr/share/zoneinfo";

/** What `date` (glibc) says the zone `tz` is at `s` seconds: abbreviation and offset. */
function dateSays(tz: string, s: number): { name: string; offsetSeconds: number } {
  const out = new Deno.Command("date", { args: ["-d", `@${s}`, "+%Z %::z"], env: { TZ: tz } })
    .outputSync();
  const [name, off] = new TextDecoder().decode(out.stdout).trim().split(" ");
  const [h, m, sec] = off.slice(1).split(":").map(Number);
  return { name, offsetSeconds: (off[0] === "-" ? -1 : 1) * (h * 3600 + m * 60 + sec) };
}

Deno.test("the zone matches glibc's date for zoneinfo files, DST on and off, past the last transition", () => {
  try {
    Deno.statSync(`${ZONEINFO}/Europe/Berlin`);
  } catch {
    throw new Error(`${ZONEINFO} is missing: apt install tzdata (.ci/run installs it)`);
  }
  const times = [
    0, // 1970
    -3e9, // 1874: local mean time, seconds in the offset
    Date.UTC(2024, 2, 31, 0, 59, 59) / 1000, // Berlin: last second of CET
    Date.UTC(2024, 2, 31, 1) / 1000, // Berlin: first second of CEST
    Date.UTC(2024, 6, 1) / 1000,
    Date.UTC(2025, 0, 15) / 1000,
    Date.UTC(2030, 6, 1) / 1000, // after the files' last transition: the footer's rules
    Date.UTC(2100, 0, 1) / 1000,
  ];
  for (
    const tz of ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Australia/Sydney"]
  ) {
    const zone = loadLocalZone(tz);
    for (const s of times) {
      assert.deepEqual({ ...zone(s * 1000) }, dateSays(tz, s), `${tz} at ${s}`);
    }
  }
  const berlin = loadLocalZone(`:${ZONEINFO}/Europe/Berlin`);
  assert.deepEqual(berlin(Date.UTC(2024, 6, 1)), { name: "CEST", offsetSeconds: 7200 });
});

Deno.test("TZ as Go reads it: unset is /etc/localtime, empty or unknown is UTC", () => {
  const read: string[] = [];
  const file = (path: string) => {
    read.push(path);
    return Deno.readFileSync(`${ZONEINFO}/Asia/Kolkata`);
  };
  assert.deepEqual(loadLocalZone(undefined, file)(0), { name: "IST", offsetSeconds: 19800 });
  assert.deepEqual(loadLocalZone("Asia/Kolkata", file)(0).name, "IST");
  assert.deepEqual(read, ["/etc/localtime", `${ZONEINFO}/Asia/Kolkata`]);
  const utc = { name: "UTC", offsetSeconds: 0 };
  assert.deepEqual(loadLocalZone("", file)(0), utc);
  assert.deepEqual(loadLocalZone("UTC", file)(0), utc);
  assert.deepEqual(loadLocalZone("No/Such_Zone")(0), utc);
  assert.deepEqual(loadLocalZone("x", () => new TextEncoder().encode("not a zone file"))(0), utc);
  assert.equal(read.length, 2);
});

Deno.test("POSIX TZ strings: quoted names, southern hemisphere, Julian days, Go's default rules", () => {
  const ms = (y: number, mo: number, d: number, h = 0) => Date.UTC(y, mo - 1, d, h);
  const chatham = parsePosixTz("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45");
  assert.deepEqual(chatham(ms(2030, 1, 1)), { name: "+1345", offsetSeconds: 49500 });
  assert.deepEqual(chatham(ms(2030, 6, 1)), { name: "+1245", offsetSeconds: 45900 });
  // J60 is March 1 even in a leap year; DST from 02:00 March 1 to 02:00 October 1 local.
  const julian = parsePosixTz("XST5XDT,J60,J274");
  assert.equal(julian(ms(2028, 3, 1, 7) - 1).name, "XST");
  assert.equal(julian(ms(2028, 3, 1, 7)).name, "XDT");
  // A DST name without rules: the US rules, one hour ahead.
  const us = parsePosixTz("EST5EDT");
  assert.deepEqual(us(ms(2030, 7, 1)), { name: "EDT", offsetSeconds: -14400 });
  assert.deepEqual(us(ms(2030, 12, 1)), { name: "EST", offsetSeconds: -18000 });
  assert.throws(() => parsePosixTz("5EST"), /bad TZ string/);
});
