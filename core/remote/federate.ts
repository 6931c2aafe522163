/**
 * Federation: the latest sample of every series matching any of the
 * `match[]` selectors, in the Prometheus text format (0.0.4), as
 * Prometheus's `/federate` does:
 *
 * - a series is included when it has a sample in [now − lookback, now]; its
 *   newest one is written with its timestamp; a series whose newest sample
 *   is a staleness marker is left out (it has ended);
 * - external labels are added to series that do not have them;
 * - series are grouped by metric name, each group after one `# TYPE` line:
 *   the metric's metadata type for counters and gauges, `untyped` otherwise
 *   (histogram and summary series are single samples here, as in Prometheus).
 *
 * @module
 */
import {
  isStaleNaN,
  type Labels,
  labelsKey,
  type Matcher,
  METRIC_NAME,
  type Querier,
} from "../model/mod.ts";
import { escapeLabelValue, formatSampleValue } from "../selfmon/mod.ts";

/** Options of {@linkcode federate}. */
export interface FederateOptions {
  /** Evaluation time, ms. */
  readonly now: number;
  /** How far back a sample still counts, ms. @default 5 min */
  readonly lookbackMs?: number;
  readonly externalLabels?: Readonly<Record<string, string>>;
}

interface Latest {
  labels: Labels;
  name: string;
  t: number;
  v: number;
}

/**
 * Yields the federation text in chunks (one per metric family). `selectors`
 * holds one matcher list per `match[]`; a series matching several is written
 * once.
 */
export async function* federate(
  querier: Querier,
  selectors: readonly (readonly Matcher[])[],
  options: FederateOptions,
): AsyncGenerator<string> {
  const lookback = options.lookbackMs ?? 300_000;
  const hints = { minT: options.now - lookback, maxT: options.now };
  const seen = new Map<string, Latest>();
  for (const matchers of selectors) {
    for (const s of await querier.select(matchers, hints)) {
      const n = s.t.length;
      if (n === 0) continue;
      const key = labelsKey(s.labels);
      if (seen.has(key)) continue;
      const v = s.v[n - 1]!;
      if (isStaleNaN(v)) continue;
      const labels = withExternal(s.labels, options.externalLabels);
      const name = labels.find((l) => l.name === METRIC_NAME)?.value ?? "";
      seen.set(key, { labels, name, t: s.t[n - 1]!, v });
    }
  }
  const all = [...seen.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : compareRest(a.labels, b.labels)
  );
  const meta = all.length > 0 ? await querier.metadata() : new Map();
  let i = 0;
  while (i < all.length) {
    const name = all[i]!.name;
    const type = meta.get(name)?.type;
    const lines = [`# TYPE ${name} ${type === "counter" || type === "gauge" ? type : "untyped"}`];
    for (; i < all.length && all[i]!.name === name; i++) lines.push(sampleLine(all[i]!));
    yield lines.join("\n") + "\n";
  }
}

function withExternal(labels: Labels, ext: Readonly<Record<string, string>> | undefined): Labels {
  if (!ext) return labels;
  const missing = Object.entries(ext).filter(([k, v]) =>
    v !== "" && !labels.some((l) => l.name === k)
  );
  if (missing.length === 0) return labels;
  return [...labels, ...missing.map(([name, value]) => ({ name, value }))]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function compareRest(a: Labels, b: Labels): number {
  const ka = labelsKey(a), kb = labelsKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function sampleLine(s: Latest): string {
  const parts: string[] = [];
  for (const l of s.labels) {
    if (l.name !== METRIC_NAME) parts.push(`${l.name}="${escapeLabelValue(l.value)}"`);
  }
  const ls = parts.length > 0 ? `{${parts.join(",")}}` : "";
  return `${s.name}${ls} ${formatSampleValue(s.v)} ${Math.round(s.t)}`;
}
