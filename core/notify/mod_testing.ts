/**
 * Test support of core/notify for the tests of other modules and routes.
 * Perch itself never loads this door.
 *
 * @module
 */
export { alert, setup, webhookConfig } from "./_test_util.ts";
