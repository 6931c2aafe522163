import assert from "node:assert/strict";
import { toLabels } from "../model/mod.ts";
import { MemStore } from "../tsdb/mod_testing.ts";
import { createEngine } from "./engine.ts";
import { QueryExecutionError } from "./errors.ts";

const T = 600_000;

function store() {
  const s = new MemStore();
  for (const name of ["node_load1", "node_load5", "node_load15"]) {
    for (let t = 0; t <= T; t += 15_000) s.add(toLabels(name, { instance: "a" }), t, 1);
  }
  return s;
}

async function fails(q: string, delayedNameRemoval = false) {
  const e = createEngine({ querier: store(), delayedNameRemoval });
  await assert.rejects(
    e.instantQuery(q, T),
    (err) =>
      err instanceof QueryExecutionError &&
      err.message === "vector cannot contain metrics with the same labelset",
    q,
  );
}

async function value(q: string, delayedNameRemoval = false) {
  const r = await createEngine({ querier: store(), delayedNameRemoval }).instantQuery(q, T);
  return r.result.type === "vector" ? r.result.samples.map((s) => s.v) : r.result;
}

Deno.test("Functions and operators that drop __name__ refuse colliding series even under an aggregation", async () => {
  await fails('sum(count_over_time({__name__=~"node_load.+"}[1m]))');
  await fails('count_over_time({__name__=~"node_load.+"}[1m])');
  await fails('sum({__name__=~"node_load.+"} * 2)');
  await fails('sum(-{__name__=~"node_load.+"})');
  await fails('max(abs({__name__=~"node_load.+"}))');
  // Comparisons and functions that keep the name do not drop it.
  assert.deepEqual(await value('count({__name__=~"node_load.+"} > 0)'), [3]);
  assert.deepEqual(await value('count(last_over_time({__name__=~"node_load.+"}[1m]))'), [3]);
  // Range queries: the same rule over the whole range.
  await assert.rejects(
    createEngine({ querier: store() }).rangeQuery(
      'sum(rate({__name__=~"node_load.+"}[1m]))',
      T - 120_000,
      T,
      60_000,
    ),
    QueryExecutionError,
  );
});

Deno.test("With delayed name removal (Prometheus's feature flag) the aggregation sees the names", async () => {
  assert.deepEqual(await value('sum(count_over_time({__name__=~"node_load.+"}[1m]))', true), [12]);
  await fails('count_over_time({__name__=~"node_load.+"}[1m])', true);
  // Without it the name is gone before label_replace reads it, as in Prometheus.
  const q = 'label_replace(rate(node_load1[1m]), "n", "$1", "__name__", "(.+)")';
  const e = createEngine({ querier: store() });
  const r = await e.instantQuery(q, T);
  assert.equal(r.result.type, "vector");
  if (r.result.type === "vector") {
    assert.deepEqual(r.result.samples[0]!.labels, [{ name: "instance", value: "a" }]);
  }
});

Deno.test("label_replace and label_join accept only label names Perch ingests", async () => {
  const e = createEngine({ querier: store() });
  for (
    const [q, msg] of [
      ['label_replace(node_load1, "~invalid", "v", "instance", ".*")', "label_replace(): ~invalid"],
      ['label_replace(node_load1, "a.b", "v", "instance", ".*")', "label_replace(): a.b"],
      ['label_join(node_load1, "ünï", "-", "instance")', "label_join(): ünï"],
      [
        'label_join(node_load1, "dst", "-", "in-stance")',
        "source label name in label_join(): in-stance",
      ],
    ]
  ) {
    await assert.rejects(e.instantQuery(q!, T), (err) => {
      assert.ok(err instanceof QueryExecutionError);
      assert.ok(err.message.endsWith(msg!), err.message);
      return true;
    });
  }
  assert.deepEqual(await value('label_replace(node_load1, "host_1", "$1", "instance", "(.*)")'), [
    1,
  ]);
});
