/**
 * The auth component: credentials per scope from `auth`, rebuilt on reload;
 * with no credentials and a listener beyond loopback, admin needs a token
 * generated into the data dir; TLS options for the listener.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { type Basics, type Component, started } from "../lifecycle.ts";
import {
  hasCredentials,
  isLoopback,
  loadOrCreateAdminToken,
  withAdminToken,
} from "./admin_token.ts";
import { Authenticator, tlsServeOptions } from "./auth.ts";
import type { AuthConfig } from "../config/mod.ts";

/** What the auth component offers the HTTP layer. */
export interface AuthComponent extends Component<Config, AuthConfig> {
  /** The authenticator of the config in force (after start). */
  readonly authenticator: Authenticator;
  /** TLS options of the listener (`auth.tls` at start). */
  readonly tls: { cert: string; key: string } | Record<never, never>;
}

/** Access control per scope (write, read, admin). */
export function authComponent(
  deps: Pick<Basics, "logger"> & {
    /** The data dir, where the generated admin token is kept. */
    readonly dataDir: () => string;
    /** The host name Perch listens on. */
    readonly listenHostname: () => string;
  },
): AuthComponent {
  const log = deps.logger.child("main");
  let adminToken: { token: string; path: string; created: boolean } | undefined;
  let authenticator: Authenticator | undefined;
  let tls: { cert: string; key: string } | Record<never, never> = {};
  const authFor = (auth: AuthConfig) => {
    const a = new Authenticator(
      adminToken && !hasCredentials(auth) ? withAdminToken(auth, adminToken.token) : auth,
    );
    const open = a.openScopes();
    log.info(open.length === 3 ? "access: every scope is open" : "access", {
      open_scopes: open,
      ...(adminToken && !hasCredentials(auth) ? { admin_token_file: adminToken.path } : {}),
    });
    return a;
  };
  return {
    name: "auth",
    restartOnly: ["auth.tls"],
    section: (c) => ({ ok: true, value: c.auth }),
    async start(auth) {
      tls = await tlsServeOptions(auth);
      adminToken = !hasCredentials(auth) && !isLoopback(deps.listenHostname())
        ? await loadOrCreateAdminToken(deps.dataDir())
        : undefined;
      if (adminToken?.created) {
        log.warn(
          "generated an admin token: admin actions need it as 'Authorization: Bearer <token>'",
          {
            token: adminToken.token,
            file: adminToken.path,
            rotate: "delete the file and restart Perch; or configure auth: to replace it",
          },
        );
      }
      authenticator = authFor(auth);
    },
    apply(auth) {
      authenticator = authFor(auth);
    },
    stop: () => Promise.resolve(),
    get authenticator() {
      return started("auth", authenticator);
    },
    get tls() {
      return tls;
    },
  };
}
