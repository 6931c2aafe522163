/**
 * Rule state in Deno KV: alert instances (written on every transition,
 * before the sink is called) and threshold rules created through the API.
 * The key layout is described in README.md; every key is built here.
 *
 * @module
 */
import type { AlertRecord } from "./alert_state.ts";
import type { ThresholdRule } from "./threshold.ts";

const ROOT = "rules";
/** Mutations per atomic commit (Deno KV allows 1,000 and 800 KB). */
const BATCH = 200;

/** Key builders for the rules' KV state. */
export const RULE_KEYS = {
  alertPrefix: [ROOT, "alert"] as const,
  alert: (ruleKey: string, fp: string): Deno.KvKey => [ROOT, "alert", ruleKey, fp],
  thresholdPrefix: [ROOT, "threshold"] as const,
  threshold: (id: string): Deno.KvKey => [ROOT, "threshold", id],
} as const;

/** Reads and writes rule state; records are stored as plain objects (structured clone keeps NaN). */
export class RuleStore {
  constructor(readonly kv: Deno.Kv) {}

  /** Writes (or deletes, when `del`) records atomically in batches. */
  async write(puts: readonly AlertRecord[], dels: readonly AlertRecord[] = []): Promise<void> {
    let atomic = this.kv.atomic();
    let n = 0;
    const flush = async () => {
      if (n === 0) return;
      const r = await atomic.commit();
      if (!r.ok) throw new Error("BUG: unconditional KV commit failed");
      atomic = this.kv.atomic();
      n = 0;
    };
    for (const r of puts) {
      atomic.set(RULE_KEYS.alert(r.ruleKey, r.fingerprint), r);
      if (++n >= BATCH) await flush();
    }
    for (const r of dels) {
      atomic.delete(RULE_KEYS.alert(r.ruleKey, r.fingerprint));
      if (++n >= BATCH) await flush();
    }
    await flush();
  }

  /** Every stored alert record. */
  async loadAlerts(): Promise<AlertRecord[]> {
    const out: AlertRecord[] = [];
    for await (const e of this.kv.list<AlertRecord>({ prefix: [...RULE_KEYS.alertPrefix] })) {
      out.push(e.value);
    }
    return out;
  }

  /** Every threshold rule created through the API. */
  async loadThresholdRules(): Promise<ThresholdRule[]> {
    const out: ThresholdRule[] = [];
    for await (const e of this.kv.list<ThresholdRule>({ prefix: [...RULE_KEYS.thresholdPrefix] })) {
      out.push(e.value);
    }
    return out;
  }

  /** Stores an API threshold rule. */
  async putThresholdRule(rule: ThresholdRule): Promise<void> {
    await this.kv.set(RULE_KEYS.threshold(rule.id), rule);
  }

  /** Deletes an API threshold rule. */
  async deleteThresholdRule(id: string): Promise<void> {
    await this.kv.delete(RULE_KEYS.threshold(id));
  }
}
