/**
 * Test support of core/rules for the tests of other modules and routes.
 * Perch itself never loads this door.
 *
 * @module
 */
export { harness } from "./_harness.ts";
