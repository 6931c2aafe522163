/**
 * Every island by name. The server marks islands with this name and the
 * client bundle hydrates them from the same table.
 */
import type { ComponentType } from "preact";
import HealthPanel from "./HealthPanel.tsx";

// deno-lint-ignore no-explicit-any
export const ISLANDS: Record<string, ComponentType<any>> = {
  HealthPanel,
};
