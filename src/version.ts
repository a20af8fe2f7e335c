// Set at build time by scripts/build.ts (--define); "dev" when run from source.
declare const OOMTRACE_VERSION: string | undefined;
export const VERSION: string = typeof OOMTRACE_VERSION === "string" ? OOMTRACE_VERSION : "dev";
