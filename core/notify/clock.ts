/**
 * The clock notify runs on; see core/clock.ts.
 *
 * @module
 */
export { type Clock, FakeClock, realClock, type TimerId } from "../clock.ts";
