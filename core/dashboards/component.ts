/**
 * The dashboards component: dashboards stored in state.kv; the built-in
 * overview and a directory of JSON files (`dashboards.provision_dir`) are
 * provisioned after start-up and on every reload (a user's edits are kept).
 *
 * @module
 */
import { type Config, resolvePath } from "../config/mod.ts";
import { type Basics, type Component, LoadOnce, started } from "../lifecycle.ts";
import { dirSource, provisionDashboards } from "./provision.ts";
import { DashboardStore } from "./store.ts";

/** What the dashboards component offers: the store the routes and pages use. */
export interface DashboardsComponent extends Component<Config, string> {
  readonly store: DashboardStore;
  /**
   * Resolves once the built-in and directory dashboards are provisioned:
   * after start-up (`afterReady`), or at once when something asks here first.
   */
  loaded(): Promise<void>;
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
  let first = "";
  const loading = new LoadOnce(() => provision(first));
  return {
    name: "dashboards",
    section(c) {
      const dir = c.dashboards.provision_dir;
      return { ok: true, value: dir === "" ? "" : resolvePath(deps.configDir, dir) };
    },
    start(dir) {
      store = new DashboardStore(deps.kv());
      first = dir;
      return Promise.resolve();
    },
    afterReady: () => loading.run(),
    loaded: () => loading.run(),
    async apply(dir) {
      await loading.run();
      await provision(dir);
    },
    stop: () => loading.settled(),
    get store() {
      return started("dashboards", store);
    },
  };
}
