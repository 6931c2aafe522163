/**
 * Configuration: schema, defaults, layered resolution.
 *
 * @module
 */
export { type Config, type ConfigInput, configSchema, parseListen } from "./schema.ts";
export {
  type FlagOverrides,
  resolveConfig,
  type ResolveInput,
  type ResolveResult,
  restartOnlyChanges,
} from "./resolve.ts";
export { redactSecrets } from "./redact.ts";
export { presentConfig } from "./present.ts";
