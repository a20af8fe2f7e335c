#!/usr/bin/env bun
// The CLI: the only place that exits the process or installs signal handlers.
import { hostname } from "node:os";
import { defineCommand, runMain } from "citty";
import { ConfigError, flagOrEnv, resolveRunConfig, runArgs } from "../config/run.ts";
import { fail, filterFromArgs, given, rejectUnknown } from "./args.ts";
import { stdoutSink } from "../sinks/stdout.ts";
import { createLogger } from "../log.ts";
import { runAgentUntilSignal } from "./agent.ts";
import { detectFeatures } from "../probe/detect.ts";
import { chooseProbe, PROBE_MODES, type ProbeMode } from "../probe/choose.ts";
import { probeHeader, renderProbe } from "../probe/render.ts";
import { VERSION } from "../version.ts";
import { watch } from "./watch.ts";
import { doctor } from "./doctor.ts";

const run = defineCommand({
  meta: { name: "run", description: "Run the agent: report every OOM kill on this node as it happens" },
  args: runArgs,
  async run({ args, rawArgs }) {
    let cfg, filter;
    try {
      rejectUnknown(rawArgs, runArgs);
      cfg = resolveRunConfig(args, process.env, given(rawArgs), hostname().toLowerCase());
      filter = filterFromArgs(rawArgs, runArgs, args, process.env);
    } catch (e) {
      fail(e);
    }
    const log = createLogger({ level: cfg.logLevel, format: cfg.logFormat });
    log.info(`oomtrace ${VERSION} on node ${cfg.nodeName}`);
    // run is the only command that acts on kills: it alone lets the Kubernetes writers run.
    await runAgentUntilSignal(cfg, log, { outputs: cfg.output === "none" ? [] : [stdoutSink(cfg.output)], filter, writeToCluster: true });
  },
});

const probeArgs = {
  "probe-mode": { type: "string", default: "auto", description: "auto | fentry | kprobe | tracepoint [env OOMTRACE_PROBE_MODE]" },
  bpftrace: { type: "string", default: "bpftrace", description: "bpftrace executable, whose version shapes the script [env OOMTRACE_BPFTRACE]" },
  "host-root": { type: "string", default: "/", description: "Where the host's /proc and /sys are mounted [env OOMTRACE_HOST_ROOT]" },
} as const;

const probe = defineCommand({
  meta: { name: "probe", description: "Print the bpftrace script `run` would load on this kernel, with why it was chosen" },
  args: probeArgs,
  async run({ args, rawArgs }) {
    try {
      rejectUnknown(rawArgs, probeArgs);
      const pick = flagOrEnv(args, process.env, given(rawArgs));
      const mode = pick("probe-mode", "OOMTRACE_PROBE_MODE");
      if (mode !== "auto" && !PROBE_MODES.includes(mode as ProbeMode)) {
        throw new ConfigError(`--probe-mode must be one of auto, ${PROBE_MODES.join(", ")}; got ${JSON.stringify(mode)}`);
      }
      const features = await detectFeatures({ hostRoot: pick("host-root", "OOMTRACE_HOST_ROOT"), bpftrace: pick("bpftrace", "OOMTRACE_BPFTRACE") });
      const choice = chooseProbe(features, mode === "auto" ? undefined : (mode as ProbeMode));
      const chosen = choice.modes[0]!;
      process.stdout.write(probeHeader(features, chosen, choice.reasons) + renderProbe(features, chosen));
    } catch (e) {
      fail(e);
    }
  },
});

const main = defineCommand({
  meta: { name: "oomtrace", version: VERSION, description: "See every Linux OOM kill as it happens: which pod, container and process died, and why" },
  subCommands: { run, watch, doctor, probe },
});

runMain(main);
