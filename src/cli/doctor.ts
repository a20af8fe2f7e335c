// `oomtrace doctor`: one screen on whether this node can run oomtrace; exit 0 when ready, 1 when not.
import { hostname } from "node:os";
import { defineCommand } from "citty";
import { doctorArgs, resolveDoctorConfig } from "../config/doctor.ts";
import { runDoctor } from "../doctor/index.ts";
import { clusterCheck } from "../kube/doctor.ts";
import { renderReport } from "../doctor/report.ts";
import { fail, given, rejectUnknown } from "./args.ts";
import { wantsColor } from "./watch.ts";

/** bpftrace compiles each probe before attaching: seconds here, more on a busy node. */
const ATTACH_TIMEOUT_MS = 60_000;

export const doctor = defineCommand({
  meta: { name: "doctor", description: "Check whether this node can run oomtrace, and say what to fix (exit 0 when ready)" },
  args: doctorArgs,
  async run({ args, rawArgs }) {
    let cfg;
    try {
      rejectUnknown(rawArgs, doctorArgs);
      cfg = resolveDoctorConfig(args, process.env, given(rawArgs), hostname().toLowerCase());
    } catch (e) {
      fail(e);
    }
    try {
      const r = await runDoctor({ ...cfg, node: cfg.node, attachTimeoutMs: ATTACH_TIMEOUT_MS, cluster: clusterCheck(cfg.kube, process.env) });
      process.stdout.write(cfg.output === "json" ? JSON.stringify(r, null, 2) + "\n" : renderReport(r, wantsColor(process.stdout.isTTY === true, process.env)));
      process.exit(r.ready ? 0 : 1);
    } catch (e) {
      fail(e);
    }
  },
});
