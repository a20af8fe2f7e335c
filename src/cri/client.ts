// gRPC over the runtime's unix socket (@grpc/grpc-js, which runs in the compiled binary), with our own codec.
import { Client, credentials, status, type ServiceError } from "@grpc/grpc-js";
import * as msg from "./messages.ts";
import { WireError } from "./wire.ts";

/** Why a call gave no answer: the runtime is not there, too slow, said no, or sent something unreadable. */
export type CriFailure = "unavailable" | "deadline" | "malformed" | "error";

export class CriError extends Error {
  constructor(
    readonly call: string,
    readonly reason: CriFailure,
    message: string,
  ) {
    super(`CRI ${call}: ${message}`);
  }
}

/** What the name cache needs from a runtime; each call honours its deadline (Date.now() ms). */
export interface CriCalls {
  version(deadline: number): Promise<{ name: string; version: string }>;
  /** null when the runtime knows no such container. */
  containerStatus(id: string, deadline: number): Promise<msg.CriContainer | null>;
  podSandboxStatus(id: string, deadline: number): Promise<msg.CriSandbox | null>;
  listContainers(deadline: number): Promise<msg.CriContainer[]>;
  listPodSandbox(deadline: number, labels?: Record<string, string>): Promise<msg.CriSandbox[]>;
  close(): void;
}

const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export class CriClient implements CriCalls {
  private readonly client: Client;

  /** `socket` is a path; the runtime is reached at unix://socket. */
  constructor(readonly socket: string) {
    this.client = new Client(`unix://${socket}`, credentials.createInsecure(), {
      // A node with many containers lists more than gRPC's default 4 MiB; kubelet allows 16 MiB too.
      "grpc.max_receive_message_length": 16 << 20,
      // After a runtime restart, reconnect within seconds rather than grpc-js's default of up to two minutes.
      "grpc.initial_reconnect_backoff_ms": 500,
      "grpc.max_reconnect_backoff_ms": 5000,
      // A new client gets a new connection, not the shared one still waiting out its backoff.
      "grpc.use_local_subchannel_pool": 1,
    });
  }

  private call<T>(method: string, req: Uint8Array, decode: (b: Uint8Array) => T, deadline: number): Promise<T | null> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<Buffer, Buffer>(
        `${msg.SERVICE}/${method}`,
        (b) => b,
        (b) => b,
        asBuffer(req),
        { deadline },
        (err: ServiceError | null, reply?: Buffer) => {
          if (err) {
            if (err.code === status.NOT_FOUND) return resolve(null);
            const reason: CriFailure =
              err.code === status.UNAVAILABLE ? "unavailable" : err.code === status.DEADLINE_EXCEEDED ? "deadline" : "error";
            const hint = err.code === status.UNIMPLEMENTED ? " (this runtime does not serve CRI runtime.v1: upgrade it, or turn CRI off with --no-cri)" : "";
            return reject(new CriError(method, reason, `${status[err.code] ?? err.code}: ${err.details || err.message}${hint}`));
          }
          try {
            resolve(decode(reply ?? new Uint8Array(0)));
          } catch (e) {
            if (e instanceof WireError) reject(new CriError(method, "malformed", `unreadable reply: ${e.message}`));
            else reject(e);
          }
        },
      );
    });
  }

  async version(deadline: number) {
    const v = await this.call("Version", msg.versionRequest(), msg.decodeVersion, deadline);
    if (!v) throw new CriError("Version", "error", "the runtime does not serve runtime.v1");
    return v;
  }

  containerStatus(id: string, deadline: number) {
    return this.call("ContainerStatus", msg.containerStatusRequest(id), msg.decodeContainerStatus, deadline).then((c) => c ?? null);
  }

  podSandboxStatus(id: string, deadline: number) {
    return this.call("PodSandboxStatus", msg.podSandboxStatusRequest(id), msg.decodePodSandboxStatus, deadline).then((s) => s ?? null);
  }

  async listContainers(deadline: number) {
    return (await this.call("ListContainers", msg.listContainersRequest(), msg.decodeListContainers, deadline)) ?? [];
  }

  async listPodSandbox(deadline: number, labels?: Record<string, string>) {
    return (await this.call("ListPodSandbox", msg.listPodSandboxRequest(labels), msg.decodeListPodSandbox, deadline)) ?? [];
  }

  close(): void {
    this.client.close();
  }
}
