import assert from "node:assert/strict";
import { parseGraphiteLines } from "./graphite.ts";
import { parseCollectdJson } from "./collectd.ts";
import { renderRows } from "./_test_util.ts";

const NOW = 1_700_000_000_000;

function f(text: string, expected: string[]): void {
  assert.deepEqual(renderRows(parseGraphiteLines(text, { now: NOW })), expected, text);
}

Deno.test("parseGraphiteLines() reads name value timestamp, tags and sanitizes names", () => {
  f("servers.nas-1.load 0.5 1700000001\n", [`servers_nas_1_load 0.5 @1700000001000`]);
  // Tabs, fractional seconds, CRLF, no timestamp and -1 mean now.
  f("a.b\t2\t1700000001.25\r\nc 3\nd 4 -1\n", [
    "a_b 2 @1700000001250",
    `c 3 @${NOW}`,
    `d 4 @${NOW}`,
  ]);
  // Tags: name;tag=value, tag names sanitized, values kept.
  f("disk.used;host=nas-1;mount.point=/var/lib 7 1700000000\n", [
    'disk_used{host="nas-1",mount_point="/var/lib"} 7 @1700000000000',
  ]);
  // A leading digit gets an underscore; colons stay in names.
  f("1wire.temp:c 21\n", [`_1wire_temp:c 21 @${NOW}`]);
});

Deno.test("parseGraphiteLines() names the line and field of each problem and keeps the good lines", () => {
  f("ok 1 1700000000\nbad\nx abc\ny 1 yesterday\nz;notag 1\nw 1 2 3\n", [
    "ok 1 @1700000000000",
    "ERR line 2: line must be <path> <value> [<timestamp>]",
    "ERR line 3 value: value must be a number",
    "ERR line 4 timestamp: timestamp must be unix seconds (or -1 for now)",
    "ERR line 5 tag: tag must be <name>=<value>",
    "ERR line 6: line must be <path> <value> [<timestamp>]",
  ]);
});

Deno.test("parseCollectdJson() names series as collectd_exporter does", () => {
  const body = JSON.stringify([
    {
      values: [0.5, 0.7, 0.9],
      dstypes: ["gauge", "gauge", "gauge"],
      dsnames: ["shortterm", "midterm", "longterm"],
      time: 1700000000.5,
      interval: 10,
      host: "edge1",
      plugin: "load",
      plugin_instance: "",
      type: "load",
      type_instance: "",
    },
    {
      values: [12345, null],
      dstypes: ["derive", "gauge"],
      dsnames: ["value", "free"],
      time: 1700000001,
      interval: 10,
      host: "edge1",
      plugin: "cpu",
      plugin_instance: "0",
      type: "cpu",
      type_instance: "idle",
    },
  ]);
  assert.deepEqual(renderRows(parseCollectdJson(body, { now: NOW })), [
    'collectd_load_shortterm{instance="edge1"} 0.5 @1700000000500',
    'collectd_load_midterm{instance="edge1"} 0.7 @1700000000500',
    'collectd_load_longterm{instance="edge1"} 0.9 @1700000000500',
    'collectd_cpu_total{instance="edge1",cpu="0",type="idle"} 12345 @1700000001000',
    'collectd_cpu_free{instance="edge1",cpu="0",type="idle"} NaN @1700000001000',
  ]);
  const rows = parseCollectdJson(body, { now: NOW });
  assert.equal(rows.metadata.get("collectd_cpu_total")?.type, "counter");
});

Deno.test("parseCollectdJson() reports each problem of a value list by its path", () => {
  const r = (x: unknown) => renderRows(parseCollectdJson(JSON.stringify(x), { now: NOW }));
  assert.deepEqual(r({}), ["ERR body: body must be a JSON array of collectd value lists"]);
  assert.deepEqual(r([{ values: [1], dstypes: [], dsnames: ["value"], type: "t" }]), [
    "ERR [0].plugin: plugin must be a string",
    "ERR [0].dstypes: dstypes must list one type per value",
  ]);
  assert.deepEqual(
    r([{ values: [1], dstypes: ["meter"], dsnames: ["value"], plugin: "p", type: "t" }]),
    ["ERR [0].dstypes[0]: data source type must be gauge, counter, derive or absolute"],
  );
});
