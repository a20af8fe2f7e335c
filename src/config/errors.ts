/** A bad flag, environment variable or config value: the CLI prints it and exits 2. */
export class ConfigError extends Error {
  readonly code = "E_CONFIG";
}
