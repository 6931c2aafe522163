/**
 * Inhibition: a firing source alert mutes target alerts that share the
 * rule's `equal` labels (e.g. a critical `HostDown` mutes warnings from the
 * same host).
 *
 * @module
 */
import type { InhibitRule } from "./config.ts";
import { matchLabels } from "./label_matchers.ts";

/** The part of an alert inhibition looks at. */
export interface InhibitCandidate {
  readonly fingerprint: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Returns the fingerprint of the alert that inhibits `target`, or undefined.
 * `firing` holds the currently firing alerts. An alert never inhibits itself.
 */
export function inhibitedBy(
  rules: readonly InhibitRule[],
  target: InhibitCandidate,
  firing: Iterable<InhibitCandidate>,
): string | undefined {
  const applicable = rules.filter((r) => matchLabels(r.targetMatchers, target.labels));
  if (applicable.length === 0) return undefined;
  for (const src of firing) {
    if (src.fingerprint === target.fingerprint) continue;
    for (const r of applicable) {
      if (!matchLabels(r.sourceMatchers, src.labels)) continue;
      if (r.equal.every((l) => (src.labels[l] ?? "") === (target.labels[l] ?? ""))) {
        return src.fingerprint;
      }
    }
  }
  return undefined;
}
