/**
 * Access control: credentials per scope (write, read, admin) and TLS
 * listener options. Routes declare their scope where they are registered
 * (routes/scope.ts).
 *
 * @module
 */
export { type AuthConfig, authSchema } from "../config/mod.ts";
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
  tlsServeOptions,
} from "./auth.ts";
/** Hex SHA-256 of a secret, as written in `password_sha256` / `token_sha256`. */
export { sha256Hex } from "../model/mod.ts";
export { type AuthComponent, authComponent } from "./component.ts";
