import assert from "node:assert/strict";
import { answerInfluxQuery, InfluxQueryError, MemInfluxDatabases } from "./influx_query.ts";

Deno.test("answerInfluxQuery() creates, lists and drops databases in InfluxDB 1.x's shape", async () => {
  const dbs = new MemInfluxDatabases();
  assert.deepEqual(await answerInfluxQuery("SHOW DATABASES", dbs), [
    { statement_id: 0, series: [{ name: "databases", columns: ["name"] }] },
  ]);
  assert.deepEqual(
    await answerInfluxQuery(
      'create database telegraf; CREATE DATABASE "my db" WITH DURATION 7d; show databases',
      dbs,
    ),
    [
      { statement_id: 0 },
      { statement_id: 1 },
      {
        statement_id: 2,
        series: [{ name: "databases", columns: ["name"], values: [["my db"], ["telegraf"]] }],
      },
    ],
  );
  await answerInfluxQuery("DROP DATABASE telegraf", dbs);
  assert.deepEqual(await dbs.list(), ["my db"]);
});

Deno.test("answerInfluxQuery() answers SELECT and other statements with an error naming PromQL", async () => {
  const dbs = new MemInfluxDatabases();
  const [sel, show, use] = await answerInfluxQuery(
    'SELECT mean("temp") FROM weather; SHOW MEASUREMENTS; USE x',
    dbs,
  );
  assert.match(sel!.error!, /does not run InfluxQL SELECT: query the data with PromQL/);
  assert.match(show!.error!, /only SHOW DATABASES, CREATE DATABASE and DROP DATABASE.*PromQL/);
  assert.match(use!.error!, /USE is a command of the influx CLI/);
  // A `;` inside quotes does not split.
  assert.equal((await answerInfluxQuery(`SELECT "a;b" FROM x`, dbs)).length, 1);
  await assert.rejects(answerInfluxQuery("  ; ", dbs), InfluxQueryError);
});
