// The few runtime.v1 messages oomtrace reads, by the CRI's field numbers (pure).
// Only the fields used here are named; everything else in a reply is skipped.
import { Message, Writer } from "./wire.ts";

export const SERVICE = "/runtime.v1.RuntimeService";

export type ContainerState = "created" | "running" | "exited" | "unknown";
const CONTAINER_STATES: readonly ContainerState[] = ["created", "running", "exited", "unknown"];

/** What the runtime says about one container. Times are Unix nanoseconds; 0n when not set. */
export interface CriContainer {
  id: string;
  /** From ListContainers; ContainerStatus does not carry it. */
  sandboxId: string | null;
  name: string;
  attempt: number;
  image: string;
  state: ContainerState;
  createdAt: bigint;
  startedAt: bigint;
  labels: Record<string, string>;
}

export interface CriSandbox {
  id: string;
  name: string;
  uid: string;
  namespace: string;
  ready: boolean;
  labels: Record<string, string>;
}

const state = (v: bigint): ContainerState => CONTAINER_STATES[Number(v)] ?? "unknown";

/** ContainerMetadata { name = 1; attempt = 2 }, ImageSpec { image = 1 }. */
function containerBase(m: Message, f: { id: number; meta: number; image: number; state: number; created: number; labels: number }) {
  const meta = m.message(f.meta);
  return {
    id: m.string(f.id),
    name: meta?.string(1) ?? "",
    attempt: Number(meta?.varint(2) ?? 0n),
    image: m.message(f.image)?.string(1) ?? "",
    state: state(m.varint(f.state)),
    createdAt: m.varint(f.created),
    labels: m.stringMap(f.labels),
  };
}

/** ContainerStatusRequest { container_id = 1 }. */
export const containerStatusRequest = (id: string): Uint8Array => new Writer().string(1, id).finish();

/** ContainerStatusResponse { ContainerStatus status = 1 }; ContainerStatus { id 1, metadata 2, state 3, created_at 4, started_at 5, image 8, labels 12 }. */
export function decodeContainerStatus(buf: Uint8Array): CriContainer | null {
  const s = Message.parse(buf).message(1);
  if (!s) return null;
  return { ...containerBase(s, { id: 1, meta: 2, image: 8, state: 3, created: 4, labels: 12 }), sandboxId: null, startedAt: s.varint(5) };
}

/** ListContainersRequest { ContainerFilter filter = 1 }; an empty filter lists all. */
export const listContainersRequest = (): Uint8Array => new Uint8Array(0);

/** ListContainersResponse { repeated Container containers = 1 }; Container { id 1, pod_sandbox_id 2, metadata 3, image 4, state 6, created_at 7, labels 8 }. */
export function decodeListContainers(buf: Uint8Array): CriContainer[] {
  return Message.parse(buf)
    .messages(1)
    .map((c) => ({ ...containerBase(c, { id: 1, meta: 3, image: 4, state: 6, created: 7, labels: 8 }), sandboxId: c.string(2) || null, startedAt: 0n }));
}

/** PodSandboxMetadata { name 1, uid 2, namespace 3 }; PodSandboxState SANDBOX_READY = 0. */
function sandbox(m: Message, labelsField: number): CriSandbox {
  const meta = m.message(2);
  return {
    id: m.string(1),
    name: meta?.string(1) ?? "",
    uid: meta?.string(2) ?? "",
    namespace: meta?.string(3) ?? "",
    ready: m.varint(3) === 0n,
    labels: m.stringMap(labelsField),
  };
}

/** PodSandboxStatusRequest { pod_sandbox_id = 1 }. */
export const podSandboxStatusRequest = (id: string): Uint8Array => new Writer().string(1, id).finish();

/** PodSandboxStatusResponse { PodSandboxStatus status = 1 }; PodSandboxStatus { id 1, metadata 2, state 3, labels 7 }. */
export function decodePodSandboxStatus(buf: Uint8Array): CriSandbox | null {
  const s = Message.parse(buf).message(1);
  return s ? sandbox(s, 7) : null;
}

/** ListPodSandboxRequest { PodSandboxFilter filter = 1 }; PodSandboxFilter { label_selector = 3 }. */
export const listPodSandboxRequest = (labels?: Record<string, string>): Uint8Array =>
  new Writer().message(1, labels ? new Writer().stringMap(3, labels) : undefined).finish();

/** ListPodSandboxResponse { repeated PodSandbox items = 1 }; PodSandbox { id 1, metadata 2, state 3, labels 5 }. */
export function decodeListPodSandbox(buf: Uint8Array): CriSandbox[] {
  return Message.parse(buf)
    .messages(1)
    .map((s) => sandbox(s, 5));
}

/** VersionRequest { version = 1 }. */
export const versionRequest = (): Uint8Array => new Writer().string(1, "v1").finish();

/** VersionResponse { runtime_name = 2, runtime_version = 3 }. */
export function decodeVersion(buf: Uint8Array): { name: string; version: string } {
  const m = Message.parse(buf);
  return { name: m.string(2), version: m.string(3) };
}
