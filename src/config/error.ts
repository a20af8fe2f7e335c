// The error for a bad flag or variable (exit code 2). Its own file, so that option files spread
// into runArgs can throw it without importing run.ts, which imports them.
export class ConfigError extends Error {
  readonly code = "E_CONFIG";
}
