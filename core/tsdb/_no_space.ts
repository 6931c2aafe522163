/**
 * Telling a full disk from other write failures.
 *
 * @module
 */

/** True when an error means the disk is full (ENOSPC, or SQLite's SQLITE_FULL). */
export function isNoSpace(e: unknown): boolean {
  const s = e instanceof Error
    ? `${e.name} ${e.message} ${(e as { code?: string }).code}`
    : String(e);
  return /ENOSPC|os error 28|No space left|disk is full|SQLITE_FULL/i.test(s);
}
