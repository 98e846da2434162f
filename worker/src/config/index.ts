export { ConfigError, type LoadConfigOptions, loadConfig, SETTINGS } from "./load.ts";
export { machineDefaults, type RawConfig, type WorkerConfig } from "./schema.ts";
