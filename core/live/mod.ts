/**
 * Live updates for dashboards: the subscription hub behind `/ws`.
 *
 * @module
 */
export {
  type Clock,
  type LiveClient,
  type LiveConnection,
  LiveHub,
  type LiveHubOptions,
  type LiveQueryFn,
  type LiveSeries,
} from "./hub.ts";
export { type LiveComponent, liveComponent } from "./component.ts";
