// What kubelet does through CRI, done from the test: pod sandboxes with kubelet's labels and a
// kubelet-shaped cgroup parent (cgroupfs driver), then containers with a memory limit.
// Requests are built with the agent's own wire writer; the real containerd is what checks them.
import { Client, credentials, status, type ServiceError } from "@grpc/grpc-js";
import { readdirSync, rmdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { SERVICE } from "../../src/cri/messages.ts";
import { Message, Writer } from "../../src/cri/wire.ts";
import { ownMemoryCgroup, randomHex } from "./cgroup.ts";
import { IMAGE } from "./containerd.ts";

export type Qos = "guaranteed" | "burstable" | "besteffort";

/** Mount { container_path = 1; host_path = 2 }. */
export interface Mount {
  host: string;
  container: string;
}

export interface Pod {
  uid: string;
  name: string;
  namespace: string;
  sandboxId: string;
  /** The cgroup parent given to the runtime: <own memory cgroup>/<base>/kubepods[/<qos>]/pod<uid>. */
  cgroupParent: string;
  config: Writer;
}

/** NamespaceMode: POD 0, CONTAINER 1, NODE 2. */
const NODE = 2;
const CONTAINER = 1;

export class Kubelet {
  private readonly client: Client;
  /** Our own memory cgroup, under which the kubelet tree goes (never the host's root). */
  readonly own = ownMemoryCgroup();
  /** A unique dir above kubepods, so that parallel tests and runs never share a tree. */
  readonly base = `oomtrace-cri-${randomHex(8)}`;

  constructor(socket: string) {
    this.client = new Client(`unix://${socket}`, credentials.createInsecure(), { "grpc.max_reconnect_backoff_ms": 2000 });
  }

  /** One CRI call; retried while the runtime is unavailable (restarting), as kubelet would. */
  private async call(method: string, req: Writer, timeoutMs = 60_000): Promise<Message> {
    for (let tries = 0; ; tries++) {
      try {
        return await this.once(method, req, timeoutMs);
      } catch (e) {
        if ((e as ServiceError).code !== status.UNAVAILABLE || tries >= 50) throw new Error(`${method}: ${(e as Error).message}`);
        await Bun.sleep(200);
      }
    }
  }

  private once(method: string, req: Writer, timeoutMs: number): Promise<Message> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<Buffer, Buffer>(
        `${SERVICE}/${method}`,
        (b) => b,
        (b) => b,
        Buffer.from(req.finish()),
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, reply?: Buffer) => (err ? reject(err) : resolve(Message.parse(reply!))),
      );
    });
  }

  /** RunPodSandbox with host networking (no CNI), the labels kubelet sets, and the QoS class's cgroup parent. */
  async runPod(qos: Qos, labels: Record<string, string> = {}): Promise<Pod> {
    const uid = crypto.randomUUID();
    const name = `web-${randomHex(6)}`;
    const namespace = "oomtrace-e2e";
    const cgroupParent = join(this.own.path, this.base, "kubepods", ...(qos === "guaranteed" ? [] : [qos]), `pod${uid}`);
    const config = new Writer()
      .message(1, new Writer().string(1, name).string(2, uid).string(3, namespace))
      .stringMap(6, { ...labels, "io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace, "io.kubernetes.pod.uid": uid })
      .message(
        8,
        new Writer()
          .string(1, cgroupParent)
          .message(2, new Writer().message(1, new Writer().varint(1, NODE).varint(2, CONTAINER).varint(3, NODE))),
      );
    const reply = await this.call("RunPodSandbox", new Writer().message(1, config));
    return { uid, name, namespace, sandboxId: reply.string(1), cgroupParent, config };
  }

  /** CreateContainer (kubelet's labels, a memory limit, host dirs mounted) and StartContainer; returns the container id. */
  async startContainer(pod: Pod, name: string, command: string[], memoryLimit: number, attempt = 0, mounts: Mount[] = []): Promise<string> {
    const config = new Writer()
      .message(1, new Writer().string(1, name).varint(2, attempt))
      .message(2, new Writer().string(1, IMAGE))
      .strings(3, command)
      .stringMap(9, {
        "io.kubernetes.container.name": name,
        "io.kubernetes.pod.name": pod.name,
        "io.kubernetes.pod.namespace": pod.namespace,
        "io.kubernetes.pod.uid": pod.uid,
      })
      .message(
        15,
        new Writer()
          .message(1, new Writer().varint(4, memoryLimit))
          .message(2, new Writer().message(3, new Writer().varint(1, NODE).varint(2, CONTAINER).varint(3, NODE))),
      );
    for (const m of mounts) config.message(7, new Writer().string(1, m.container).string(2, m.host));
    const reply = await this.call("CreateContainer", new Writer().string(1, pod.sandboxId).message(2, config).message(3, pod.config));
    const id = reply.string(1);
    await this.call("StartContainer", new Writer().string(1, id));
    return id;
  }

  /**
   * Waits until the container has exited; returns its exit code (137: SIGKILL). Not the runtime's
   * reason: containerd 1.6 on cgroup v1 says "OOMKilled" only when the shim's OOM notice beats the
   * exit, and measured here it often says "Error" for a real memcg kill.
   */
  async exited(id: string, timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const s = (await this.call("ContainerStatus", new Writer().string(1, id))).message(1)!;
      // ContainerStatus { state = 3 (CONTAINER_EXITED = 2), exit_code = 7 }
      if (s.varint(3) === 2n) return Number(BigInt.asIntN(32, s.varint(7)));
      await Bun.sleep(100);
    }
    throw new Error(`container ${id} did not exit in ${timeoutMs} ms`);
  }

  /** StopPodSandbox then RemovePodSandbox, as kubelet does when a pod is deleted. */
  async removePod(pod: Pod): Promise<void> {
    await this.call("StopPodSandbox", new Writer().string(1, pod.sandboxId));
    await this.call("RemovePodSandbox", new Writer().string(1, pod.sandboxId));
  }

  /**
   * Removes the kubelet tree, deepest first, in every controller runc made it in (kubelet would do
   * this itself). In the other controllers runc also made our memory cgroup's path: those dirs go too
   * when empty.
   */
  removeTree(): void {
    for (const ctrl of readdirSync("/sys/fs/cgroup")) {
      const top = join("/sys/fs/cgroup", ctrl, this.own.path, this.base);
      if (!existsSync(top)) continue;
      removeDirs(top);
      if (ctrl === "memory") continue;
      for (let dir = join(top, ".."); dir !== join("/sys/fs/cgroup", ctrl); dir = join(dir, "..")) {
        try {
          rmdirSync(dir);
        } catch {
          break;
        }
      }
    }
  }

  close(): void {
    this.client.close();
  }
}

function removeDirs(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeDirs(join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {}
}
