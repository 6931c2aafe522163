/**
 * Test helpers for the PromQL parser tests.
 *
 * @module
 */
import type { Matcher } from "../model/mod.ts";

/**
 * Copies a parsed tree without positions and with matchers reduced to
 * `{type, name, value}` and sorted (the printer sorts them, as Prometheus's does),
 * so trees parsed from different texts compare equal.
 */
export function stripForCompare(node: unknown): unknown {
  if (Array.isArray(node)) {
    const items = node.map(stripForCompare);
    if (node.length > 0 && typeof node[0]?.matches === "function") {
      const key = (m: unknown) => JSON.stringify(m);
      items.sort((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
    }
    return items;
  }
  if (node === null || typeof node !== "object") return node;
  const o = node as Record<string, unknown>;
  if (typeof o.matches === "function") {
    const m = o as unknown as Matcher;
    return { type: m.type, name: m.name, value: m.value };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === "pos" || v === undefined) continue;
    out[k] = stripForCompare(v);
  }
  return out;
}
