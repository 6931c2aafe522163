import assert from "node:assert/strict";
import { compileTimeInterval, intervalContains, type RawTimeInterval } from "./time_intervals.ts";

function ti(raw: RawTimeInterval) {
  const errors: string[] = [];
  const c = compileTimeInterval(raw, errors);
  assert.deepEqual(errors, []);
  return c;
}

Deno.test("intervalContains() checks business hours on weekdays in UTC", () => {
  const biz = ti({
    times: [{ start_time: "09:00", end_time: "17:00" }],
    weekdays: ["monday:friday"],
  });
  assert.ok(intervalContains(biz, Date.parse("2024-01-01T09:00:00Z"))); // Monday
  assert.ok(!intervalContains(biz, Date.parse("2024-01-01T17:00:00Z")), "end is exclusive");
  assert.ok(!intervalContains(biz, Date.parse("2024-01-06T10:00:00Z")), "Saturday");
});

Deno.test("intervalContains() honours an IANA location", () => {
  const berlin = ti({
    times: [{ start_time: "09:00", end_time: "10:00" }],
    location: "Europe/Berlin",
  });
  assert.ok(intervalContains(berlin, Date.parse("2024-01-01T08:30:00Z")), "09:30 CET");
  assert.ok(!intervalContains(berlin, Date.parse("2024-07-01T08:30:00Z")), "10:30 CEST");
});

Deno.test("intervalContains() handles months, negative days of month and years", () => {
  const t = ti({ months: ["february"], days_of_month: ["-1"], years: ["2024"] });
  assert.ok(intervalContains(t, Date.parse("2024-02-29T12:00:00Z")));
  assert.ok(!intervalContains(t, Date.parse("2024-02-28T12:00:00Z")));
  assert.ok(!intervalContains(t, Date.parse("2025-02-28T12:00:00Z")));
});
