/** Perch's version, reported in build info, `/metrics` and the UI. */
export const VERSION = "0.1.0";

/** Build information in the shape Prometheus and Alertmanager report it. */
export function buildInfo(): {
  version: string;
  revision: string;
  branch: string;
  buildUser: string;
  buildDate: string;
  goVersion: string;
} {
  return {
    version: VERSION,
    revision: "",
    branch: "",
    buildUser: "",
    buildDate: "",
    goVersion: `deno${Deno.version.deno}`,
  };
}
