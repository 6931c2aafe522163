/**
 * Child process for restart_test.ts: a rule manager over a file-backed KV.
 * `crash` mode blocks inside the first sink put (after the KV transition
 * write) and prints PUT_CALLED so the parent can SIGKILL it there; `run`
 * mode appends every put to a file, evaluates a few times and exits.
 *
 * Usage: deno run -A _restart_child.ts <crash|run> <kvPath> <outPath> <startMs>
 */
import { Logger } from "../../core/logging/logger.ts";
import type { AlertInstance } from "../../core/model/alert.ts";
import { toLabels } from "../../core/model/labels.ts";
import { createEngine } from "../../core/promql/engine.ts";
import { CallbackAppender, FakeClock } from "../../core/rules/_test_util.ts";
import { createRuleManager, engineQueryFunc } from "../../core/rules/mod.ts";
import { Registry } from "../../core/selfmon/registry.ts";
import { MemStore } from "../../core/tsdb/mem_querier.ts";

const [mode, kvPath, outPath, startArg] = Deno.args;
const start = Number(startArg);
const M = 60_000;
const RULES = `
alerts:
  - id: pump-pressure
    name: PumpPressureHigh
    expression: pump_pressure_bar
    operator: gt
    threshold: 8
    duration: 0s
    evaluation_interval: 1m
`;

const mem = new MemStore();
// The pressure was high for the last hour.
for (let t = start - 3600_000; t <= start + 10 * M; t += 15_000) {
  mem.add(toLabels("pump_pressure_bar", { pump: "p1" }), t, 9.5);
}
const clock = new FakeClock(start);
const kv = await Deno.openKv(kvPath);
const out = await Deno.open(outPath, { append: true, create: true, write: true });
const enc = new TextEncoder();

const manager = createRuleManager({
  kv,
  query: engineQueryFunc(createEngine({ querier: mem })),
  appender: new CallbackAppender((l, t, v) => mem.add(l, t, v)),
  sink: {
    async put(alerts: readonly AlertInstance[]) {
      if (mode === "crash") {
        console.log("PUT_CALLED");
        await new Promise(() => {}); // killed here
      }
      for (const a of alerts) {
        out.writeSync(
          enc.encode(
            JSON.stringify({ fp: a.fingerprint, startsAt: a.startsAt, endsAt: a.endsAt }) + "\n",
          ),
        );
      }
      out.syncSync();
    },
  },
  logger: new Logger({ level: "error" }),
  registry: new Registry(),
  clock,
  ruleFiles: ["rules.yml"],
  evaluationIntervalMs: M,
  resendDelayMs: 3600_000,
  readFile: () => Promise.resolve(RULES),
});
await manager.start();
console.log("STARTED");
if (mode === "crash") {
  await clock.advance(M); // never returns: the put blocks
} else {
  for (let i = 0; i < 3; i++) await clock.advance(M);
  await manager.stop();
  kv.close();
  out.close();
  console.log("DONE");
}
