// `oomtrace doctor` on this machine, whose answer is known (field notes: kernel 6.18, tracepoints only,
// cgroup v1 memory, bpftrace 0.17 from bookworm), and on setups broken on purpose.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "../helpers/agent.ts";
import { startApiServer } from "../apiserver/server.ts";
import { parseTracepointFormat } from "../../src/probe/features.ts";

interface Report {
  node: string;
  ready: boolean;
  checks: { id: string; title: string; status: string; detail: string; fix: string | null }[];
  facts: Record<string, any>;
}

async function doctor(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([BINARY, "doctor", "--node-name", "test-node", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

const freePort = () => 20000 + Math.floor(Math.random() * 20000);
const status = (r: Report) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));
const check = (r: Report, id: string) => r.checks.find((c) => c.id === id)!;

describe("oomtrace doctor on this machine", () => {
  test("ready, with the facts this machine is known to have", async () => {
    const { code, out } = await doctor("-o", "json", "--metrics-bind-address", `127.0.0.1:${freePort()}`);
    const r = JSON.parse(out) as Report;
    expect(code).toBe(0);
    expect(r.ready).toBe(true);
    expect(r.node).toBe("test-node");
    expect(status(r)).toEqual({
      kernel: "ok",
      tracefs: "ok",
      mark_victim: "ok",
      bpftrace: "ok",
      "probe.tracepoint": "ok",
      // Tracepoint-only kernel: no kprobes, no fentry. bpftrace itself was asked and refused.
      "probe.kprobe": "warn",
      "probe.fentry": "warn",
      cgroup: "ok",
      // Not a Kubernetes node, no container runtime.
      "cgroup.driver": "warn",
      runtime: "warn",
      kmsg: "ok",
      apiserver: "skip",
      metrics: "ok",
    });
    expect(r.facts.kernel).toStartWith("6.18.");
    expect(r.facts.btf).toBe(true);
    expect(r.facts.bpftrace.version).toBe("0.17.0");
    expect(r.facts.mark_victim_fields).toEqual(parseTracepointFormat(readFileSync(join(import.meta.dir, "../fixtures/mark_victim-format-6.18.txt"), "utf8")));
    expect(r.facts.probes.tracepoint).toMatchObject({ attaches: true, error: null, left_out: null });
    expect(r.facts.probes.kprobe.attaches).toBe(false);
    expect(r.facts.probes.kprobe.error).toContain("kprobe_events");
    expect(r.facts.probes.kprobe.left_out).toContain("no kprobes");
    expect(r.facts.probes.fentry.attaches).toBe(false);
    expect(r.facts.cgroup).toEqual({ version: "v1", dir: "/sys/fs/cgroup/memory", memcg_index: 4, kubelet_driver: null });
    expect(r.facts.runtime_sockets).toEqual([]);
    expect(check(r, "apiserver").detail).toStartWith("not configured");
  }, 120_000);
});

const bpftrace023 = process.env.OOMTRACE_BPFTRACE_023 ?? "";
describe.if(bpftrace023 !== "")("oomtrace doctor with bpftrace 0.23 (Debian trixie root)", () => {
  test("the same verdict, with 0.23's fentry name in its refusal", async () => {
    const { code, out } = await doctor("-o", "json", "--bpftrace", bpftrace023, "--metrics-bind-address", "");
    const r = JSON.parse(out) as Report;
    expect(code).toBe(0);
    expect(r.facts.bpftrace.version).toBe("0.23.2");
    expect(status(r)).toMatchObject({ "probe.tracepoint": "ok", "probe.kprobe": "warn", "probe.fentry": "warn" });
    expect(r.facts.probes.fentry.error).toContain("fentry:oom_kill_process");
  }, 120_000);
});

describe("oomtrace doctor on setups broken on purpose", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("--bpftrace pointing at a missing file: not ready, says how to fix, tries no probe", async () => {
    const { code, out } = await doctor("--bpftrace", "/nonexistent/bpftrace", "--metrics-bind-address", "");
    expect(code).toBe(1);
    expect(out).toMatch(/fail +bpftrace +"\/nonexistent\/bpftrace" did not run\n +→ install it \(apt-get install bpftrace\) or pass --bpftrace PATH/);
    expect(out).toMatch(/fail +probe tracepoint +not tried: bpftrace at "\/nonexistent\/bpftrace" did not run/);
    expect(out).toMatch(/skip +probe kprobe +not tried/);
    expect(out).toMatch(/skip +metrics port +metrics are off/);
    expect(out).toContain("not ready: 2 problems to fix");
    // Not a terminal: no colour.
    expect(out).not.toContain("\x1b");
  });

  test("a host root without tracefs: tracefs fails, and with it every probe", async () => {
    const root = mkdtempSync(join(tmpdir(), "oomtrace-hostroot-"));
    dirs.push(root);
    mkdirSync(join(root, "sys/kernel"), { recursive: true });
    mkdirSync(join(root, "dev"));
    symlinkSync("/proc", join(root, "proc"));
    symlinkSync("/sys/fs", join(root, "sys/fs"));
    symlinkSync("/sys/kernel/btf", join(root, "sys/kernel/btf"));
    symlinkSync("/dev/kmsg", join(root, "dev/kmsg"));
    const { code, out } = await doctor("-o", "json", "--host-root", root, "--metrics-bind-address", "");
    const r = JSON.parse(out) as Report;
    expect(code).toBe(1);
    expect(r.ready).toBe(false);
    expect(status(r)).toMatchObject({ kernel: "ok", tracefs: "fail", mark_victim: "skip", bpftrace: "ok", "probe.tracepoint": "fail", cgroup: "ok", kmsg: "ok" });
    expect(check(r, "tracefs").fix).toContain("mount -t tracefs nodev /sys/kernel/tracing");
    expect(check(r, "probe.tracepoint").detail).toContain("not tried: tracefs is not mounted");
    expect(r.facts.cgroup.dir).toBe(join(root, "/sys/fs/cgroup/memory"));
  });

  test("the metrics port taken by another process", async () => {
    const port = freePort();
    const server: Server = await new Promise((done) => {
      const s = createServer().listen({ host: "127.0.0.1", port }, () => done(s));
    });
    try {
      const { code, out } = await doctor("-o", "json", "--bpftrace", "/nonexistent/bpftrace", "--metrics-bind-address", `127.0.0.1:${port}`);
      const r = JSON.parse(out) as Report;
      expect(code).toBe(1);
      expect(check(r, "metrics")).toMatchObject({ status: "fail", detail: `127.0.0.1:${port}: in use by another process` });
    } finally {
      server.close();
    }
  });

  test("bad flags are errors with exit code 2", async () => {
    expect((await doctor("-o", "yaml")).code).toBe(2);
    const r = await doctor("--metrics-bind-address", "nonsense");
    expect(r.code).toBe(2);
    expect(r.err).toContain('metrics bind address "nonsense" is not host:port');
  });
});

describe("oomtrace doctor and the API server", () => {
  const SA = "system:serviceaccount:oomtrace:oomtrace";
  // bpftrace missing keeps these runs short; the API server checks do not depend on it.
  const run = (kubeconfig: string, ...flags: string[]) =>
    doctor("-o", "json", "--bpftrace", "/nonexistent/bpftrace", "--metrics-bind-address", "", "--kubeconfig", kubeconfig, ...flags);

  test("each permission the options need is checked, and a missing one is named with its fix", async () => {
    const api = await startApiServer({
      tokenUser: { name: SA },
      rbac: {
        [SA]: [
          { verbs: ["get", "list", "watch", "patch"], resources: ["pods"] },
          { verbs: ["create", "patch"], resources: ["events"], apiGroups: ["events.k8s.io"] },
        ],
      },
    });
    try {
      const { code, out } = await run(api.kubeconfigPath("token"), "--victim-condition", "OOMVictim");
      const r = JSON.parse(out) as Report;
      expect(code).toBe(1);
      expect(check(r, "apiserver").status).toBe("ok");
      const rbac = Object.fromEntries(r.checks.filter((c) => c.id.startsWith("rbac.")).map((c) => [c.id, c.status]));
      expect(rbac).toEqual({
        "rbac.list.pods": "ok",
        "rbac.watch.pods": "ok",
        "rbac.get.pods": "ok",
        "rbac.patch.pods": "ok",
        "rbac.patch.pods.status": "fail",
        "rbac.create.events": "ok",
        "rbac.patch.events": "ok",
      });
      expect(check(r, "rbac.patch.pods.status").fix).toContain("patch pods/status");
      // The same options without the condition need no pods/status right: ready as far as the cluster goes.
      const without = JSON.parse((await run(api.kubeconfigPath("token"))).out) as Report;
      expect(without.checks.filter((c) => c.id.startsWith("rbac.") && c.status !== "ok")).toEqual([]);
    } finally {
      await api.stop();
    }
  });

  test("a kubeconfig whose server does not answer fails the API server check", async () => {
    const api = await startApiServer();
    // The server's files go with it: keep a copy of its kubeconfig, now pointing at nothing.
    const kubeconfig = join(mkdtempSync(join(tmpdir(), "oomtrace-doctor-")), "kubeconfig");
    writeFileSync(kubeconfig, readFileSync(api.kubeconfigPath("token")));
    await api.stop();
    const { code, out, err } = await run(kubeconfig);
    expect(err).toBe("");
    const r = JSON.parse(out) as Report;
    expect(code).toBe(1);
    expect(check(r, "apiserver").status).toBe("fail");
    expect(r.checks.some((c) => c.id.startsWith("rbac."))).toBe(false);
  });
});
