import assert from "node:assert/strict";
import { type InfluxPrecision, influxPrecision, parseInfluxLines } from "./influx.ts";
import { randomText, renderRows, seededRandom } from "./_test_util.ts";
import { integerTextToMs } from "./_util.ts";

const NOW = 1_700_000_000_000;

function f(input: string, expected: string[], precision: InfluxPrecision = "ns"): void {
  const got = renderRows(parseInfluxLines(input, { now: NOW, precision }));
  assert.deepEqual(got, expected, `input: ${JSON.stringify(input)}`);
}

Deno.test("parseInfluxLines() parses valid lines", () => {
  // Empty input, blank lines and comments.
  f("", []);
  f("\n\n  \n", []);
  f("# comment\n  # indented comment", []);
  // One field, no tags, no timestamp: now.
  f("cpu value=1", [`cpu_value 1 @${NOW}`]);
  f("cpu usage=0.5", [`cpu_usage 0.5 @${NOW}`]);
  // Timestamps in ns (default), truncated to ms, exact beyond 2^53.
  f("cpu value=1 1700000000123456789", ["cpu_value 1 @1700000000123"]);
  f("cpu value=1 1700000000123999999", ["cpu_value 1 @1700000000123"]);
  f("cpu value=1 0", ["cpu_value 1 @0"]);
  f("cpu value=1 -1", ["cpu_value 1 @-1"]);
  f("cpu value=1 -1000001", ["cpu_value 1 @-2"]);
  // Tags become labels, in input order.
  f("cpu,host=a,region=eu value=1 1000000", [`cpu_value{host="a",region="eu"} 1 @1`]);
  // Several fields share tags and timestamp.
  f("mem,host=a used=10,free=20i 2000000", [
    `mem_used{host="a"} 10 @2`,
    `mem_free{host="a"} 20 @2`,
  ]);
  // Number forms.
  f("m f=-1.5e3", [`m_f -1500 @${NOW}`]);
  f("m f=1.", [`m_f 1 @${NOW}`]);
  f("m f=.5", [`m_f 0.5 @${NOW}`]);
  f("m f=1E2", [`m_f 100 @${NOW}`]);
  f("m f=+3", [`m_f 3 @${NOW}`]);
  // Integers and unsigned.
  f("m i=-42i", [`m_i -42 @${NOW}`]);
  f("m u=42u", [`m_u 42 @${NOW}`]);
  // Booleans.
  f("m a=t,b=T,c=true,d=True,e=TRUE", [
    `m_a 1 @${NOW}`,
    `m_b 1 @${NOW}`,
    `m_c 1 @${NOW}`,
    `m_d 1 @${NOW}`,
    `m_e 1 @${NOW}`,
  ]);
  f("m a=f,b=F,c=false,d=False,e=FALSE", [
    `m_a 0 @${NOW}`,
    `m_b 0 @${NOW}`,
    `m_c 0 @${NOW}`,
    `m_d 0 @${NOW}`,
    `m_e 0 @${NOW}`,
  ]);
  // CRLF line ends, leading blanks, trailing spaces.
  f("m v=1 1000000\r\n  m v=2 2000000  \r\n", ["m_v 1 @1", "m_v 2 @2"]);
  // Several spaces between sections.
  f("m,t=x   v=1    3000000", [`m_v{t="x"} 1 @3`]);
});

Deno.test("parseInfluxLines() applies escaping rules", () => {
  // Measurement: escaped comma and space.
  f("my\\,meas\\ ure v=1", [`my_meas_ure_v 1 @${NOW}`]);
  // Tag key and value: escaped comma, equals, space.
  f("m,tag\\ key=val\\,ue\\=x\\ y v=1", [`m_v{tag_key="val,ue=x y"} 1 @${NOW}`]);
  // Field key: escaped chars, then sanitized.
  f("m fi\\,el\\=d\\ x=1", [`m_fi_el_d_x 1 @${NOW}`]);
  // Other backslashes are literal.
  f("m,path=C:\\temp v=1", [`m_v{path="C:\\\\temp"} 1 @${NOW}`]);
  // Equals sign in measurement needs no escape.
  f("a=b v=1", [`a_b_v 1 @${NOW}`]);
  // String field values with escaped quotes, backslashes, spaces, commas are
  // skipped whole with a reason, other fields kept.
  f('m s="a \\"quoted\\", x=1 \\\\",v=2 4000000', [
    "m_v 2 @4",
    'ERR line 1 field "s": string field values are not supported, only numbers and booleans',
  ]);
});

Deno.test("parseInfluxLines() sanitizes names to Prometheus names", () => {
  f("cpu.load-1,host.name=a v=1", [`cpu_load_1_v{host_name="a"} 1 @${NOW}`]);
  f("1m v=1", [`_1m_v 1 @${NOW}`]);
  f("m,1tag=x v=1", [`m_v{_1tag="x"} 1 @${NOW}`]);
  f("ns:m v=1", [`ns:m_v 1 @${NOW}`]);
  f("m,a:b=x v=1", [`m_v{a_b="x"} 1 @${NOW}`]);
  f("température v=1", [`temp_rature_v 1 @${NOW}`]);
});

Deno.test("parseInfluxLines() converts every precision to ms", () => {
  f("m v=1 1700000000123456", ["m_v 1 @1700000000123"], "us");
  f("m v=1 1700000000123", ["m_v 1 @1700000000123"], "ms");
  f("m v=1 1700000000", ["m_v 1 @1700000000000"], "s");
  f("m v=1 2", ["m_v 1 @120000"], "m");
  f("m v=1 2", ["m_v 1 @7200000"], "h");
  assert.equal(influxPrecision(null), "ns");
  assert.equal(influxPrecision("n"), "ns");
  assert.equal(influxPrecision("u"), "us");
  assert.equal(influxPrecision("us"), "us");
  assert.equal(influxPrecision("ms"), "ms");
  assert.equal(influxPrecision("s"), "s");
  assert.equal(influxPrecision("ps"), undefined);
});

Deno.test("parseInfluxLines() rejects malformed lines with the line number", () => {
  // Missing parts.
  f("cpu", ["ERR line 1: missing fields"]);
  f("cpu ", ["ERR line 1: missing fields"]);
  f("cpu,host=a", ["ERR line 1: missing fields"]);
  f(",host=a v=1", ["ERR line 1: missing measurement"]);
  f(" v=1", ["ERR line 1: missing fields"]);
  // Tags.
  f("m,=a v=1", ["ERR line 1: empty tag key at column 3"]);
  f("m,host v=1", ['ERR line 1: missing "=" after tag key "host"']);
  f("m,host= v=1", ['ERR line 1: missing value of tag "host"']);
  f("m,host=a, v=1", ["ERR line 1: empty tag key at column 10"]);
  // Fields.
  f("m =1", ["ERR line 1: empty field key at column 3"]);
  f("m v", ['ERR line 1: missing "=" after field key "v"']);
  f("m v=", ['ERR line 1: missing value of field "v"']);
  f("m v=1,", ["ERR line 1: empty field key at column 7"]);
  f('m s="abc', ['ERR line 1: unterminated string value of field "s"']);
  // Timestamp.
  f("m v=1 12.5", ["ERR line 1 timestamp: timestamp must be an integer"]);
  f("m v=1 abc", ["ERR line 1 timestamp: timestamp must be an integer"]);
  f("m v=1 1 2", ["ERR line 1: unexpected text after the timestamp at column 9"]);
  f("m v=1 99999999999999999999999999", ["ERR line 1 timestamp: timestamp is out of range"], "s");
  // Line number counts blank and comment lines; other lines still parse.
  f("m v=1 1000000\n\n# c\nbad\nm v=2 2000000", [
    "m_v 1 @1",
    "m_v 2 @2",
    "ERR line 4: missing fields",
  ]);
});

Deno.test("parseInfluxLines() refuses bad field values one by one", () => {
  f("m a=1,b=x,c=2", [
    `m_a 1 @${NOW}`,
    `m_c 2 @${NOW}`,
    'ERR line 1 field "b": field value must be a finite number, an integer (1i), an unsigned (1u) or a boolean',
  ]);
  const bad = [
    "NaN",
    "Inf",
    "-Inf",
    "1e400",
    "0x10",
    "1.2.3",
    "1ii",
    "1.5i",
    "i",
    "-1u",
    "u",
    "yes",
    "tru",
  ];
  for (const v of bad) {
    const rows = parseInfluxLines(`m v=${v}`, { now: NOW });
    assert.equal(rows.sampleCount, 0, v);
    assert.equal(rows.errors.length, 1, v);
    assert.equal(rows.errors[0]!.field, 'line 1 field "v"', v);
    assert.equal(rows.invalidSamples, 1, v);
  }
});

Deno.test("parseInfluxLines() lists each series once per request, keyed per field and tag set", () => {
  const rows = parseInfluxLines("m,a=1 x=1,y=2\nm,a=2 x=1\nm,a=1 x=3", { now: NOW });
  assert.equal(rows.seriesCount, 3);
  assert.equal(new Set(rows.seriesRawKey).size, 3);
  assert.deepEqual([...rows.sampleSeries.subarray(0, rows.sampleCount)], [0, 1, 2, 0]);
  assert.deepEqual([...rows.seriesLine.subarray(0, rows.seriesCount)], [1, 1, 2]);
  // The next request lists them again, from its own lines.
  const again = parseInfluxLines("m,a=2 x=5", { now: NOW });
  assert.deepEqual(renderRows(again), [`m_x{a="2"} 5 @${NOW}`]);
  assert.deepEqual([...again.seriesLine.subarray(0, again.seriesCount)], [1]);
});

Deno.test("parseInfluxLines() never throws on random input and errors carry lines", () => {
  const rnd = seededRandom(42);
  const alphabet = [
    "m",
    "cpu",
    ",",
    "=",
    " ",
    "\\",
    '"',
    "\n",
    "1",
    "1.5",
    "i",
    "u",
    "t",
    "host",
    "x",
    "#",
    "\r",
    "-",
    "e",
    "\t",
  ];
  for (let k = 0; k < 3000; k++) {
    const text = randomText(rnd, alphabet, 40);
    const rows = parseInfluxLines(text, { now: NOW });
    const lines = text.split("\n").length;
    for (const e of rows.errors) {
      assert.ok(e.line !== undefined && e.line >= 1 && e.line <= lines, JSON.stringify(text));
      assert.match(e.field, /^line \d+/);
    }
    for (let i = 0; i < rows.sampleCount; i++) {
      assert.ok(Number.isFinite(rows.sampleV[i]!));
      assert.ok(Number.isSafeInteger(rows.sampleT[i]!));
    }
  }
});

Deno.test("parseInfluxLines() reads numbers and timestamps exactly as Number() would", () => {
  const rnd = seededRandom(7);
  const digits = (n: number) => Array.from({ length: n }, () => rnd.int(10)).join("");
  const precisions: InfluxPrecision[] = ["ns", "us", "ms", "s", "m", "h"];
  for (let k = 0; k < 3000; k++) {
    const sign = ["", "-", "+"][rnd.int(3)]!;
    const int = digits(rnd.int(12)), frac = digits(rnd.int(12));
    const dot = rnd.int(4) > 0 || int === "";
    const value = `${sign}${int}${dot ? "." : ""}${frac}` +
      (rnd.int(8) === 0 ? `e${rnd.int(30) - 15}` : "");
    const ts = `${["", "-"][rnd.int(2)]}${digits(1 + rnd.int(19))}`;
    const precision = precisions[rnd.int(precisions.length)]!;
    const rows = parseInfluxLines(`m v=${value} ${ts}`, { now: NOW, precision });
    const want = Number(value);
    if (value.replace(/[+-]/, "") === "." || value.replace(/[+-]/, "") === "" || want !== want) {
      assert.equal(rows.sampleCount, 0, value);
      continue;
    }
    const drop = { ns: 6, us: 3, ms: 0, s: 0, m: 0, h: 0 }[precision];
    const mul = { ns: 1, us: 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[precision];
    const wantT = integerTextToMs(ts, drop, mul);
    if (!Number.isSafeInteger(wantT)) {
      assert.equal(rows.sampleCount, 0, ts);
      continue;
    }
    assert.equal(rows.sampleCount, 1, `${value} ${ts}`);
    assert.ok(Object.is(rows.sampleV[0], want), `${value}: ${rows.sampleV[0]} !== ${want}`);
    assert.ok(
      Object.is(rows.sampleT[0], wantT),
      `${ts} ${precision}: ${rows.sampleT[0]} !== ${wantT}`,
    );
  }
});

Deno.test("parseInfluxLines() gives the same rows for known and new series", () => {
  const rnd = seededRandom(11);
  for (let k = 0; k < 300; k++) {
    const lines: string[] = [];
    for (let l = 0; l < 1 + rnd.int(6); l++) {
      const tags = Array.from({ length: rnd.int(3) }, (_, i) => `,t${i}=v${rnd.int(3)}`).join("");
      const fields = Array.from(
        { length: 1 + rnd.int(3) },
        (_, i) => `f${rnd.int(3) + i}=${rnd.int(9)}`,
      );
      lines.push(`m${rnd.int(2)}${tags} ${fields.join(",")} ${rnd.int(5)}000000`);
    }
    const text = lines.join("\n");
    const fresh = `fresh${k}_` + text.replaceAll("\nm", `\nfresh${k}_m`);
    const first = renderRows(parseInfluxLines(fresh, { now: NOW }));
    const second = renderRows(parseInfluxLines(fresh, { now: NOW }));
    assert.deepEqual(second, first, text);
    // Line by line gives the same samples as the whole text.
    const oneByOne = lines.flatMap((_, i) =>
      renderRows(parseInfluxLines(fresh.split("\n")[i]!, { now: NOW }))
    );
    assert.deepEqual(oneByOne, first, text);
  }
});
