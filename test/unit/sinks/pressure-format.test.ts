import { describe, expect, test } from "bun:test";
import { formatNdjson, formatText } from "../../../src/sinks/format.ts";
import { formatPressureNdjson, formatPressureText } from "../../../src/sinks/pressure-format.ts";
import type { CgroupIdentity, OomEvent, PressureEvent } from "../../../src/types.ts";

const MiB = 1 << 20;
const UID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const CID = "abfbf277763bf55adb9b99ad366221c157e9800fa175746c5b32a8c6f8850591";
const HOSTILE_PATH = `/kubepods/burstable/pod${UID}/x"y\\z}\n{"kind":"oom_kill"}`;
const IDENTITY: CgroupIdentity = {
  workload: "kubernetes",
  pod: { uid: UID, qos: "burstable", namespace: "team-a", name: 'web"0\n' },
  container: { id: CID, runtime: "containerd", name: "app\\x" },
  sandbox: null,
  unit: null,
  level: "container",
};
const T0 = Date.UTC(2026, 10, 21, 9, 0, 0, 0);

function warning(over: Partial<PressureEvent> = {}): PressureEvent {
  return {
    time: new Date(T0),
    node: "worker-1",
    cgroupPath: HOSTILE_PATH,
    identity: IDENTITY,
    names: { source: "apiserver", pod: { uid: UID, namespace: "team-a", name: 'web"0\n', labels: {} }, container: { id: CID, name: "app\\x", image: null } },
    reasons: ["time_to_oom", "usage"],
    sample: { usageBytes: 120 * MiB, workingSetBytes: 115 * MiB, limitBytes: 128 * MiB, psi: { someAvg10: 1.5, fullAvg10: 0.25 } },
    estimate: {
      seconds: 12.3456,
      lowSeconds: 11.1111,
      highSeconds: 14.2222,
      confidence: 0.87654,
      growthBytesPerSecond: 1_048_576.4,
      samples: 30,
      spanSeconds: 29.0004,
    },
    ...over,
  };
}

describe("memory_pressure NDJSON", () => {
  test("every documented field, with the value put in", () => {
    expect(JSON.parse(formatPressureNdjson(warning()))).toEqual({
      kind: "memory_pressure",
      time: "2026-11-21T09:00:00.000Z",
      node: "worker-1",
      reasons: ["time_to_oom", "usage"],
      memory: { usage_bytes: 120 * MiB, working_set_bytes: 115 * MiB, limit_bytes: 128 * MiB, working_set_ratio: 0.898 },
      psi: { some_avg10: 1.5, full_avg10: 0.25 },
      time_to_oom: {
        seconds: 12.346,
        low_seconds: 11.111,
        high_seconds: 14.222,
        confidence: 0.877,
        oom_time: "2026-11-21T09:00:12.346Z",
        growth_bytes_per_second: 1_048_576,
        samples: 30,
        span_seconds: 29,
      },
      cgroup: { path: HOSTILE_PATH },
      workload: { kind: "kubernetes", unit: null },
      container: { id: CID, runtime: "containerd", name: "app\\x" },
      pod: { uid: UID, qos: "burstable", namespace: "team-a", name: 'web"0\n', named_by: "apiserver" },
    });
  });

  test("one line, and a hostile path cannot forge a field", () => {
    const line = formatPressureNdjson(warning());
    expect(line.includes("\n")).toBe(false);
    expect(JSON.parse(line).cgroup.path).toBe(HOSTILE_PATH);
  });

  test("no estimate and no PSI are null, not missing", () => {
    const o = JSON.parse(formatPressureNdjson(warning({ estimate: null, reasons: ["usage"], sample: { ...warning().sample, psi: null } })));
    expect(o.time_to_oom).toBeNull();
    expect(o.psi).toBeNull();
  });

  test("shares the identity fields of oom_kill, value for value, so the two join", () => {
    const k = JSON.parse(formatNdjson({ ...killEvent(null), kill: { ...killEvent(null).kill, cgroupPath: HOSTILE_PATH }, names: warning().names }));
    const p = JSON.parse(formatPressureNdjson(warning()));
    for (const field of ["node", "workload", "container", "pod"]) expect({ field, v: p[field] }).toEqual({ field, v: k[field] });
    expect(p.cgroup.path).toBe(k.cgroup.path);
  });
});

/** A kill in the same container as warning(), 12.5 s after it, linked to `w`. */
function killEvent(w: PressureEvent | null | undefined, at = T0 + 12_500): OomEvent {
  return {
    kill: {
      source: "bpftrace",
      probe: "tracepoint",
      kernelTimeNs: 1n,
      victim: { pid: 1, tid: 1, comm: "x", memory: { totalVmKb: null, anonRssKb: null, fileRssKb: null, shmemRssKb: null, pgtablesKb: null, uid: null, oomScoreAdj: null } },
      trigger: { pid: 1, tid: 1, comm: "x" },
      constraint: "memcg",
      constraintFrom: "stack",
      cgroupPath: "/p",
      oomCgroupPath: "/p",
      totalPages: null,
      decision: "1-1",
    },
    identity: IDENTITY,
    names: null,
    scope: "container",
    attribution: "exact",
    node: "worker-1",
    time: new Date(at),
    warning: w,
  };
}

describe("the warning inside oom_kill", () => {
  test("its time, reasons, estimate, the predicted OOM time and how long before the kill it came", () => {
    expect(JSON.parse(formatNdjson(killEvent(warning()))).warning).toEqual({
      time: "2026-11-21T09:00:00.000Z",
      reasons: ["time_to_oom", "usage"],
      time_to_oom_seconds: 12.346,
      confidence: 0.877,
      oom_time: "2026-11-21T09:00:12.346Z",
      lead_seconds: 12.5,
    });
  });

  test("a warning without an estimate", () => {
    const w = JSON.parse(formatNdjson(killEvent(warning({ estimate: null, reasons: ["psi"] })))).warning;
    expect(w).toMatchObject({ reasons: ["psi"], time_to_oom_seconds: null, confidence: null, oom_time: null, lead_seconds: 12.5 });
  });

  test("none: null, also when the field was never set", () => {
    expect(JSON.parse(formatNdjson(killEvent(null))).warning).toBeNull();
    expect(JSON.parse(formatNdjson(killEvent(undefined))).warning).toBeNull();
  });

  test("the text line says how long before the kill the warning came", () => {
    expect(formatText(killEvent(warning()))).toContain("warned=12.5s-before");
    expect(formatText(killEvent(null))).not.toContain("warned");
  });
});

describe("memory_pressure text", () => {
  test("one line with the numbers that matter and the names escaped", () => {
    const t = formatPressureText(warning());
    expect(t.includes("\n")).toBe(false);
    expect(t).toBe(
      `2026-11-21T09:00:00.000Z PRESSURE time_to_oom,usage working-set=115.0MiB/128.0MiB time-to-oom=12.3s confidence=0.88 psi-full-avg10=0.25 pod="team-a/web\\"0\\n" container="app\\\\x"`,
    );
  });

  test("without estimate or PSI, and unnamed", () => {
    const unnamed = { ...IDENTITY, pod: { ...IDENTITY.pod!, namespace: null, name: null } };
    const t = formatPressureText(warning({ estimate: null, identity: unnamed, sample: { ...warning().sample, psi: null } }));
    expect(t).toBe(`2026-11-21T09:00:00.000Z PRESSURE time_to_oom,usage working-set=115.0MiB/128.0MiB pod=${UID} container=abfbf277763b`);
  });
});
