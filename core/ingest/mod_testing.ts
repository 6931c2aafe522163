/**
 * Test support of core/ingest for the tests of other modules and routes.
 * Perch itself never loads this door.
 *
 * @module
 */
export { RecordingAppender } from "./_test_util.ts";
