/**
 * Islands of the chart bundle by name (see `client_dash.ts`).
 */
import type { ComponentType } from "preact";
import DashboardView from "./Dashboard.tsx";
import Explore from "./Explore.tsx";

// deno-lint-ignore no-explicit-any
export const DASH_ISLANDS: Record<string, ComponentType<any>> = {
  DashboardView,
  Explore,
};
