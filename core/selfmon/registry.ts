/**
 * The self-monitoring registry: counters, gauges and histograms with labels,
 * written out in the Prometheus text format (version 0.0.4).
 *
 * Metrics are registered once; children per label value set are created on
 * first use and kept. Values that live elsewhere (storage stats, process
 * memory) are read at exposition time through `collect` callbacks.
 *
 * @module
 */

type MetricKind = "counter" | "gauge" | "histogram";

/** Options shared by every metric. */
export interface MetricOptions {
  readonly name: string;
  readonly help: string;
  /** Label names, in the order label values are passed. */
  readonly labelNames?: readonly string[];
}

interface Family {
  readonly kind: MetricKind;
  readonly options: MetricOptions;
  write(out: string[]): void;
}

function labelKey(values: readonly string[]): string {
  return values.join("\u0000");
}

/** Escapes a label value for the text format. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Formats a sample value as Prometheus does (`+Inf`, `-Inf`, `NaN`). */
export function formatSampleValue(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

function formatLabels(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) {
    parts.push(`${names[i]}="${escapeLabelValue(values[i] ?? "")}"`);
  }
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

abstract class LabelledFamily<Child> implements Family {
  abstract readonly kind: MetricKind;
  readonly #children = new Map<string, { values: readonly string[]; child: Child }>();

  constructor(readonly options: MetricOptions) {}

  protected abstract newChild(): Child;
  protected abstract writeChild(out: string[], labels: readonly string[], child: Child): void;

  /** The child for these label values (created on first use). */
  labels(...values: string[]): Child {
    const names = this.options.labelNames ?? [];
    if (values.length !== names.length) {
      throw new Error(
        `BUG: metric ${this.options.name} takes ${names.length} label values, got ${values.length}`,
      );
    }
    const key = labelKey(values);
    let entry = this.#children.get(key);
    if (!entry) {
      entry = { values, child: this.newChild() };
      this.#children.set(key, entry);
    }
    return entry.child;
  }

  /** Forgets every child (for metrics whose label sets come and go). */
  reset(): void {
    this.#children.clear();
  }

  write(out: string[]): void {
    for (const { values, child } of this.#children.values()) this.writeChild(out, values, child);
  }
}

/** A counter child: only goes up. */
export class CounterChild {
  value = 0;
  /** Adds `n` (default 1); negative values are a bug. */
  inc(n = 1): void {
    if (n < 0) throw new Error("BUG: counter decreased");
    this.value += n;
  }
}

/** A gauge child: set, inc, dec. */
export class GaugeChild {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

/** A histogram child: cumulative buckets, sum and count. */
export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) {
      if (v <= this.bounds[i]!) this.counts[i]!++;
    }
  }
}

/** A counter family. */
export class Counter extends LabelledFamily<CounterChild> {
  readonly kind = "counter";
  protected newChild(): CounterChild {
    return new CounterChild();
  }
  protected writeChild(out: string[], labels: readonly string[], c: CounterChild): void {
    const names = this.options.labelNames ?? [];
    out.push(`${this.options.name}${formatLabels(names, labels)} ${formatSampleValue(c.value)}`);
  }
  /** Shorthand for a counter without labels. */
  inc(n = 1): void {
    this.labels().inc(n);
  }
}

/** A gauge family. */
export class Gauge extends LabelledFamily<GaugeChild> {
  readonly kind = "gauge";
  protected newChild(): GaugeChild {
    return new GaugeChild();
  }
  protected writeChild(out: string[], labels: readonly string[], g: GaugeChild): void {
    const names = this.options.labelNames ?? [];
    out.push(`${this.options.name}${formatLabels(names, labels)} ${formatSampleValue(g.value)}`);
  }
  /** Shorthand for a gauge without labels. */
  set(v: number): void {
    this.labels().set(v);
  }
}

/** Default latency buckets in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** A histogram family with classic buckets. */
export class Histogram extends LabelledFamily<HistogramChild> {
  readonly kind = "histogram";
  readonly bounds: readonly number[];
  constructor(options: MetricOptions & { buckets?: readonly number[] }) {
    super(options);
    this.bounds = [...(options.buckets ?? DEFAULT_BUCKETS)].sort((a, b) => a - b);
  }
  protected newChild(): HistogramChild {
    return new HistogramChild(this.bounds);
  }
  protected writeChild(out: string[], labels: readonly string[], h: HistogramChild): void {
    const names = this.options.labelNames ?? [];
    const n = this.options.name;
    for (let i = 0; i < this.bounds.length; i++) {
      const le = `le="${formatSampleValue(this.bounds[i]!)}"`;
      out.push(`${n}_bucket${formatLabels(names, labels, le)} ${h.counts[i]}`);
    }
    out.push(`${n}_bucket${formatLabels(names, labels, 'le="+Inf"')} ${h.count}`);
    out.push(`${n}_sum${formatLabels(names, labels)} ${formatSampleValue(h.sum)}`);
    out.push(`${n}_count${formatLabels(names, labels)} ${h.count}`);
  }
  /** Shorthand for a histogram without labels. */
  observe(v: number): void {
    this.labels().observe(v);
  }
}

/** A metric whose samples are computed at exposition time. */
export interface CollectedSample {
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

class CollectedFamily implements Family {
  constructor(
    readonly kind: MetricKind,
    readonly options: MetricOptions,
    readonly collect: () => readonly CollectedSample[],
  ) {}
  write(out: string[]): void {
    let samples: readonly CollectedSample[];
    try {
      samples = this.collect();
    } catch {
      return; // A failing collector drops its own metric only.
    }
    for (const s of samples) {
      const entries = Object.entries(s.labels ?? {});
      const names = entries.map(([k]) => k), values = entries.map(([, v]) => v);
      out.push(`${this.options.name}${formatLabels(names, values)} ${formatSampleValue(s.value)}`);
    }
  }
}

/** Holds metric families and writes them out. */
export class Registry {
  readonly #families = new Map<string, Family>();
  readonly #refreshers: (() => Promise<void> | void)[] = [];

  /**
   * Adds a function run before each {@linkcode Registry.collect}, to refresh
   * values that are expensive or asynchronous to read (storage stats).
   */
  onCollect(refresh: () => Promise<void> | void): void {
    this.#refreshers.push(refresh);
  }

  /** Runs the refreshers (a failing one is skipped), then {@linkcode Registry.expose}. */
  async collect(): Promise<string> {
    await Promise.all(this.#refreshers.map(async (r) => {
      try {
        await r();
      } catch {
        // A failing refresher leaves its metrics at their last values.
      }
    }));
    return this.expose();
  }

  #add<F extends Family>(f: F): F {
    if (this.#families.has(f.options.name)) {
      throw new Error(`BUG: metric ${f.options.name} registered twice`);
    }
    this.#families.set(f.options.name, f);
    return f;
  }

  counter(options: MetricOptions): Counter {
    return this.#add(new Counter(options));
  }
  gauge(options: MetricOptions): Gauge {
    return this.#add(new Gauge(options));
  }
  histogram(options: MetricOptions & { buckets?: readonly number[] }): Histogram {
    return this.#add(new Histogram(options));
  }
  /** A metric read from elsewhere at exposition time. */
  collected(
    kind: "counter" | "gauge",
    options: MetricOptions,
    collect: () => readonly CollectedSample[],
  ): void {
    this.#add(new CollectedFamily(kind, options, collect));
  }

  /** The whole registry in the Prometheus text format. */
  expose(): string {
    const out: string[] = [];
    const names = [...this.#families.keys()].sort();
    for (const name of names) {
      const f = this.#families.get(name)!;
      out.push(`# HELP ${name} ${escapeHelp(f.options.help)}`);
      out.push(`# TYPE ${name} ${f.kind}`);
      f.write(out);
    }
    return out.join("\n") + "\n";
  }
}
