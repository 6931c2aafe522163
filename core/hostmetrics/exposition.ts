/**
 * Builds one exposition (Prometheus text format 0.0.4) out of metric
 * families added in any order: samples of one family are written together
 * under one `# HELP` and `# TYPE`, the first help text of a name wins, and a
 * repeated label set within a family is written once (node_exporter's
 * registry refuses duplicates; the first sample wins here).
 *
 * @module
 */
import { escapeLabelValue, formatSampleValue } from "../selfmon/mod.ts";

/** The metric types the host collector writes. */
export type FamilyType = "counter" | "gauge" | "untyped";

interface FamilyBuf {
  readonly help: string;
  readonly type: FamilyType;
  readonly lines: string[];
  readonly seen: Set<string>;
}

/** Collects samples by family; {@linkcode Exposition.text} writes them out. */
export class Exposition {
  readonly #families = new Map<string, FamilyBuf>();
  #samples = 0;

  /**
   * Adds one sample. Label pairs with an empty value are left out, as
   * Prometheus drops them on ingest anyway.
   */
  add(
    name: string,
    help: string,
    type: FamilyType,
    value: number,
    labels?: Readonly<Record<string, string>>,
  ): void {
    let f = this.#families.get(name);
    if (f === undefined) {
      f = { help, type, lines: [], seen: new Set() };
      this.#families.set(name, f);
    }
    let ls = "";
    if (labels !== undefined) {
      const parts: string[] = [];
      for (const k of Object.keys(labels).sort()) {
        const v = labels[k]!;
        if (v !== "") parts.push(`${k}="${escapeLabelValue(v)}"`);
      }
      if (parts.length > 0) ls = `{${parts.join(",")}}`;
    }
    if (f.seen.has(ls)) return;
    f.seen.add(ls);
    f.lines.push(`${name}${ls} ${formatSampleValue(value)}`);
    this.#samples++;
  }

  /** Samples added (after de-duplication). */
  get samples(): number {
    return this.#samples;
  }

  /** Family names, sorted. */
  names(): string[] {
    return [...this.#families.keys()].sort();
  }

  /** The text format, families sorted by name. */
  text(): string {
    const out: string[] = [];
    for (const name of this.names()) {
      const f = this.#families.get(name)!;
      out.push(`# HELP ${name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      out.push(`# TYPE ${name} ${f.type}`);
      for (const l of f.lines) out.push(l);
    }
    return out.length > 0 ? out.join("\n") + "\n" : "";
  }
}
