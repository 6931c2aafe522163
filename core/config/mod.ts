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
} from "./resolve.ts";
export { redactSecrets } from "./redact.ts";
export { presentConfig } from "./present.ts";
export { configDir, ConfigError, type ConfigSource, loadConfig, resolvePath } from "./load.ts";
export { watchFile } from "./watch.ts";
export { flagOverrides, FLAGS, type FlagValues, flagValues, HELP, parseFlags } from "./cli.ts";
export {
  alertmanagerGlobalFields,
  amBool,
  amDuration,
  amDurationOrZero,
  amHostPort,
  amHttpConfigSchema,
  amStr,
  amStrMap,
  amTlsConfigSchema,
  amUrl,
} from "./alertmanager_fields.ts";
export { type AuthConfig, authSchema } from "./auth_schema.ts";
