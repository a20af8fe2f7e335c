// Logs go to stderr, as consola's fancy output or one JSON object per line.
import { createConsola, type ConsolaInstance, type LogObject } from "consola";

export type LogFormat = "fancy" | "json";
export const LOG_LEVELS = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 } as const;
export type LogLevelName = keyof typeof LOG_LEVELS;

function jsonReporter(write: (s: string) => void) {
  return {
    log(o: LogObject) {
      const [msg, ...rest] = o.args;
      const line: Record<string, unknown> = { time: o.date.toISOString(), level: o.type, msg: String(msg) };
      if (o.tag) line.stage = o.tag;
      for (const extra of rest) if (extra && typeof extra === "object") Object.assign(line, extra);
      write(JSON.stringify(line) + "\n");
    },
  };
}

export function createLogger(opts: { level: LogLevelName; format: LogFormat; write?: (s: string) => void }): ConsolaInstance {
  const write = opts.write ?? ((s: string) => process.stderr.write(s));
  const logger = createConsola({
    level: LOG_LEVELS[opts.level],
    // Repeated lines are real repeated facts here (a restart loop, a storm): never collapse them.
    throttle: 0,
    stdout: process.stderr,
    stderr: process.stderr,
  });
  if (opts.format === "json") logger.setReporters([jsonReporter(write)]);
  return logger;
}
