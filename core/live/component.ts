/**
 * The live component: the `/ws` subscription hub, evaluating each group of
 * identical subscriptions once per tick through the query engine.
 *
 * @module
 */
import type { Basics, Component } from "../lifecycle.ts";
import { type Engine, histogramApiJson } from "../promql/mod.ts";
import { LiveHub, type LiveQueryFn, type LiveSeries } from "./hub.ts";

/** What the live component offers: the hub the `/ws` route serves. */
export interface LiveComponent extends Component {
  readonly hub: LiveHub;
}

/** Adapts a PromQL engine to the hub's query function. */
function engineQueryFn(engine: () => Engine): LiveQueryFn {
  return async (expr, start, end, step) => {
    const r = await engine().rangeQuery(expr, start, end, step);
    const v = r.result;
    if (v.type === "matrix") {
      return v.series.map(({ labels, t, v, histograms: hs }): LiveSeries =>
        hs
          ? { labels, t, v, histograms: { t: hs.t, h: hs.h.map(histogramApiJson) } }
          : { labels, t, v }
      );
    }
    if (v.type === "scalar") return [{ labels: [], t: [v.t], v: [v.v] }];
    throw new Error(`expected a range result, got ${v.type}`);
  };
}

/** Live panel updates: metric `perch_live_slow_clients_dropped_total`. */
export function liveComponent(
  deps: Pick<Basics, "registry"> & { readonly engine: () => Engine },
): LiveComponent {
  const slowClients = deps.registry.counter({
    name: "perch_live_slow_clients_dropped_total",
    help: "WebSocket clients dropped because they could not keep up.",
  });
  const hub = new LiveHub({
    query: engineQueryFn(deps.engine),
    clock: { now: Date.now },
    onSlowClient: () => slowClients.inc(),
  });
  return {
    name: "live",
    hub,
    start() {
      hub.start(1000);
      return Promise.resolve();
    },
    stop() {
      hub.closeAll();
      return Promise.resolve();
    },
  };
}
