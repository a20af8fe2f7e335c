// A bad flag, environment variable or configuration value: the CLI exits with code 2 and the message.
export class ConfigError extends Error {
  readonly code = "E_CONFIG";
}
