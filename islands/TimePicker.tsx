/**
 * Time range picker (relative 5m...30d, or absolute from/to) and refresh
 * interval selector. Plain form controls, so they work with the keyboard.
 *
 * @module
 */
import { useState } from "preact/hooks";
import {
  parseTimeExpr,
  REFRESH_INTERVALS,
  RELATIVE_RANGES,
} from "../core/dashboards/mod_browser.ts";

/** A time range as dashboards write it. */
export interface TimeRange {
  readonly from: string;
  readonly to: string;
}

function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** The picker. */
export function TimePicker(
  { range, onChange, refresh, onRefresh }: {
    range: TimeRange;
    onChange: (r: TimeRange) => void;
    refresh?: string;
    onRefresh?: (r: string) => void;
  },
) {
  const rel = /^now-(.+)$/.exec(range.from);
  const relValue = rel && range.to === "now" ? rel[1]! : "custom";
  const [custom, setCustom] = useState(false);
  const now = Date.now();
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const showCustom = custom || relValue === "custom";
  const openCustom = () => {
    setFrom(toLocalInput(parseTimeExpr(range.from, now) ?? now - 3600_000));
    setTo(toLocalInput(parseTimeExpr(range.to, now) ?? now));
    setCustom(true);
  };
  return (
    <div class="time-picker">
      <label>
        <span class="sr-only">Time range</span>
        <select
          data-testid="range-select"
          value={showCustom ? "custom" : relValue}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            if (v === "custom") openCustom();
            else {
              setCustom(false);
              onChange({ from: `now-${v}`, to: "now" });
            }
          }}
        >
          {
            /* `selected` as well as the select's value: hydration does not set a select's value,
              so the server-rendered choice must already be the right one. */
          }
          {RELATIVE_RANGES.map((r) => (
            <option key={r} value={r} selected={!showCustom && r === relValue}>Last {r}</option>
          ))}
          {!showCustom && !RELATIVE_RANGES.includes(relValue) && (
            <option value={relValue} selected>Last {relValue}</option>
          )}
          <option value="custom" selected={showCustom}>Absolute&hellip;</option>
        </select>
      </label>
      {showCustom && (
        <form
          class="abs-range"
          onSubmit={(e) => {
            e.preventDefault();
            const a = Date.parse(from), b = Date.parse(to);
            if (a < b) {
              setCustom(false);
              onChange({ from: String(a), to: String(b) });
            }
          }}
        >
          <label>
            From{" "}
            <input
              type="datetime-local"
              value={from}
              onInput={(e) => setFrom((e.target as HTMLInputElement).value)}
            />
          </label>
          <label>
            To{" "}
            <input
              type="datetime-local"
              value={to}
              onInput={(e) => setTo((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit">Apply</button>
        </form>
      )}
      <button
        type="button"
        title="Zoom out"
        aria-label="Zoom out"
        onClick={() => {
          const a = parseTimeExpr(range.from, now) ?? now - 3600_000;
          const b = parseTimeExpr(range.to, now) ?? now;
          const span = b - a;
          if (range.to === "now" && rel) {
            const i = RELATIVE_RANGES.indexOf(rel[1]!);
            const next = RELATIVE_RANGES[Math.min(RELATIVE_RANGES.length - 1, i + 1)];
            if (i >= 0) return onChange({ from: `now-${next}`, to: "now" });
          }
          onChange({
            from: String(Math.round(a - span / 2)),
            to: String(Math.round(Math.min(now, b + span / 2))),
          });
        }}
      >
        &#x2296;
      </button>
      {onRefresh && (
        <label>
          <span class="sr-only">Refresh</span>
          <select
            data-testid="refresh-select"
            value={refresh ?? ""}
            onChange={(e) => onRefresh((e.target as HTMLSelectElement).value)}
          >
            {REFRESH_INTERVALS.map((r) => (
              <option value={r} selected={r === (refresh ?? "")}>
                {r ? `Every ${r}` : "Refresh off"}
              </option>
            ))}
          </select>
        </label>
      )}
    </div>
  );
}
