/**
 * The dashboards component: dashboards stored in state.kv; the built-in
 * overview and a directory of JSON files (`dashboards.provision_dir`) are
 * provisioned at start and on every reload (a user's edits are kept).
 *
 * @module
 */
import { type Config, resolvePath } from "../config/mod.ts";
import type { Basics, Component } from "../lifecycle.ts";
import { dirSource, provisionDashboards } from "./provision.ts";
import { DashboardStore } from "./store.ts";

/** What the dashboards component offers: the store the routes and pages use. */
export interface DashboardsComponent extends Component<Config, string> {
  readonly store: DashboardStore;
}

/** Dashboards; the section is the provisioning directory ("" for none). */
export function dashboardsComponent(
  deps: Pick<Basics, "logger"> & {
    /** state.kv (after it started). */
    readonly kv: () => Deno.Kv;
    readonly configDir: string;
  },
): DashboardsComponent {
  const log = deps.logger.child("main");
  let store: DashboardStore | undefined;
  const provision = async (dir: string) => {
    const rep = await provisionDashboards(store!, dir === "" ? undefined : dirSource(dir));
    for (const e of rep.errors) log.error("dashboard not provisioned", { ...e });
  };
  return {
    name: "dashboards",
    section(c) {
      const dir = c.dashboards.provision_dir;
      return { ok: true, value: dir === "" ? "" : resolvePath(deps.configDir, dir) };
    },
    async start(dir) {
      store = new DashboardStore(deps.kv());
      await provision(dir);
    },
    apply: provision,
    stop: () => Promise.resolve(),
    get store() {
      if (store === undefined) throw new Error("BUG: dashboards used before they started");
      return store;
    },
  };
}
