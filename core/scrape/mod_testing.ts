/**
 * Test support of core/scrape for the tests of other modules and routes.
 * Perch itself never loads this door.
 *
 * @module
 */
export { exposition, recordingAppender } from "./_test_util.ts";
