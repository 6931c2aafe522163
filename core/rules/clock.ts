/**
 * The clock rule groups are scheduled on; see core/clock.ts.
 *
 * @module
 */
export { type Clock, realClock, type TimerId } from "../clock.ts";
