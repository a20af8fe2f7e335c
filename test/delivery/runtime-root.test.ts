// The runtime image, proven without a container engine: the root the Containerfile builds (same Debian
// suite, same package list), the chart's DaemonSet as rendered from its defaults (mounts, read-only
// root, capabilities, no_new_privs, memory limit, environment, args), and a real memcg OOM kill caught
// by the compiled agent inside it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderChart, defaultValues, mergeValues } from "../../scripts/chart/render.ts";
import { AgentProcess } from "../helpers/agent.ts";
import { TestCgroups, randomHex } from "../helpers/cgroup.ts";
import { grower } from "../helpers/hog.ts";
import { deviceCgroupAvailable, podSandbox } from "../helpers/pod-sandbox.ts";
import { REPO, runtimePackages, runtimeRoot } from "../helpers/runtime-root.ts";

const MiB = 1 << 20;
let root = "";
const state = mkdtempSync(join(tmpdir(), "oomtrace-state-"));
const criDir = mkdtempSync(join(tmpdir(), "oomtrace-cri-"));
const cg = new TestCgroups();

beforeAll(() => {
  root = runtimeRoot("amd64");
}, 600_000);
afterAll(async () => {
  await cg.remove();
  rmSync(state, { recursive: true, force: true });
  rmSync(criDir, { recursive: true, force: true });
});

/** The chart's DaemonSet for the default values plus `over`, with host paths the test owns. */
function daemonSet(over: Record<string, unknown> = {}) {
  const values = mergeValues(mergeValues(defaultValues(), { stateDir: state, cri: { socketDir: criDir } }), over);
  const docs = renderChart(values).manifest.split(/^---$/m).map((d) => Bun.YAML.parse(d) as Record<string, any> | null);
  return docs.find((d) => d?.kind === "DaemonSet")!;
}

async function killInPod(agent: AgentProcess) {
  const uid = crypto.randomUUID();
  const id = randomHex(64);
  const c = cg.make(`oomtrace-image-${randomHex(8)}/kubepods/burstable/pod${uid}/${id}`, 48 * MiB);
  const hog = grower({ cgroupDir: c.dir });
  await hog.exited;
  expect(hog.signalCode).toBe("SIGKILL");
  const e = await agent.waitFor("the kill", () => agent.eventFor(hog.pid), 60_000);
  return { e, uid, id, path: c.path };
}

describe("the Containerfile and the test root use one package list", () => {
  test("Containerfile installs image/runtime-packages.txt on the suite the root is built from", async () => {
    const cf = readFileSync(join(REPO, "Containerfile"), "utf8");
    const runtimeStage = cf.slice(cf.lastIndexOf("\nFROM "));
    expect(runtimeStage).toMatch(/^\nFROM debian:trixie-slim\n/);
    expect(runtimeStage).toContain("COPY image/runtime-packages.txt /tmp/runtime-packages.txt");
    expect(runtimeStage).toMatch(/sed -e 's\/#\.\*\/\/' \/tmp\/runtime-packages\.txt \| xargs apt-get install -y --no-install-recommends/);
    expect(readFileSync(join(REPO, "scripts/runtime-root.sh"), "utf8")).toContain('want="trixie $arch minbase $packages"');
    // Every listed package is installed in the root, and its bpftrace is trixie's 0.23.
    const listed = await runtimePackages();
    expect(listed).toContain("bpftrace");
    const status = readFileSync(join(root, "var/lib/dpkg/status"), "utf8");
    for (const p of listed) expect(status).toMatch(new RegExp(`^Package: ${p}\\n(?:.+\\n)*?Status: install ok installed$`, "m"));
    expect(status).toMatch(/^Package: bpftrace\n(?:.+\n)*?Version: 0\.23\./m);
  });
});

describe("the compiled agent in the runtime root, run as the chart's DaemonSet runs it", () => {
  test("catches a real memcg OOM kill with the chart's mounts, capabilities, read-only root and memory limit", async () => {
    const ds = daemonSet();
    const c = ds.spec.template.spec.containers[0];
    // What is being proven: the defaults, not a test-only variant of them.
    expect(c.securityContext.capabilities.add).toEqual(["BPF", "PERFMON", "SYSLOG"]);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    const sb = podSandbox(ds, root, cg);
    const agent = new AgentProcess(sb.args, {}, sb.command);
    try {
      await agent.attached(120_000);
      // bpftrace is the image's (trixie's), not the host's.
      const m = await agent.metrics();
      expect(m).toMatch(/oomtrace_build_info\{[^}]*bpftrace_version="0\.23\.\d+"/);
      const { e, uid, id, path } = await killInPod(agent);
      expect(e.source).toBe("bpftrace");
      expect(e.constraint).toBe("memcg");
      expect(e.scope).toBe("container");
      expect(e.cgroup.path).toBe(path);
      expect(e.pod.uid).toBe(uid);
      expect(e.container.id).toBe(id);
      expect(e.node).toBe("test-node");
    } finally {
      expect(await agent.stop()).toBe(0);
      sb.cleanup();
    }
  }, 180_000);

  const CAPS = ["BPF", "PERFMON", "SYSLOG"];
  const without = (cap: string) => daemonSet({ securityContext: { capabilities: { add: CAPS.filter((x) => x !== cap) } } });

  for (const missing of ["BPF", "PERFMON"]) {
    test(`without CAP_${missing}, bpftrace cannot load the probe and the agent is not ready`, async () => {
      const sb = podSandbox(without(missing), root, cg);
      const agent = new AgentProcess(sb.args, {}, sb.command);
      try {
        const down = await agent.waitFor("the probe down", () => agent.logs.find((l) => /^probe \S+ is down/.test(String(l.msg))), 120_000);
        expect(String(down.msg)).toContain("Loading BPF object(s) failed");
        expect((await fetch(`http://127.0.0.1:${agent.port}/readyz`)).status).toBe(503);
      } finally {
        await agent.stop();
        sb.cleanup();
      }
    }, 180_000);
  }

  // With perf_event_paranoid <= 1 the kernel shows kallsyms addresses to anyone (kallsyms_show_value).
  const paranoid = Number(readFileSync("/proc/sys/kernel/perf_event_paranoid", "utf8"));
  test.skipIf(paranoid <= 1)("without CAP_SYSLOG, kernel stacks have no symbols (kallsyms hides addresses), so the kind of OOM is lost", async () => {
    const sb = podSandbox(without("SYSLOG"), root, cg);
    const agent = new AgentProcess(sb.args, {}, sb.command);
    try {
      await agent.attached(120_000);
      const { e } = await killInPod(agent);
      expect(e.source).toBe("bpftrace");
      expect(e.constraint).toBe("unknown");
    } finally {
      await agent.stop();
      sb.cleanup();
    }
  }, 180_000);

  test.skipIf(!deviceCgroupAvailable())("with agent.kmsg on but not privileged, the device cgroup refuses /dev/kmsg; bpftrace still reports", async () => {
    const ds = daemonSet({ agent: { kmsg: true } });
    const sb = podSandbox(ds, root, cg);
    const agent = new AgentProcess(sb.args, {}, sb.command);
    try {
      await agent.attached(120_000);
      const warn = await agent.waitFor("kmsg refused", () => agent.logs.find((l) => String(l.msg).startsWith("kmsg source stopped")));
      expect(String(warn.msg)).toMatch(/EPERM|operation not permitted/i);
      const { e } = await killInPod(agent);
      expect(e.source).toBe("bpftrace");
    } finally {
      await agent.stop();
      sb.cleanup();
    }
  }, 180_000);
});
