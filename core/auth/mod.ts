/**
 * Access control: credentials per scope (write, read, admin), the scope of
 * each route, and TLS listener options.
 *
 * @module
 */
export { type AuthConfig, authSchema } from "./config.ts";
export {
  ADMIN_TOKEN_FILE,
  hasCredentials,
  isLoopback,
  loadOrCreateAdminToken,
  withAdminToken,
} from "./admin_token.ts";
export {
  Authenticator,
  type AuthResult,
  constantTimeEqual,
  type Scope,
  scopeOf,
  sha256Hex,
  tlsServeOptions,
} from "./auth.ts";
