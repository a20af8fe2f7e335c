// `oomtrace doctor` options: run's flags it shares (same definitions), its output flag, validation (pure).
import { parseBindAddress } from "../server.ts";
import { ConfigError } from "./errors.ts";
import { kubeArgs, resolveKubeConfig, type KubeConfig } from "./kube.ts";
import { flagOrEnv, oneOf, runArgsOf } from "./run.ts";

export const doctorArgs = {
  output: { type: "string", alias: "o", default: "text", description: "text (one screen) | json (for automation) [env OOMTRACE_DOCTOR_OUTPUT]" },
  ...runArgsOf("node-name", "bpftrace", "host-root", "metrics-bind-address"),
  // The same Kubernetes flags as run: they decide which permissions are checked.
  ...kubeArgs,
} as const;

export interface DoctorConfig {
  output: "text" | "json";
  node: string;
  bpftrace: string;
  hostRoot: string;
  metricsBindAddress: string;
  kube: KubeConfig;
}

export function resolveDoctorConfig(
  args: Record<string, unknown>,
  env: Record<string, string | undefined>,
  given: (flag: string) => boolean,
  hostname: string,
): DoctorConfig {
  const pick = flagOrEnv(args, env, given);
  const output = oneOf("output", pick("output", "OOMTRACE_DOCTOR_OUTPUT"), ["text", "json"] as const);
  const metricsBindAddress = pick("metrics-bind-address", "OOMTRACE_METRICS_BIND_ADDRESS", true);
  if (metricsBindAddress !== "") {
    try {
      parseBindAddress(metricsBindAddress);
    } catch (e) {
      throw new ConfigError((e as Error).message);
    }
  }
  return {
    output,
    node: pick("node-name", "NODE_NAME") || hostname,
    bpftrace: pick("bpftrace", "OOMTRACE_BPFTRACE") || "bpftrace",
    hostRoot: pick("host-root", "OOMTRACE_HOST_ROOT") || "/",
    metricsBindAddress,
    kube: resolveKubeConfig(pick, args, env, given),
  };
}
