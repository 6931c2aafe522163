/**
 * What the last config reload did, as metrics, a health check and the
 * `/api/v1/status/runtimeinfo` fields.
 *
 * @module
 */
import type { HealthChecks, Registry } from "./selfmon/mod.ts";

/** Counts reloads by result and remembers the last one. */
export class ReloadStatus {
  readonly #total;
  readonly #lastOk;
  #at: Date;

  /** Registers the metrics and the `config` health check (degraded while the last reload was rejected). */
  constructor(registry: Registry, health: HealthChecks, startedAt: Date) {
    this.#total = registry.counter({
      name: "perch_config_reloads_total",
      help: "Config reloads by result.",
      labelNames: ["result"],
    });
    this.#lastOk = registry.gauge({
      name: "perch_config_last_reload_successful",
      help: "Whether the last config reload attempt succeeded (1) or was rejected (0).",
    });
    this.#lastOk.set(1);
    this.#at = startedAt;
    health.register("config", () => {
      const ok = this.state().ok;
      return { status: ok ? "healthy" : "degraded", message: ok ? "" : "last reload was rejected" };
    });
  }

  /** Records one reload attempt. */
  record(outcome: { readonly ok: boolean }): void {
    this.#total.labels(outcome.ok ? "success" : "failure").inc();
    this.#lastOk.set(outcome.ok ? 1 : 0);
    if (outcome.ok) this.#at = new Date();
  }

  /** Whether the last attempt succeeded, and when the config in force was loaded. */
  state(): { ok: boolean; at: Date } {
    return { ok: this.#lastOk.labels().value === 1, at: this.#at };
  }
}
