/**
 * Memory kept for reuse between the requests of a burst (pooled buffers,
 * scratch arrays, idle query arenas) and given back once the burst is over.
 * Pools that keep memory register here; the reclaim after bursts
 * (core/selfmon/reclaim.ts) calls {@linkcode releaseIdleMemory} just before
 * its full collection, so what they held is freed by that collection. The
 * next burst allocates afresh: its first requests pay a few page faults,
 * and an idle Perch does not keep tens of MiB for a burst that may not come.
 *
 * Holders are held weakly: registering never keeps a pool alive. No
 * imports: the block worker loads modules that register.
 *
 * @module
 */

/** Something that keeps memory for reuse and can drop it. */
export interface IdleMemoryHolder {
  /** Drops what is kept for reuse (nothing in use); the next use allocates again. */
  releaseIdle(): void;
}

const holders = new Set<WeakRef<IdleMemoryHolder>>();

/** Registers `h` (weakly) to drop its kept memory at {@linkcode releaseIdleMemory}. */
export function keepsIdleMemory(h: IdleMemoryHolder): void {
  holders.add(new WeakRef(h));
}

/** Asks every live holder to drop its kept memory; returns how many were asked. */
export function releaseIdleMemory(): number {
  let n = 0;
  for (const ref of holders) {
    const h = ref.deref();
    if (h === undefined) {
      holders.delete(ref);
      continue;
    }
    h.releaseIdle();
    n++;
  }
  return n;
}
