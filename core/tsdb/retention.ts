/**
 * Retention planning: which whole blocks to delete, by age and by disk
 * budget, oldest first. Pure; the database performs the two-phase delete
 * (stop serving and rename to `.del`, remove after a grace period).
 *
 * @module
 */
import type { BlockMeta } from "./block.ts";

/** Inputs of {@linkcode planRetention}. */
export interface RetentionInput {
  now: number;
  /** Blocks whose newest sample is older than now - retentionMs go; 0 = off. */
  retentionMs: number;
  /** Total budget in bytes; 0 = off. */
  maxBytes: number;
  /** Bytes that retention cannot free (WAL, KV). */
  otherBytes: number;
}

/** What planning needs of a block (or of a histogram file, under an id of its own). */
export type RetentionItem = Pick<BlockMeta, "seq" | "maxT" | "bytes">;

/** Sequence numbers of blocks to delete, oldest first. */
export function planRetention(blocks: readonly RetentionItem[], o: RetentionInput): number[] {
  const sorted = [...blocks].sort((a, b) => a.maxT - b.maxT || a.seq - b.seq);
  const drop: number[] = [];
  let i = 0;
  if (o.retentionMs > 0) {
    const cutoff = o.now - o.retentionMs;
    while (i < sorted.length && sorted[i].maxT < cutoff) drop.push(sorted[i++].seq);
  }
  if (o.maxBytes > 0) {
    let total = o.otherBytes;
    for (let j = i; j < sorted.length; j++) total += sorted[j].bytes;
    while (i < sorted.length && total > o.maxBytes) {
      total -= sorted[i].bytes;
      drop.push(sorted[i++].seq);
    }
  }
  return drop;
}
