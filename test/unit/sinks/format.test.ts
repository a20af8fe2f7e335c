import { describe, expect, test } from "bun:test";
import { formatNdjson, formatText } from "../../../src/sinks/format.ts";
import type { CgroupIdentity, KernelKill, OomEvent } from "../../../src/types.ts";

const HOSTILE_COMM = 'a"b\\c}{\n\uFFFD';
const JSON_COMM = '{"kind":"oom_kill","node":"forged"}';
const HOSTILE_PATH = '/kubepods/x"y\\z}/{"a":1}\nnext\uFFFD';
const UID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const CID = "abfbf277763bf55adb9b99ad366221c157e9800fa175746c5b32a8c6f8850591";

function kill(over: Partial<KernelKill> = {}): KernelKill {
  return {
    source: "bpftrace",
    probe: "tracepoint",
    kernelTimeNs: 512418896215n,
    victim: {
      pid: 4042,
      tid: 4043,
      comm: HOSTILE_COMM,
      memory: { totalVmKb: 78008, anonRssKb: 68200, fileRssKb: 6312, shmemRssKb: 0, pgtablesKb: 196, uid: 1000, oomScoreAdj: 1000 },
    },
    trigger: { pid: 4084, tid: 4085, comm: JSON_COMM },
    constraint: "memcg",
    constraintFrom: "stack",
    cgroupPath: HOSTILE_PATH,
    oomCgroupPath: '/kubepods/"oom"\\',
    totalPages: 25600,
    decision: "512418896215-4085",
    ...over,
  };
}

const IDENTITY: CgroupIdentity = {
  workload: "kubernetes",
  pod: { uid: UID, qos: "burstable", namespace: "team-a", name: 'web"0\n' },
  container: { id: CID, runtime: "containerd", name: "app\\x" },
  sandbox: false,
  unit: null,
  level: "container",
};

function event(over: Partial<OomEvent> = {}): OomEvent {
  return {
    kill: kill(),
    identity: IDENTITY,
    names: null,
    scope: "container",
    attribution: "exact",
    node: "worker-1",
    time: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678)),
    ...over,
  };
}

/** Value at a dotted path of a parsed object. */
function at(o: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], o);
}

describe("formatNdjson", () => {
  test("exactly one line, whatever the kernel strings hold", () => {
    const line = formatNdjson(event());
    expect(line.includes("\n")).toBe(false);
    expect(line.includes("\r")).toBe(false);
    expect(line.split("\n").length).toBe(1);
  });

  test("parses back to the very same strings", () => {
    const o = JSON.parse(formatNdjson(event()));
    expect(o.victim.comm).toBe('a"b\\c}{\n\uFFFD');
    expect(o.trigger.comm).toBe('{"kind":"oom_kill","node":"forged"}');
    expect(o.cgroup.path).toBe('/kubepods/x"y\\z}/{"a":1}\nnext\uFFFD');
    expect(o.cgroup.oom_path).toBe('/kubepods/"oom"\\');
    expect(o.pod.name).toBe('web"0\n');
    expect(o.container.name).toBe("app\\x");
    // The comm that looks like an event did not become one.
    expect(o.kind).toBe("oom_kill");
    expect(o.node).toBe("worker-1");
  });

  test("every documented field is present with the value put in", () => {
    const o = JSON.parse(formatNdjson(event()));
    const expected: Record<string, unknown> = {
      kind: "oom_kill",
      time: "2025-01-02T03:04:05.678Z",
      node: "worker-1",
      constraint: "memcg",
      constraint_source: "stack",
      scope: "container",
      "victim.pid": 4042,
      "victim.tid": 4043,
      "victim.comm": HOSTILE_COMM,
      "victim.anon_rss_kb": 68200,
      "victim.total_vm_kb": 78008,
      "victim.file_rss_kb": 6312,
      "victim.shmem_rss_kb": 0,
      "victim.pgtables_kb": 196,
      "victim.uid": 1000,
      "victim.oom_score_adj": 1000,
      "trigger.pid": 4084,
      "trigger.tid": 4085,
      "trigger.comm": JSON_COMM,
      "cgroup.path": HOSTILE_PATH,
      "cgroup.oom_path": '/kubepods/"oom"\\',
      "container.id": CID,
      "container.runtime": "containerd",
      "container.name": "app\\x",
      "pod.uid": UID,
      "pod.qos": "burstable",
      "pod.namespace": "team-a",
      "pod.name": 'web"0\n',
      attribution: "exact",
      total_pages: 25600,
      decision: "512418896215-4085",
      kernel_time_ns: "512418896215",
      source: "bpftrace",
      probe: "tracepoint",
    };
    for (const [path, value] of Object.entries(expected)) {
      expect({ path, value: at(o, path) }).toEqual({ path, value });
    }
  });

  test("time is ISO 8601 in UTC", () => {
    const o = JSON.parse(formatNdjson(event()));
    expect(o.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  test("kernel_time_ns keeps full precision past 2^53", () => {
    const o = JSON.parse(formatNdjson(event({ kill: kill({ kernelTimeNs: 9_007_199_254_740_993n }) })));
    expect(o.kernel_time_ns).toBe("9007199254740993");
  });

  test("unknown trigger → null pid and comm", () => {
    const o = JSON.parse(formatNdjson(event({ kill: kill({ trigger: { pid: null, tid: null, comm: null } }) })));
    expect(o.trigger).toEqual({ pid: null, tid: null, comm: null });
  });

  test("no identity → the pod and container fields are null, not missing", () => {
    const o = JSON.parse(formatNdjson(event({ identity: null, attribution: "unresolved", kill: kill({ cgroupPath: null }) })));
    expect(o.pod).toEqual({ uid: null, qos: null, namespace: null, name: null, named_by: null });
    expect(o.container).toEqual({ id: null, runtime: null, name: null, image: null, started_at: null });
    expect(o.cgroup.path).toBeNull();
    expect(o.attribution).toBe("unresolved");
  });
});

describe("formatText", () => {
  test("one line, with the hostile strings escaped", () => {
    const t = formatText(event({ identity: null }));
    expect(t.includes("\n")).toBe(false);
    expect(t).toContain("2025-01-02T03:04:05.678Z");
    expect(t).toContain(`victim=4042("a\\"b\\\\c}{\\n\uFFFD")`);
    expect(t).toContain(`cgroup="/kubepods/x\\"y\\\\z}/{\\"a\\":1}\\nnext\uFFFD"`);
    expect(t).toContain("anon-rss=68200kB");
    expect(t).toContain("source=bpftrace");
  });

  test("one line for an unnamed kubernetes victim: pod uid and short container id", () => {
    const unnamed = { ...IDENTITY, pod: { ...IDENTITY.pod!, namespace: null, name: null } };
    const t = formatText(event({ identity: unnamed }));
    expect(t.includes("\n")).toBe(false);
    expect(t).toContain(`pod=${UID} container=abfbf277763b`);
    expect(t).toContain("OOM memcg/container");
  });

  test("one line for a named kubernetes victim: namespace/pod and container name, escaped", () => {
    const t = formatText(event());
    expect(t.includes("\n")).toBe(false);
    expect(t).toContain(`pod="team-a/web\\"0\\n" container="app\\\\x"`);
  });

  test("one line for a systemd unit with a hostile name", () => {
    const id: CgroupIdentity = { workload: "systemd", pod: null, container: null, sandbox: null, unit: 'x\n"y".service', level: "other" };
    const t = formatText(event({ identity: id }));
    expect(t.includes("\n")).toBe(false);
    expect(t).toContain(`unit="x\\n\\"y\\".service"`);
  });

  test("unknown trigger and unknown memory", () => {
    const k = kill({
      trigger: { pid: null, tid: null, comm: null },
      victim: { pid: 7, tid: null, comm: null, memory: { totalVmKb: null, anonRssKb: null, fileRssKb: null, shmemRssKb: null, pgtablesKb: null, uid: null, oomScoreAdj: null } },
    });
    const t = formatText(event({ kill: k, identity: null }));
    expect(t).toContain("victim=7 ");
    expect(t).toContain("trigger=- ");
    expect(t).not.toContain("anon-rss");
  });
});
