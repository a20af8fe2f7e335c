// Container runtime (CRI) options of `oomtrace run`: citty definitions and validation (pure).
import { DEFAULT_SOCKETS, socketPath } from "../cri/endpoint.ts";
import { ConfigError } from "./errors.ts";

export const criArgs = {
  cri: { type: "boolean", default: true, description: "Name pods through the container runtime (CRI) when the API server does not; --no-cri to skip" },
  "cri-endpoint": {
    type: "string",
    default: "auto",
    description: `CRI socket (unix:///path or /path, as the agent sees it); auto tries ${DEFAULT_SOCKETS.join(", ")} under --host-root; empty turns CRI off [env OOMTRACE_CRI_ENDPOINT]`,
  },
  "cri-resync": {
    type: "string",
    default: "10000",
    description: "Milliseconds between listings of the runtime's pods and containers, which keep names ready for a kill [env OOMTRACE_CRI_RESYNC]",
  },
} as const;

export interface CriConfig {
  /** off; auto: the first default socket under the host root; or this socket path. */
  endpoint: "off" | "auto" | { path: string };
  resyncMs: number;
}

const RESYNC_MIN = 1_000;
const RESYNC_MAX = 3_600_000;

export function resolveCriConfig(pick: (flag: string, envName: string, emptyMeansOff?: boolean) => string, args: Record<string, unknown>): CriConfig {
  const raw = pick("cri-endpoint", "OOMTRACE_CRI_ENDPOINT", true);
  let endpoint: CriConfig["endpoint"];
  if (args.cri === false || raw === "") endpoint = "off";
  else if (raw === "auto") endpoint = "auto";
  else {
    const path = socketPath(raw);
    if (!path) throw new ConfigError(`--cri-endpoint must be unix:///absolute/path, /absolute/path, auto or empty; got ${JSON.stringify(raw)}`);
    endpoint = { path };
  }
  const resync = pick("cri-resync", "OOMTRACE_CRI_RESYNC");
  if (!/^\d{1,7}$/.test(resync) || Number(resync) < RESYNC_MIN || Number(resync) > RESYNC_MAX) {
    throw new ConfigError(`--cri-resync must be a whole number of milliseconds from ${RESYNC_MIN} to ${RESYNC_MAX}; got ${JSON.stringify(resync)}`);
  }
  return { endpoint, resyncMs: Number(resync) };
}
