// CriClient against a real gRPC server (grpc-js) on a unix socket that answers badly on purpose.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, ServerCredentials, status, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { CriClient, CriError } from "../../../src/cri/client.ts";
import { SERVICE } from "../../../src/cri/messages.ts";
import { Writer } from "../../../src/cri/wire.ts";

const dir = mkdtempSync(join(tmpdir(), "oomtrace-cri-unit-"));
const socket = join(dir, "cri.sock");
const server = new Server();
/** What ContainerStatus does, by the container id asked for. */
const behaviours: Record<string, (reply: (err: { code: number; details: string } | null, body?: Buffer) => void) => void> = {
  garbage: (reply) => reply(null, Buffer.from([0x0a, 0x7f, 0x01])),
  slow: (reply) => setTimeout(() => reply(null, Buffer.alloc(0)), 3000),
  gone: (reply) => reply({ code: status.NOT_FOUND, details: "no such container" }),
  denied: (reply) => reply({ code: status.PERMISSION_DENIED, details: "no" }),
  good: (reply) => reply(null, Buffer.from(new Writer().message(1, new Writer().string(1, "good").message(2, new Writer().string(1, "app"))).finish())),
};

beforeAll(async () => {
  const method = (name: string) => ({
    path: `${SERVICE}/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  });
  const def = { ContainerStatus: method("ContainerStatus") } as ServiceDefinition;
  const impl: UntypedServiceImplementation = {
    ContainerStatus: (call: { request: Buffer }, reply: (err: { code: number; details: string } | null, body?: Buffer) => void) => {
      // ContainerStatusRequest { container_id = 1 }: the id is the bytes after the tag and length.
      const id = call.request.subarray(2).toString();
      behaviours[id]!(reply as never);
    },
  };
  server.addService(def, impl);
  await new Promise<void>((done, fail) => server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (e) => (e ? fail(e) : done())));
});
afterAll(() => {
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

const failure = async (p: Promise<unknown>): Promise<CriError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof CriError) return e;
    throw e;
  }
  throw new Error("expected a CriError");
};

describe("CriClient over a real gRPC connection", () => {
  test("a good reply decodes; NOT_FOUND is null, not an error", async () => {
    const c = new CriClient(socket);
    expect(await c.containerStatus("good", Date.now() + 2000)).toMatchObject({ id: "good", name: "app" });
    expect(await c.containerStatus("gone", Date.now() + 2000)).toBeNull();
    c.close();
  });

  test("garbage bytes are malformed, a slow answer is cut at the deadline, a refusal is an error", async () => {
    const c = new CriClient(socket);
    expect((await failure(c.containerStatus("garbage", Date.now() + 2000))).reason).toBe("malformed");
    expect((await failure(c.containerStatus("slow", Date.now() + 300))).reason).toBe("deadline");
    const denied = await failure(c.containerStatus("denied", Date.now() + 2000));
    expect(denied.reason).toBe("error");
    expect(denied.message).toContain("PERMISSION_DENIED");
    c.close();
  });

  test("no socket: unavailable, at once", async () => {
    const c = new CriClient(join(dir, "missing.sock"));
    expect((await failure(c.containerStatus("good", Date.now() + 5000))).reason).toBe("unavailable");
    c.close();
  });
});
