// The node facts doctor reads beyond the probe's: runtime sockets, the kubelet's cgroup tree, /dev/kmsg, the metrics port (I/O).
import { closeSync, constants, existsSync, openSync, readdirSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { join } from "node:path";
import { DEFAULT_SOCKETS, isSocket } from "../cri/endpoint.ts";
import { parseBindAddress } from "../server.ts";

/** The runtime behind each socket the CRI name source tries, for doctor's report. */
const RUNTIME_OF: Record<(typeof DEFAULT_SOCKETS)[number], string> = {
  "/run/containerd/containerd.sock": "containerd",
  "/run/crio/crio.sock": "cri-o",
  "/run/k3s/containerd/containerd.sock": "containerd (k3s)",
  "/run/cri-dockerd.sock": "cri-dockerd",
};

/** Where container runtimes put their CRI socket: the places the CRI name source tries, in its order. */
export const RUNTIME_SOCKETS: readonly { runtime: string; path: string }[] = DEFAULT_SOCKETS.map((path) => ({ runtime: RUNTIME_OF[path], path }));

export interface SocketFound {
  runtime: string;
  path: string;
  /** Something accepted a connection on it (a socket file can outlive its daemon). */
  answers: boolean;
}

function connects(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createConnection({ path });
    const end = (ok: boolean) => {
      s.destroy();
      done(ok);
    };
    s.setTimeout(timeoutMs, () => end(false));
    s.once("connect", () => end(true));
    s.once("error", () => end(false));
  });
}

export async function findRuntimeSockets(hostRoot: string): Promise<SocketFound[]> {
  const found: SocketFound[] = [];
  for (const s of RUNTIME_SOCKETS) {
    const path = join(hostRoot, s.path);
    if (isSocket(path)) found.push({ runtime: s.runtime, path, answers: await connects(path, 1000) });
  }
  return found;
}

/** The kubelet's cgroup driver, from the top of its tree under the memory hierarchy (pure). */
export function kubeletDriver(entries: readonly string[]): "systemd" | "cgroupfs" | "both" | null {
  const systemd = entries.includes("kubepods.slice");
  const cgroupfs = entries.includes("kubepods");
  return systemd && cgroupfs ? "both" : systemd ? "systemd" : cgroupfs ? "cgroupfs" : null;
}

export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Whether /dev/kmsg opens for reading, as the agent's second source needs. */
export function kmsgReadable(hostRoot: string): { ok: boolean; error: string | null } {
  const path = join(hostRoot, "/dev/kmsg");
  if (!existsSync(path)) return { ok: false, error: `${path} does not exist` };
  try {
    closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
    return { ok: true, error: null };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** Whether the metrics address can be bound now; "" means metrics are off. */
export async function metricsPortFree(address: string): Promise<{ free: boolean; error: string | null } | null> {
  if (address === "") return null;
  const { hostname, port } = parseBindAddress(address);
  return new Promise((done) => {
    const server = createServer();
    server.once("error", (e: NodeJS.ErrnoException) => done({ free: false, error: e.code === "EADDRINUSE" ? "in use by another process" : e.message }));
    server.listen({ host: hostname, port, exclusive: true }, () => server.close(() => done({ free: true, error: null })));
  });
}
