import { describe, expect, test } from "bun:test";
import { ConfigError, resolveRunConfig, runArgs } from "../../../src/config/run.ts";

const DEFAULTS: Record<string, unknown> = Object.fromEntries(
  Object.entries(runArgs).flatMap(([flag, def]) => ("default" in def ? [[flag, def.default]] : [])),
);
const pressure = (flags: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}) =>
  resolveRunConfig({ ...DEFAULTS, ...flags }, env, (f) => f in flags, "worker-1").pressure;

describe("early-warning options", () => {
  test("the documented defaults", () => {
    expect(pressure()).toEqual({
      enabled: true,
      intervalMs: 1000,
      windowMs: 30_000,
      thresholds: { timeToOomSeconds: 300, minConfidence: 0.6, usageRatio: 0.9, psiFullAvg10: 10 },
      cgroupRoot: null,
    });
  });

  test("flags over environment variables, and every variable read", () => {
    const env = {
      OOMTRACE_PRESSURE_INTERVAL: "500",
      OOMTRACE_PRESSURE_WINDOW: "10000",
      OOMTRACE_PRESSURE_TIME_TO_OOM: "120",
      OOMTRACE_PRESSURE_CONFIDENCE: "0.8",
      OOMTRACE_PRESSURE_USAGE: "95.5",
      OOMTRACE_PRESSURE_PSI: "25",
      OOMTRACE_PRESSURE_CGROUP_ROOT: "/host/sys/fs/cgroup",
    };
    expect(pressure({}, env)).toEqual({
      enabled: true,
      intervalMs: 500,
      windowMs: 10_000,
      thresholds: { timeToOomSeconds: 120, minConfidence: 0.8, usageRatio: 0.955, psiFullAvg10: 25 },
      cgroupRoot: "/host/sys/fs/cgroup",
    });
    expect(pressure({ "pressure-interval": "250", "pressure-cgroup-root": "/x" }, env)).toMatchObject({ intervalMs: 250, cgroupRoot: "/x" });
  });

  test("0 turns a threshold off; --no-pressure turns it all off", () => {
    const p = pressure({ "pressure-time-to-oom": "0", "pressure-usage": "0", "pressure-psi": "0" });
    expect(p.thresholds).toEqual({ timeToOomSeconds: null, minConfidence: 0.6, usageRatio: null, psiFullAvg10: null });
    expect(pressure({ pressure: false }).enabled).toBe(false);
  });

  test.each([
    ["pressure-interval", "99", /--pressure-interval must be a number of milliseconds from 100 to 600000; got "99"/],
    ["pressure-interval", "1e3", /--pressure-interval/],
    ["pressure-window", "-5", /--pressure-window/],
    ["pressure-time-to-oom", "soon", /--pressure-time-to-oom must be a number of seconds/],
    ["pressure-confidence", "1.5", /--pressure-confidence must be a number from 0 to 1; got "1.5"/],
    ["pressure-usage", "101", /--pressure-usage must be a number of percent from 0 to 100/],
    ["pressure-psi", "", /--pressure-psi/],
  ])("--%s %j is refused with the allowed range", (flag, value, message) => {
    expect(() => pressure({ [flag]: value })).toThrow(ConfigError);
    expect(() => pressure({ [flag]: value })).toThrow(message);
  });

  test("a window too short for the fit says how to fix it", () => {
    const tooShort = () => pressure({ "pressure-interval": "2000", "pressure-window": "10000" });
    expect(tooShort).toThrow(ConfigError);
    expect(tooShort).toThrow(/at least 6 samples .* raise the window or shorten the interval/);
  });
});
