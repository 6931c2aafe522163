import assert from "node:assert/strict";
import process from "node:process";
import { compileRelabelRule, hashMod, relabel, type RelabelRuleInput } from "./relabel.ts";

type L = Record<string, string>;

/** One case: input labels, rules, expected labels or null (dropped). */
function check(name: string, input: L, rules: RelabelRuleInput[], want: L | null): void {
  const compiled = rules.map(compileRelabelRule);
  const got = relabel(new Map(Object.entries(input)), compiled);
  const gotObj = got === null ? null : Object.fromEntries([...got].sort());
  const wantObj = want === null ? null : Object.fromEntries(Object.entries(want).sort());
  assert.deepEqual(gotObj, wantObj, name);
}

Deno.test("relabel() follows Prometheus semantics for every action", () => {
  const abc = { a: "foo", b: "bar", c: "baz" };
  // replace
  check("replace with group", { a: "foo" }, [{
    sourceLabels: ["a"],
    regex: "f(.*)",
    targetLabel: "d",
    replacement: "ch${1}-ch${1}",
  }], { a: "foo", d: "choo-choo" });
  check("replace joins sources with separator", abc, [{
    sourceLabels: ["a", "b"],
    regex: "f(.*);(.*)r",
    targetLabel: "a",
    replacement: "b${1}${2}m",
  }], { a: "boobam", b: "bar", c: "baz" });
  check("replace with a missing source sees an empty value", abc, [{
    sourceLabels: ["a", "nope"],
    regex: "(.*);",
    targetLabel: "d",
  }], { ...abc, d: "foo" });
  check("replace does nothing when the regex does not match", abc, [{
    sourceLabels: ["a"],
    regex: "o",
    targetLabel: "d",
  }], abc);
  check("regex is anchored at both ends", { a: "foo" }, [{
    sourceLabels: ["a"],
    regex: "f",
    targetLabel: "d",
    replacement: "x",
  }], { a: "foo" });
  check("empty replacement deletes the target", abc, [{
    sourceLabels: ["a"],
    targetLabel: "b",
    replacement: "",
  }], { a: "foo", c: "baz" });
  check("empty result from an unmatched group deletes the target", abc, [{
    sourceLabels: ["a"],
    regex: "(f)|(x)oo",
    targetLabel: "b",
    replacement: "$2",
  }], abc);
  check("target label expands groups", { a: "some-name-value" }, [{
    sourceLabels: ["a"],
    regex: "some-([^-]+)-([^,]+)",
    targetLabel: "${1}",
    replacement: "${2}",
  }], { a: "some-name-value", name: "value" });
  check("invalid expanded target label is skipped", { a: "some-name-0" }, [{
    sourceLabels: ["a"],
    regex: "some-([^-]+)-([^,]+)",
    targetLabel: "${3}",
    replacement: "${1}",
  }], { a: "some-name-0" });
  check("target expanding to a name starting with a digit is skipped", { a: "1x" }, [{
    sourceLabels: ["a"],
    regex: "(.*)",
    targetLabel: "$1",
    replacement: "v",
  }], { a: "1x" });
  check("$1x names group 1x, which is empty", { a: "foo" }, [{
    sourceLabels: ["a"],
    regex: "(f)oo",
    targetLabel: "d",
    replacement: "$1x-${1}x",
  }], { a: "foo", d: "-fx" });
  check("named groups and $$", { a: "foo" }, [{
    sourceLabels: ["a"],
    regex: "(?P<first>f)(?P<rest>.*)",
    targetLabel: "d",
    replacement: "$rest$$${first}",
  }], { a: "foo", d: "oo$f" });
  check("malformed ${ stays literal", { a: "foo" }, [{
    sourceLabels: ["a"],
    targetLabel: "d",
    replacement: "${1",
  }], { a: "foo", d: "${1" });
  check("empty source with default regex sets a literal", {}, [{
    sourceLabels: ["a"],
    targetLabel: "d",
    replacement: "static",
  }], { d: "static" });
  check("default regex on an empty source with $1 deletes the target", { d: "x" }, [{
    sourceLabels: ["a"],
    targetLabel: "d",
  }], {});
  check("dot matches newline", { a: "x\ny" }, [{
    sourceLabels: ["a"],
    regex: "x.y",
    targetLabel: "d",
    replacement: "nl",
  }], { a: "x\ny", d: "nl" });
  check("rewrite of __name__", { __name__: "http_requests_total", m: "GET" }, [{
    sourceLabels: ["__name__"],
    regex: "(.*)_total",
    targetLabel: "__name__",
    replacement: "${1}",
  }], { __name__: "http_requests", m: "GET" });
  check("rules see earlier rules' output", { a: "1" }, [
    { sourceLabels: ["a"], targetLabel: "b", replacement: "x$1" },
    { sourceLabels: ["b"], targetLabel: "c", replacement: "y$1" },
  ], { a: "1", b: "x1", c: "yx1" });
  // keep / drop
  check("drop matching", abc, [{ sourceLabels: ["a"], regex: ".*o.*", action: "drop" }], null);
  check(
    "drop non-matching keeps",
    abc,
    [{ sourceLabels: ["a"], regex: "f|o", action: "drop" }],
    abc,
  );
  check("keep non-matching drops", abc, [{
    sourceLabels: ["a"],
    regex: "no-match",
    action: "keep",
  }], null);
  check("keep matching", abc, [{ sourceLabels: ["a"], regex: "f.*", action: "keep" }], abc);
  check("keep on joined sources", abc, [{
    sourceLabels: ["a", "b"],
    separator: ",",
    regex: "foo,bar",
    action: "keep",
  }], abc);
  check("keep with empty regex keeps only empty values", abc, [{
    sourceLabels: ["x"],
    regex: "",
    action: "keep",
  }], abc);
  check("drop after a replace sees the new value", { a: "foo" }, [
    { sourceLabels: ["a"], targetLabel: "a", replacement: "bar" },
    { sourceLabels: ["a"], regex: "bar", action: "drop" },
  ], null);
  // keepequal / dropequal
  const ports = { __tmp_port: "1234", __port1: "1234", __port2: "5678" };
  check("keepequal equal", ports, [{
    sourceLabels: ["__tmp_port"],
    targetLabel: "__port1",
    action: "keepequal",
  }], ports);
  check("keepequal different drops", ports, [{
    sourceLabels: ["__tmp_port"],
    targetLabel: "__port2",
    action: "keepequal",
  }], null);
  check("dropequal equal drops", ports, [{
    sourceLabels: ["__tmp_port"],
    targetLabel: "__port1",
    action: "dropequal",
  }], null);
  check("dropequal different keeps", ports, [{
    sourceLabels: ["__tmp_port"],
    targetLabel: "__port2",
    action: "dropequal",
  }], ports);
  // hashmod
  check("hashmod matches Prometheus", abc, [{
    sourceLabels: ["c"],
    targetLabel: "d",
    action: "hashmod",
    modulus: 1000,
  }], { ...abc, d: "976" });
  // labelmap / labeldrop / labelkeep
  check("labelmap copies matching names", { a: "foo", b1: "bar", b2: "baz" }, [{
    regex: "(b.*)",
    replacement: "bar_${1}",
    action: "labelmap",
  }], { a: "foo", b1: "bar", b2: "baz", bar_b1: "bar", bar_b2: "baz" });
  check("labelmap of meta labels", { __meta_x_team: "db", __meta_x_zone: "eu", job: "j" }, [{
    regex: "__meta_x_(.+)",
    action: "labelmap",
  }], { __meta_x_team: "db", __meta_x_zone: "eu", job: "j", team: "db", zone: "eu" });
  check("labelmap with a fixed replacement overwrites", { a: "1", b: "2" }, [{
    regex: "(a)",
    replacement: "b",
    action: "labelmap",
  }], { a: "1", b: "1" });
  check("labeldrop", { a: "foo", b1: "bar", b2: "baz" }, [{
    regex: "(b.*)",
    action: "labeldrop",
  }], { a: "foo" });
  check("labelkeep", { a: "foo", b1: "bar", b2: "baz" }, [{
    regex: "(b.*)",
    action: "labelkeep",
  }], { b1: "bar", b2: "baz" });
  check("labelkeep is anchored", { ab: "1", xab: "2" }, [{
    regex: "ab",
    action: "labelkeep",
  }], { ab: "1" });
  // lowercase / uppercase
  check("lowercase and uppercase", { foo: "bAr123Foo" }, [
    { sourceLabels: ["foo"], targetLabel: "foo_uppercase", action: "uppercase" },
    { sourceLabels: ["foo"], targetLabel: "foo_lowercase", action: "lowercase" },
  ], { foo: "bAr123Foo", foo_lowercase: "bar123foo", foo_uppercase: "BAR123FOO" });
  check("lowercase of an empty value deletes the target", { t: "x" }, [{
    sourceLabels: ["missing"],
    targetLabel: "t",
    action: "lowercase",
  }], {});
  // no rules
  check("no rules returns the input, empty values removed", { a: "1", e: "" }, [], { a: "1" });
});

Deno.test("relabel() does not modify its input", () => {
  const input = new Map([["a", "1"]]);
  relabel(input, [compileRelabelRule({ sourceLabels: ["a"], targetLabel: "a", replacement: "2" })]);
  assert.equal(input.get("a"), "1");
});

Deno.test("hashMod() spreads values over the modulus", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const m = hashMod(`target-${i}:9100`, 4);
    assert.ok(m >= 0 && m < 4);
    seen.add(m);
  }
  assert.equal(seen.size, 4);
});

Deno.test("relabel() runs a pathological regex in linear time", () => {
  const rule = compileRelabelRule({ sourceLabels: ["a"], regex: "(a+)+$", action: "drop" });
  // Process CPU time, not wall time: waiting for a busy machine's cores does not count.
  const cpu0 = process.cpuUsage();
  const got = relabel(new Map([["a", "a".repeat(5000) + "!"]]), [rule]);
  assert.ok(got !== null);
  const cpu = process.cpuUsage(cpu0);
  assert.ok((cpu.user + cpu.system) / 1000 < 2000);
});
