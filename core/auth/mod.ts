/**
 * Access control: credentials per scope (write, read, admin) and TLS
 * listener options. Routes declare their scope where they are registered
 * (routes/scope.ts).
 *
 * @module
 */
export { Authenticator, type AuthResult, type Scope } from "./auth.ts";
export { type AuthComponent, authComponent } from "./component.ts";
