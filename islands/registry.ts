/**
 * Islands of the light bundle by name. The server marks islands with this
 * name and `client.ts` hydrates them from the same table.
 */
import type { ComponentType } from "preact";
import HealthPanel from "./HealthPanel.tsx";
import { AlertsView } from "./Alerts.tsx";
import { ReceiversView } from "./Receivers.tsx";
import { DashboardActions, HomeStats, StatusView, TargetsView } from "./pages.tsx";

// deno-lint-ignore no-explicit-any
export const ISLANDS: Record<string, ComponentType<any>> = {
  HealthPanel,
  AlertsView,
  ReceiversView,
  TargetsView,
  StatusView,
  HomeStats,
  DashboardActions,
};
