import assert from "node:assert/strict";
import { ALL_VALUE, interpolate, interpolateForParse, parseLabelValuesQuery } from "./variables.ts";

Deno.test("parseLabelValuesQuery() reads one- and two-argument forms", () => {
  assert.deepEqual(parseLabelValuesQuery("label_values(job)"), { label: "job" });
  assert.deepEqual(parseLabelValuesQuery('label_values(up{job="node"}, instance)'), {
    selector: 'up{job="node"}',
    label: "instance",
  });
  assert.equal(parseLabelValuesQuery("query_result(up)"), undefined);
});

Deno.test("interpolate() inserts one value, a regex group for several, .* for All", () => {
  const b = { interval: "30s", rateInterval: "2m", range: "6h" };
  assert.equal(interpolate('up{host="$host"}', { host: ["a"] }), 'up{host="a"}');
  assert.equal(interpolate('up{host=~"$host"}', { host: ["a.b", "c"] }), 'up{host=~"(a\\\\.b|c)"}');
  assert.equal(interpolate('up{h="$h"}', { h: ['say "hi"\\'] }), 'up{h="say \\"hi\\"\\\\"}');
  assert.equal(
    interpolate('up{h=~"$h"}', { h: ["a.b"] }, undefined, undefined, new Set(["h"])),
    'up{h=~"a\\\\.b"}',
  );
  assert.equal(interpolate('up{host=~"${host}"}', { host: [ALL_VALUE] }), 'up{host=~".*"}');
  assert.equal(
    interpolate('up{host=~"[[host]]"}', { host: [ALL_VALUE] }, b, { host: ["x", "y"] }),
    'up{host=~"(x|y)"}',
  );
  assert.equal(interpolate("rate(x[$__rate_interval])", {}, b), "rate(x[2m])");
  assert.equal(interpolate("rate(x[$__interval])", {}, b), "rate(x[30s])");
  assert.equal(interpolate('x{a="$unknown"}', {}, b), 'x{a="$unknown"}');
});

Deno.test("interpolateForParse() yields parseable placeholders", () => {
  assert.equal(interpolateForParse('rate(x{h=~"$h"}[$__rate_interval])'), 'rate(x{h=~"$h"}[1m])');
  assert.equal(interpolateForParse("x > $threshold"), "x > __var__");
  assert.equal(interpolateForParse("sum by ($label) (x)"), "sum by (__var__) (x)");
  assert.equal(interpolateForParse("x[5m:$__interval]"), "x[5m:1m]");
});
