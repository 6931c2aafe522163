import assert from "node:assert/strict";
import { formatValue, resolveUnit, unitFromMetricName } from "./format.ts";

Deno.test("formatValue() scales bytes, durations and temperatures readably", () => {
  const f = (v: number, unit: string, want: string, decimals?: number) =>
    assert.equal(formatValue(v, unit, decimals), want, `${v} ${unit}`);
  f(1.2 * 1024 ** 3, "bytes", "1.2 GiB");
  f(512, "bytes", "512 B");
  f(1536, "bytes", "1.5 KiB");
  f(0.34, "seconds", "340 ms");
  f(0.000012, "seconds", "12 µs");
  f(90, "seconds", "1.5 min");
  f(21.5, "celsius", "21.5 °C");
  f(21, "celsius", "21.0 °C");
  f(0.953, "ratio", "95.3%");
  f(1234567, "", "1.23 M");
  f(0.5, "", "0.5");
  f(3.14159, "", "3.14");
  f(3.14159, "", "3.1416", 4);
  f(2048, "bytes_per_second", "2 KiB/s");
  f(NaN, "bytes", "NaN");
  f(Infinity, "", "+Inf");
  f(-2500, "watts", "-2.5 kW");
});

Deno.test("unitFromMetricName() reads base-unit suffixes before _total and _bucket", () => {
  assert.equal(unitFromMetricName("http_request_duration_seconds_bucket"), "seconds");
  assert.equal(unitFromMetricName("process_resident_memory_bytes"), "bytes");
  assert.equal(unitFromMetricName("node_network_receive_bytes_total"), "bytes");
  assert.equal(unitFromMetricName("room_temperature_celsius"), "celsius");
  assert.equal(unitFromMetricName("cache_hit_ratio"), "ratio");
  assert.equal(unitFromMetricName("http_requests_total"), "");
});

Deno.test("resolveUnit() prefers the panel option, then metadata, then the suffix", () => {
  assert.equal(resolveUnit("celsius", "x_bytes"), "celsius");
  assert.equal(resolveUnit("", "sum(process_resident_memory_bytes)"), "bytes");
  assert.equal(
    resolveUnit("", 'temp{room="a"}', (m) => m === "temp" ? "celsius" : undefined),
    "celsius",
  );
  assert.equal(resolveUnit("", "rate(node_network_receive_bytes_total[5m])"), "bytes_per_second");
  assert.equal(
    resolveUnit("", "histogram_quantile(0.9, sum by (le) (rate(req_seconds_bucket[5m])))"),
    "seconds",
  );
  assert.equal(resolveUnit("", "rate(process_cpu_seconds_total[1m])"), "");
  assert.equal(resolveUnit("", "count(temp_celsius)"), "");
  assert.equal(resolveUnit("", "count by (room) (temp_celsius)"), "");
});
