// Where the container runtime's CRI socket is: the flag's path, or the first usual socket that exists.
import { statSync } from "node:fs";
import { join } from "node:path";

/**
 * The usual sockets, in the order they are tried. Paths under /run, not /var/run: /var/run is a
 * symlink to /run, which would resolve inside the agent's container rather than under --host-root.
 */
export const DEFAULT_SOCKETS = [
  "/run/containerd/containerd.sock",
  "/run/crio/crio.sock",
  "/run/k3s/containerd/containerd.sock",
  "/run/cri-dockerd.sock",
] as const;

/** `unix:///path` or a plain absolute path → the path; null for anything else. */
export function socketPath(endpoint: string): string | null {
  const path = endpoint.startsWith("unix://") ? endpoint.slice("unix://".length) : endpoint;
  return path.startsWith("/") && !path.includes("\0") ? path : null;
}

export const isSocket = (path: string): boolean => {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
};

/** The first default socket that exists under the host root, or null. */
export function findSocket(hostRoot: string, exists: (path: string) => boolean = isSocket): string | null {
  for (const s of DEFAULT_SOCKETS) {
    const path = join(hostRoot, s);
    if (exists(path)) return path;
  }
  return null;
}
