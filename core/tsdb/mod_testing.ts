/**
 * Test support of core/tsdb for the tests of other modules and routes.
 * Perch itself never loads this door.
 *
 * @module
 */
export { MemStore } from "./mem_querier.ts";
export { generateEdgeWorkload } from "./edge_workload.ts";
export { counterHistogram } from "./_histogram_test_util.ts";
export { tempDB } from "./_test_util.ts";
