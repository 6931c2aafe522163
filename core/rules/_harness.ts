/**
 * A test harness: a rule manager over the real PromQL engine and a MemStore,
 * with a fake clock, a recording sink and a KV file that can be reopened.
 *
 * @module
 */
import { Logger } from "../logging/mod.ts";
import { type Labels, toLabels } from "../model/mod.ts";
import { createEngine } from "../promql/mod.ts";
import { Registry } from "../selfmon/mod.ts";
import { MemStore } from "../tsdb/mod_testing.ts";
import { CallbackAppender, FakeClock, RecordingSink } from "./_test_util.ts";
import {
  createRuleManager,
  engineQueryFunc,
  type RuleManager,
  type RuleManagerOptions,
} from "./manager.ts";

/** Everything a test touches. */
export interface Harness {
  readonly kv: Deno.Kv;
  readonly mem: MemStore;
  readonly clock: FakeClock;
  readonly sink: RecordingSink;
  readonly appender: CallbackAppender;
  readonly registry: Registry;
  readonly logs: string[];
  readonly manager: RuleManager;
  /** Adds a sample at the clock's current time. */
  push(name: string, labels: Record<string, string>, v: number): void;
  /** Instant query through the engine, as `{labels, v}` pairs. */
  query(expr: string): Promise<{ labels: Labels; v: number }[]>;
  close(): Promise<void>;
}

/** Options: rule files as `{path: text}` (read through a fake reader), and manager overrides. */
export interface HarnessOptions {
  readonly files?: Record<string, string>;
  readonly kvPath?: string;
  readonly clockStart?: number;
  readonly mem?: MemStore;
  readonly manager?: Partial<RuleManagerOptions>;
}

/** Builds a harness; the caller starts the manager. */
export async function harness(o: HarnessOptions = {}): Promise<Harness> {
  const kv = await Deno.openKv(o.kvPath ?? ":memory:");
  const mem = o.mem ?? new MemStore();
  const engine = createEngine({ querier: mem });
  const clock = new FakeClock(o.clockStart ?? Date.UTC(2024, 0, 1));
  const sink = new RecordingSink();
  const appender = new CallbackAppender((l, t, v) => mem.add(l, t, v));
  const registry = new Registry();
  const logs: string[] = [];
  const files = o.files ?? {};
  const manager = createRuleManager({
    kv,
    query: engineQueryFunc(engine),
    appender,
    sink,
    logger: new Logger({ level: "debug", sink: (l) => logs.push(l) }),
    registry,
    clock,
    ruleFiles: Object.keys(files),
    evaluationIntervalMs: 60_000,
    externalURL: "http://perch.test",
    readFile: (p) => {
      const t = files[p];
      return t === undefined ? Promise.reject(new Error(`no such file ${p}`)) : Promise.resolve(t);
    },
    ...o.manager,
  });
  return {
    kv,
    mem,
    clock,
    sink,
    appender,
    registry,
    logs,
    manager,
    push(name, labels, v) {
      mem.add(toLabels(name, labels), clock.now(), v);
    },
    async query(expr) {
      const { result } = await engine.instantQuery(expr, clock.now());
      if (result.type !== "vector") throw new Error(`not a vector: ${result.type}`);
      return result.samples.map((s) => ({ labels: s.labels, v: s.v }));
    },
    async close() {
      await manager.stop();
      kv.close();
    },
  };
}
