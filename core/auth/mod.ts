/**
 * Access control: credentials per scope (write, read, admin), the scope of
 * each route, and TLS listener options.
 *
 * @module
 */
export { type AuthConfig, authSchema } from "./config.ts";
export {
  Authenticator,
  type AuthResult,
  constantTimeEqual,
  type Scope,
  scopeOf,
  sha256Hex,
  tlsServeOptions,
} from "./auth.ts";
