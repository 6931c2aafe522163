/**
 * Test support: a DB in a temporary directory.
 *
 * @module
 */
import { type DB, openDB } from "./db.ts";

/** Opens a DB in `dir` (a new temporary directory by default), without worker or background timer. */
export async function tempDB(dir?: string): Promise<{ db: DB; dir: string }> {
  dir ??= await Deno.makeTempDir({ prefix: "perch-test-" });
  const db = await openDB({
    dir,
    useWorker: false,
    backgroundIntervalMs: 0,
    outOfOrderWindowMs: Infinity,
  });
  return { db, dir };
}
