// The compiled binary, real bpftrace, real memcg OOM kills in kubelet-shaped cgroups.
// Every OOM happens inside a child cgroup with a limit: never a global OOM on the host.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentProcess, bpftraceChildren, BINARY, isAlive } from "../helpers/agent.ts";
import { TestCgroups, randomHex } from "../helpers/cgroup.ts";
import { allocator, grower, holder, waitForLine } from "../helpers/hog.ts";

const MiB = 1 << 20;

interface PodTree {
  uid: string;
  containerId: string;
  containerDir: string;
  podDir: string;
  containerPath: string;
}

/** cgroupfs-driver layout: kubepods/<qos>/pod<uid>/<id>. */
function cgroupfsPod(cg: TestCgroups, base: string, qos: "burstable" | "besteffort" | null, containerLimit?: number): PodTree {
  const uid = crypto.randomUUID();
  const containerId = randomHex(64);
  const pod = `${base}/kubepods${qos ? `/${qos}` : ""}/pod${uid}`;
  const c = cg.make(`${pod}/${containerId}`, containerLimit);
  return { uid, containerId, containerDir: c.dir, podDir: cg.make(pod).dir, containerPath: c.path };
}

/** systemd-driver layout with containerd: kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice/cri-containerd-<id>.scope. */
function systemdPod(cg: TestCgroups, base: string, qos: "besteffort", containerLimit: number): PodTree {
  const uid = crypto.randomUUID();
  const containerId = randomHex(64);
  const pod = `${base}/kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${uid.replaceAll("-", "_")}.slice`;
  const c = cg.make(`${pod}/cri-containerd-${containerId}.scope`, containerLimit);
  return { uid, containerId, containerDir: c.dir, podDir: cg.make(pod).dir, containerPath: c.path };
}

async function killedBy(p: { exited: Promise<number>; signalCode: unknown }): Promise<unknown> {
  await p.exited;
  return p.signalCode;
}

function sharedAgentSuite(label: string, agentArgs: () => string[]) {
  describe(`compiled agent with ${label}: real memcg OOM kills`, () => {
    let agent: AgentProcess;
    const cg = new TestCgroups();
    const base = `oomtrace-e2e-${randomHex(8)}`;

    beforeAll(async () => {
      agent = new AgentProcess(agentArgs());
      await agent.attached();
    });
    afterAll(async () => {
      await agent?.stop();
      await cg.remove();
    });

    test("cgroupfs Burstable container: victim, kind, pod UID, container id, QoS, scope", async () => {
      const pod = cgroupfsPod(cg, base, "burstable", 64 * MiB);
      const hog = grower({ cgroupDir: pod.containerDir });
      expect(await killedBy(hog)).toBe("SIGKILL");
      const e = await agent.waitFor("event for the hog", () => agent.eventFor(hog.pid));
      expect(e.kind).toBe("oom_kill");
      expect(e.node).toBe("test-node");
      expect(e.constraint).toBe("memcg");
      expect(e.scope).toBe("container");
      expect(e.victim.comm).toBe("tail");
      expect(e.trigger.pid).toBe(hog.pid);
      expect(e.cgroup.path).toBe(pod.containerPath);
      expect(e.cgroup.oom_path).toBe(pod.containerPath);
      expect(e.pod.uid).toBe(pod.uid);
      expect(e.pod.qos).toBe("burstable");
      expect(e.container.id).toBe(pod.containerId);
      expect(e.attribution).toBe("exact");
      expect(e.source).toBe("bpftrace");
      expect(e.victim.anon_rss_kb).toBeGreaterThan(40 * 1024);
      expect(Math.abs(Date.parse(e.time) - Date.now())).toBeLessThan(60_000);
    });

    test("systemd BestEffort containerd scope", async () => {
      const pod = systemdPod(cg, base, "besteffort", 48 * MiB);
      const hog = grower({ cgroupDir: pod.containerDir });
      expect(await killedBy(hog)).toBe("SIGKILL");
      const e = await agent.waitFor("event", () => agent.eventFor(hog.pid));
      expect(e.pod).toEqual({ uid: pod.uid, qos: "besteffort", namespace: null, name: null, named_by: null });
      expect(e.container.id).toBe(pod.containerId);
      expect(e.container.runtime).toBe("containerd");
      expect(e.scope).toBe("container");
    });

    test("trigger is not the victim: the victim's own cgroup, pid and comm are reported", async () => {
      // The holder sits in another container of the same pod; the pod's limit is what runs out.
      const uid = crypto.randomUUID();
      const podRel = `${base}/kubepods/burstable/pod${uid}`;
      const victimId = randomHex(64);
      const triggerId = randomHex(64);
      const podDir = cg.make(podRel, 160 * MiB).dir;
      const victimC = cg.make(`${podRel}/${victimId}`);
      const triggerC = cg.make(`${podRel}/${triggerId}`);
      const victim = holder({ cgroupDir: victimC.dir, mib: 90, oomScoreAdj: 1000 });
      await waitForLine(victim, "held");
      const trigger = allocator({ cgroupDir: triggerC.dir, mib: 100 });
      expect(await killedBy(victim)).toBe("SIGKILL");
      await trigger.exited;
      const e = await agent.waitFor("event", () => agent.eventFor(victim.pid));
      expect(e.victim.comm).toBe("python3");
      expect(e.victim.oom_score_adj).toBe(1000);
      expect(e.trigger.pid).toBe(trigger.pid);
      expect(e.trigger.pid).not.toBe(victim.pid);
      expect(e.cgroup.path).toBe(victimC.path);
      expect(e.container.id).toBe(victimId);
      expect(e.pod.uid).toBe(uid);
      expect(e.scope).toBe("pod");
      expect(e.cgroup.oom_path).toBe(join(cg.root.path, podRel));
      expect(podDir).toBeTruthy();
    });

    test("OOM at the kubepods level is reported as such, not as the container", async () => {
      const kube = cg.make(`${base}-kp/kubepods`, 48 * MiB);
      const pod = cgroupfsPod(cg, `${base}-kp`, "besteffort");
      const hog = grower({ cgroupDir: pod.containerDir });
      expect(await killedBy(hog)).toBe("SIGKILL");
      const e = await agent.waitFor("event", () => agent.eventFor(hog.pid));
      expect(e.scope).toBe("kubepods");
      expect(e.cgroup.oom_path).toBe(kube.path);
      expect(e.pod.uid).toBe(pod.uid);
    });

    test("a process name that tries to forge JSON comes out as one escaped string", async () => {
      const comm = 'a"b\\c}{"p":1\n';
      const pod = cgroupfsPod(cg, base, "burstable", 48 * MiB);
      const hog = grower({ cgroupDir: pod.containerDir, comm });
      expect(await killedBy(hog)).toBe("SIGKILL");
      const e = await agent.waitFor("event", () => agent.eventFor(hog.pid));
      expect(e.victim.comm).toBe(comm);
      expect(e.trigger.comm).toBe(comm);
      // Early warnings (memory_pressure) are lines of their own; nothing else may appear.
      expect(agent.rawStdout.every((l) => ["oom_kill", "memory_pressure"].includes(JSON.parse(l).kind))).toBe(true);
    });

    test("a storm of kills in many pods at once: every one reported once and attributed, as the kernel counted", async () => {
      const pods = Array.from({ length: 40 }, () => cgroupfsPod(cg, `${base}-storm`, "besteffort", 24 * MiB));
      const hogs = pods.map((pod) => grower({ cgroupDir: pod.containerDir }));
      await Promise.all(hogs.map((h) => h.exited));
      const kernelCount = pods.reduce((n, pod) => n + cg.oomKills(pod.containerDir), 0);
      expect(kernelCount).toBe(pods.length);
      await agent.waitFor("all storm events", () => hogs.every((h) => agent.eventFor(h.pid)) || undefined, 30_000);
      for (const [i, h] of hogs.entries()) {
        const mine = agent.events.filter((e) => e.victim.pid === h.pid);
        expect(mine).toHaveLength(1);
        expect(mine[0]!.pod.uid).toBe(pods[i]!.uid);
        expect(mine[0]!.container.id).toBe(pods[i]!.containerId);
        expect(mine[0]!.source).toBe("bpftrace");
      }
    });

    test("each kill is reported once, and metrics count them", async () => {
      const pids = agent.events.map((e) => e.victim.pid);
      expect(new Set(pids).size).toBe(pids.length);
      const m = await agent.metrics();
      const n = Number(/oomtrace_oom_kills_total\{constraint="memcg",scope="container",source="bpftrace"\} (\d+)/.exec(m)?.[1]);
      expect(n).toBe(agent.events.filter((e) => e.scope === "container" && e.source === "bpftrace").length);
      expect(m).toMatch(/oomtrace_probe_up\{mode="tracepoint"\} 1/);
    });
  });
}

sharedAgentSuite("bpftrace 0.17 (Debian bookworm)", () => []);

const bpftrace023 = process.env.OOMTRACE_BPFTRACE_023 ?? "";
describe("bpftrace 0.23 is available for the tests", () => {
  test("scripts/bpftrace-trixie.sh gave a wrapper", () => {
    expect(bpftrace023).not.toBe("");
  });
});
if (bpftrace023) sharedAgentSuite("bpftrace 0.23 (Debian trixie root)", () => ["--bpftrace", bpftrace023]);

describe("supervision of bpftrace", () => {
  const cg = new TestCgroups();
  const base = `oomtrace-sup-${randomHex(8)}`;
  afterAll(() => cg.remove());

  test("bpftrace killed mid-run: the kill in the gap is still reported once, and the probe comes back", async () => {
    const agent = new AgentProcess();
    try {
      await agent.attached();
      const [bpf] = await bpftraceChildren(agent.proc.pid);
      expect(bpf).toBeGreaterThan(0);
      // The kernel prints the oom-kill: summary (with the victim's cgroup) 10 times per 5 s at most,
      // and the suites before this one used that up: let the window pass first.
      await Bun.sleep(5500);
      process.kill(bpf!, "SIGKILL");
      const pod = cgroupfsPod(cg, base, "burstable", 48 * MiB);
      const hog = grower({ cgroupDir: pod.containerDir });
      expect(await killedBy(hog)).toBe("SIGKILL");
      const gap = await agent.waitFor("event from the gap", () => agent.eventFor(hog.pid));
      expect(gap.source).toBe("kmsg");
      expect(gap.probe).toBe("kmsg");
      expect(gap.pod.uid).toBe(pod.uid);
      expect(gap.container.id).toBe(pod.containerId);
      expect(gap.constraint).toBe("memcg");
      await agent.waitFor("re-attach", () => agent.logs.filter((l) => String(l.msg).startsWith("probe attached")).length >= 2);
      const pod2 = cgroupfsPod(cg, base, "burstable", 48 * MiB);
      const hog2 = grower({ cgroupDir: pod2.containerDir });
      expect(await killedBy(hog2)).toBe("SIGKILL");
      const after = await agent.waitFor("event after restart", () => agent.eventFor(hog2.pid));
      if (after.source !== "bpftrace") console.error(agent.logs.map((l) => JSON.stringify(l).slice(0, 300)).join("\n"));
      expect(after.source).toBe("bpftrace");
      await Bun.sleep(2000);
      expect(agent.events.filter((e) => e.victim.pid === hog.pid)).toHaveLength(1);
      expect(agent.events.filter((e) => e.victim.pid === hog2.pid)).toHaveLength(1);
      expect(await agent.metrics()).toMatch(/oomtrace_probe_restarts_total\{mode="tracepoint",reason="crash"\} 1/);
    } finally {
      await agent.stop();
    }
  });

  test("SIGTERM stops the agent cleanly and leaves no bpftrace behind", async () => {
    const agent = new AgentProcess();
    await agent.attached();
    const kids = await bpftraceChildren(agent.proc.pid);
    expect(kids).toHaveLength(1);
    expect(await agent.stop()).toBe(0);
    await Bun.sleep(500);
    expect(isAlive(kids[0]!)).toBe(false);
  });

  test("an agent killed with SIGKILL takes bpftrace with it", async () => {
    const agent = new AgentProcess();
    await agent.attached();
    const kids = await bpftraceChildren(agent.proc.pid);
    expect(kids).toHaveLength(1);
    agent.proc.kill("SIGKILL");
    await agent.exited;
    // The kernel sends bpftrace SIGKILL at once (PR_SET_PDEATHSIG); tearing down its BPF maps took
    // up to 2.8 s on a loaded machine. A bpftrace that outlives the agent stays alive past the wait.
    for (let i = 0; i < 150 && isAlive(kids[0]!); i++) await Bun.sleep(100);
    expect(isAlive(kids[0]!)).toBe(false);
  });
});

describe("--probe: a user's own bpftrace script", () => {
  const cg = new TestCgroups();
  const dir = mkdtempSync(join(tmpdir(), "oomtrace-probe-"));
  afterAll(() => cg.remove());

  test("a script that follows the output contract reports kills", async () => {
    const file = join(dir, "mine.bt");
    writeFileSync(
      file,
      `tracepoint:oom:mark_victim { print(("mark", nsecs, args->pid, tid, pid, comm, 1, -1, -1, -1, -1, -1, -1, -1, "", "")); }\n`,
    );
    const agent = new AgentProcess(["--probe", file, "--no-kmsg"]);
    try {
      await agent.attached();
      const c = cg.make(`oomtrace-user-${randomHex(8)}`, 48 * MiB);
      const hog = grower({ cgroupDir: c.dir });
      expect(await killedBy(hog)).toBe("SIGKILL");
      const e = await agent.waitFor("event", () => agent.eventFor(hog.pid));
      expect(e.probe).toBe(`user:${file}`);
      expect(e.source).toBe("bpftrace");
      expect(e.attribution).toBe("unresolved");
      expect(e.constraint).toBe("unknown");
    } finally {
      await agent.stop();
    }
  });

  test("a script that breaks the contract gets a clear error naming the line", async () => {
    const file = join(dir, "broken.bt");
    writeFileSync(file, `BEGIN { print(("mark", 1, 2)); }\n`);
    const agent = new AgentProcess(["--probe", file, "--no-kmsg"]);
    try {
      const log = await agent.waitFor("contract error", () => agent.logs.find((l) => String(l.msg).includes("breaks the contract")));
      expect(String(log.msg)).toContain(`"mark" needs 15 fields after the tag, got 2`);
      expect(String(log.msg)).toContain(`["mark",1,2]`);
      expect(agent.events).toHaveLength(0);
    } finally {
      await agent.stop();
    }
  });
});

describe("oomtrace probe", () => {
  test("on this tracepoint-only kernel it chooses the tracepoint probe and says why", async () => {
    const r = Bun.spawnSync([BINARY, "probe"]);
    const out = r.stdout.toString();
    expect(r.exitCode).toBe(0);
    expect(out).toContain("// chosen: tracepoint");
    expect(out).toMatch(/kprobe: not available, the kernel has no kprobes/);
    expect(out).toContain("tracepoint:oom:mark_victim");
    expect(out).not.toContain("kprobe:oom_kill_process");
  });

  test("forcing a probe the kernel cannot run is a clear error", () => {
    const r = Bun.spawnSync([BINARY, "probe", "--probe-mode", "kprobe"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.toString()).toContain("probe mode kprobe was asked for but cannot run here");
  });

  test("unknown flags and bad values are rejected", () => {
    const r = Bun.spawnSync([BINARY, "run", "--outptu", "text"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("unknown flag --outptu");
    const r2 = Bun.spawnSync([BINARY, "run", "--output", "xml"]);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr.toString()).toContain("--output must be one of ndjson, text, none");
  });
});

describe("no bpftrace: kmsg alone", () => {
  const cg = new TestCgroups();
  afterAll(() => cg.remove());

  test("the agent says what is wrong, is not ready, and still reports kills from the kernel log", async () => {
    const agent = new AgentProcess(["--bpftrace", "/nonexistent/bpftrace"]);
    try {
      const err = await agent.waitFor("error log", () => agent.logs.find((l) => l.level === "error"));
      expect(String(err.msg)).toContain('bpftrace at "/nonexistent/bpftrace" did not run: install it');
      await agent.waitFor("server", () => agent.logs.some((l) => String(l.msg).startsWith("serving /metrics")));
      const ready = await fetch(`http://127.0.0.1:${agent.port}/readyz`);
      expect(ready.status).toBe(503);
      const c = cg.make(`oomtrace-nobpf-${randomHex(8)}`, 48 * MiB);
      const hog = grower({ cgroupDir: c.dir });
      expect(await killedBy(hog)).toBe("SIGKILL");
      const e = await agent.waitFor("event", () => agent.eventFor(hog.pid));
      expect(e.source).toBe("kmsg");
      expect(e.victim.comm).toBe("tail");
      expect(e.constraint).toBe("memcg");
    } finally {
      await agent.stop();
    }
  });

  test("with --no-kmsg too, nothing can run: exit 1 with the reason", async () => {
    const agent = new AgentProcess(["--bpftrace", "/nonexistent/bpftrace", "--no-kmsg"]);
    expect(await agent.exited).toBe(1);
    expect(agent.logs.some((l) => String(l.msg).includes("did not run: install it (apt-get install bpftrace)"))).toBe(true);
  });
});
