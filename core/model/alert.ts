/**
 * Alerts as they pass from rule evaluation (core/rules) to delivery
 * (core/notify): the seam between the two, modelled on what Prometheus sends
 * to Alertmanager.
 *
 * @module
 */

/** One alert instance: a rule's output series with its labels and annotations. */
export interface AlertInstance {
  /** Stable id of the label set (hex SHA-256, see seriesId). */
  readonly fingerprint: string;
  /** Labels, including `alertname` and the rule's labels. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** When the alert started firing, in ms since the epoch. */
  readonly startsAt: number;
  /**
   * When the alert resolved, in ms; 0 while it is still firing. An alert
   * with `endsAt > 0` and `endsAt <= now` is resolved.
   */
  readonly endsAt: number;
  /** Link back to the rule or query in Perch's UI. */
  readonly generatorURL: string;
  /** The value of the expression at the last evaluation. */
  readonly value?: number;
  /** True while the instance is flapping; delivery damps its notifications. */
  readonly flapping?: boolean;
}

/** Where rules hand alerts over. Called on every transition and on each evaluation while firing. */
export interface AlertSink {
  /** Upserts alerts by fingerprint; `now` is the evaluation time in ms. */
  put(alerts: readonly AlertInstance[], now: number): Promise<void>;
}
