/**
 * The part of core/model that browser code (islands) loads: no Deno APIs and
 * no heavy dependencies, so the island bundles stay small. Server code imports
 * `mod.ts`.
 *
 * @module
 */
export { formatDuration, parseDuration } from "./units.ts";
