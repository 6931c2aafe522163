import assert from "node:assert/strict";
import { goQuote } from "../model/mod.ts";
import { describeToken, lex } from "./lexer.ts";

function kinds(input: string): string {
  return lex(input).map((t) => t.kind === t.text ? t.kind : `${t.kind}(${t.text})`).join(" ");
}

Deno.test("lex() splits a query into Prometheus's tokens", () => {
  const cases: [string, string][] = [
    ["a>=b<c!=d==e", "IDENT(a) >= IDENT(b) < IDENT(c) != IDENT(d) == IDENT(e) EOF()"],
    ["sum BY (x)", "sum by(BY) ( IDENT(x) ) EOF()"],
    ["foo:bar{a=~'x'}", "METRIC_IDENT(foo:bar) { IDENT(a) =~ STRING('x') } EOF()"],
    ['{sum!~`x`,by="y"}', '{ IDENT(sum) !~ STRING(`x`) , IDENT(by) = STRING("y") } EOF()'],
    ["x[5m:1m]", "IDENT(x) [ DURATION(5m) : DURATION(1m) ] EOF()"],
    ["x[1h30m]", "IDENT(x) [ DURATION(1h30m) ] EOF()"],
    ["1 +Inf -NaN", "NUMBER(1) + NUMBER(Inf) - NUMBER(NaN) EOF()"],
    ["0x1F .5 1e3 5.", "NUMBER(0x1F) NUMBER(.5) NUMBER(1e3) NUMBER(5.) EOF()"],
    ["x @ start()", "IDENT(x) @ start ( ) EOF()"],
    ["a # comment\n+ b", "IDENT(a) + IDENT(b) EOF()"],
    [
      "x[2024-01-15T10:00:00Z:2024-01-15T11:00:00Z]",
      "IDENT(x) [ TIMERANGE(2024-01-15T10:00:00Z:2024-01-15T11:00:00Z) ] EOF()",
    ],
  ];
  for (const [input, want] of cases) assert.equal(kinds(input), want, input);
});

Deno.test("lex() ends with an ERROR token at the offending position", () => {
  const cases: [string, string, number][] = [
    ["foo{", "unexpected end of input inside braces", 4],
    ["(1))", "unexpected right parenthesis ')'", 4],
    ["x[5m", "unclosed left bracket", 4],
    ["x]", "unexpected right bracket ']'", 1],
    ["x[[5m]]", "unexpected left bracket '['", 2],
    ["a $ b", "unexpected character: '$'", 2],
    ["'abc", "unterminated quoted string", 0],
    ['"a\nb"', "unterminated quoted string", 0],
    ['"\\x4g"', "illegal character U+0067 'g' in escape sequence", 0],
    ['"\\ud800"', "escape sequence is an invalid Unicode code point", 0],
    ["1a", `bad number or duration syntax: "1"`, 0],
    ["x{a:b}", "unexpected character inside braces: ':'", 3],
    ["x[5m:1m:]", "unexpected colon ':'", 7],
  ];
  for (const [input, msg, pos] of cases) {
    const last = lex(input).at(-1)!;
    assert.equal(last.kind, "ERROR", input);
    assert.equal(last.text, msg, input);
    assert.equal(last.pos, pos, input);
  }
});

Deno.test("describeToken() names tokens as Prometheus's messages do", () => {
  const d = (input: string) => describeToken(lex(input)[0]);
  assert.equal(d("foo"), `identifier "foo"`);
  assert.equal(d("a:b"), `metric identifier "a:b"`);
  assert.equal(d("by"), "<by>");
  assert.equal(d("sum"), "<aggr:sum>");
  assert.equal(d("and"), "<op:and>");
  assert.equal(d("*"), "<op:*>");
  assert.equal(d(","), `","`);
  assert.equal(d("5m"), `duration "5m"`);
  assert.equal(d("12345678901234"), `number "1234567890"...`);
  assert.equal(d(""), "end of input");
});

Deno.test("goQuote() quotes like Go's %q", () => {
  assert.equal(goQuote(`a"b\\c`), `"a\\"b\\\\c"`);
  assert.equal(goQuote("\x07\b\f\n\r\t\v\x01"), `"\\a\\b\\f\\n\\r\\t\\v\\x01"`);
  assert.equal(goQuote("é日"), `"é日"`);
  assert.equal(goQuote("'", "'"), `'\\''`);
});
