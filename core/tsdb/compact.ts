/**
 * Compaction planning: which blocks to merge next. Pure: takes block metadata
 * and returns a plan; the block worker executes it (block_writer.ts).
 *
 * Windows grow 2h -> 6h -> 24h (1×, 3×, 12× the block range), aligned to the
 * epoch so each smaller window lies inside one larger window. A group is all
 * blocks lying inside one window of a level; it is merged when it has two or
 * more blocks (overlapping flushes of one window, or neighbours) and the
 * window is complete (ends before `horizon`, the time before which the head
 * flushes everything). Merging takes every block of the window, so no newer
 * block is ever outranked by the merged one.
 *
 * @module
 */
import type { BlockMeta } from "./block.ts";

/** Multipliers of the block range for each compaction level. */
export const COMPACTION_LEVELS = [1, 3, 12] as const;

/** What planning needs of a block (or of a histogram file: its window bounds). */
export type CompactionInput = Pick<BlockMeta, "seq" | "minT" | "maxT">;

/** Blocks to merge into one. */
export interface CompactionPlan {
  /** Input block sequence numbers, ascending. */
  inputs: number[];
  level: number;
  minT: number;
  maxT: number;
}

/** Returns the next compaction to run, or undefined when there is none. */
export function planCompaction(
  blocks: readonly CompactionInput[],
  blockRangeMs: number,
  horizon: number,
): CompactionPlan | undefined {
  for (let level = 0; level < COMPACTION_LEVELS.length; level++) {
    const r = blockRangeMs * COMPACTION_LEVELS[level];
    const groups = new Map<number, CompactionInput[]>();
    for (const b of blocks) {
      const w = Math.floor(b.minT / r);
      if (Math.floor(b.maxT / r) !== w) continue;
      const g = groups.get(w);
      if (g) g.push(b);
      else groups.set(w, [b]);
    }
    const keys = [...groups.keys()].sort((a, b) => a - b);
    for (const w of keys) {
      const g = groups.get(w)!;
      if (g.length < 2 || (w + 1) * r > horizon) continue;
      // Everything inside the window, of any level, joins the merge.
      const inputs = g.map((b) => b.seq).sort((a, b) => a - b);
      return { inputs, level, minT: w * r, maxT: (w + 1) * r - 1 };
    }
  }
  return undefined;
}
