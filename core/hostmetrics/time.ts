/**
 * node_exporter's `time` and `timex` collectors: the wall clock, its zone and
 * clocksources, and the kernel's clock discipline (adjtimex).
 *
 * @module
 */
import type { Exposition } from "./exposition.ts";
import type { TimexReading } from "./timex.ts";
import type { LocalZone } from "./zone.ts";
import { type HostPaths, NoDataError, readOptional } from "./_source.ts";

/** `time`: the time `nowMs`, the zone in effect then (`zone`) and the clocksources. */
export function collectTime(
  src: HostPaths,
  out: Exposition,
  nowMs: number,
  zone: LocalZone,
): void {
  out.add(
    "node_time_seconds",
    "System time in seconds since epoch (1970).",
    "gauge",
    nowMs / 1000,
  );
  const { name, offsetSeconds } = zone(nowMs);
  out.add(
    "node_time_zone_offset_seconds",
    "System time zone offset in seconds.",
    "gauge",
    offsetSeconds,
    { time_zone: name },
  );
  const cs = `${src.sys}/devices/system/clocksource`;
  let names: string[] = [];
  try {
    for (const e of Deno.readDirSync(cs)) {
      if (/^clocksource\d+$/.test(e.name)) names.push(e.name);
    }
  } catch {
    return;
  }
  names = names.sort().slice(0, src.max);
  names.forEach((n) => {
    const device = n.slice("clocksource".length);
    const [avail, cur] = [
      readOptional(`${cs}/${n}/available_clocksource`),
      readOptional(`${cs}/${n}/current_clocksource`),
    ];
    for (const c of (avail ?? "").split(/\s+/).filter((s) => s !== "")) {
      out.add(
        "node_time_clocksource_available_info",
        "Available clocksources read from '/sys/devices/system/clocksource'.",
        "gauge",
        1,
        { device, clocksource: c },
      );
    }
    if (cur) {
      out.add(
        "node_time_clocksource_current_info",
        "Current clocksource read from '/sys/devices/system/clocksource'.",
        "gauge",
        1,
        { device, clocksource: cur },
      );
    }
  });
}

/** `timex`: one adjtimex reading; undefined (no adjtimex) is a {@linkcode NoDataError}. */
export function collectTimex(out: Exposition, t: TimexReading | undefined): void {
  if (t === undefined) throw new NoDataError("adjtimex is not available");
  const NANO = 0x2000, TIME_ERROR = 5, PPM16 = 1e6 * 65536;
  const div = (t.status & NANO) !== 0 ? 1e9 : 1e6;
  const g = (name: string, help: string, v: number) =>
    out.add(`node_timex_${name}`, help, "gauge", v);
  const c = (name: string, help: string, v: number) =>
    out.add(`node_timex_${name}`, help, "counter", v);
  g(
    "sync_status",
    "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
    t.state === TIME_ERROR ? 0 : 1,
  );
  g("offset_seconds", "Time offset in between local system and reference clock.", t.offset / div);
  g("frequency_adjustment_ratio", "Local clock frequency adjustment.", 1 + t.freq / PPM16);
  g("maxerror_seconds", "Maximum error in seconds.", t.maxerror / 1e6);
  g("estimated_error_seconds", "Estimated error in seconds.", t.esterror / 1e6);
  g("status", "Value of the status array bits.", t.status);
  g("loop_time_constant", "Phase-locked loop time constant.", t.constant);
  g("tick_seconds", "Seconds between clock ticks.", t.tick / 1e6);
  g("pps_frequency_hertz", "Pulse per second frequency.", t.ppsfreq / PPM16);
  g("pps_jitter_seconds", "Pulse per second jitter.", t.jitter / div);
  g("pps_shift_seconds", "Pulse per second interval duration.", t.shift);
  g(
    "pps_stability_hertz",
    "Pulse per second stability, average of recent frequency changes.",
    t.stabil / PPM16,
  );
  c("pps_jitter_total", "Pulse per second count of jitter limit exceeded events.", t.jitcnt);
  c("pps_calibration_total", "Pulse per second count of calibration intervals.", t.calcnt);
  c("pps_error_total", "Pulse per second count of calibration errors.", t.errcnt);
  c(
    "pps_stability_exceeded_total",
    "Pulse per second count of stability limit exceeded events.",
    t.stbcnt,
  );
  g("tai_offset_seconds", "International Atomic Time (TAI) offset.", t.tai);
}
