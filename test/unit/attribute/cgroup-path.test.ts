import { describe, expect, test } from "bun:test";
import { oomScope, parseCgroupPath } from "../../../src/attribute/cgroup-path.ts";
import type { CgroupIdentity, Constraint, ContainerRef, OomScope, PodRef } from "../../../src/types.ts";

// Hand-written ids. UID_ is UID as the systemd driver writes it.
const UID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const UID_ = "0a1b2c3d_4e5f_4a6b_8c7d_9e0f1a2b3c4d";
const UID2 = "11112222-3333-4444-5555-666677778888";
const STATIC_UID = "40dd19fd606a18ec7049c1a38ae525e5";
const ID = "abfbf277763bf55adb9b99ad366221c157e9800fa175746c5b32a8c6f8850591";
const ID2 = "d64935feac7456d5f42919c0bab3737caff8327bb8db3c504a461aeb7932d49a";
const DOCKER_ID = "cb045ebaf038f22a6b9098bfe2fe331a5261e26b4c3dc7c9a48edb73ae48e64b";

const pod = (uid: string, qos: PodRef["qos"]): PodRef => ({ uid, qos, namespace: null, name: null });
const ctr = (id: string, runtime: ContainerRef["runtime"]): ContainerRef => ({ id, runtime, name: null });

function kube(level: CgroupIdentity["level"], p: PodRef | null = null, c: ContainerRef | null = null): CgroupIdentity {
  return { workload: "kubernetes", pod: p, container: c, sandbox: null, unit: null, level };
}
const other: CgroupIdentity = { workload: "other", pod: null, container: null, sandbox: null, unit: null, level: "other" };
const systemd = (unit: string): CgroupIdentity => ({ ...other, workload: "systemd", unit });
const docker = (id: string): CgroupIdentity => ({ ...other, workload: "docker", container: ctr(id, "docker") });

type Row = [label: string, path: string, expected: CgroupIdentity];

function table(rows: Row[]): void {
  test.each(rows)("%s", (_label, path, expected) => {
    expect(parseCgroupPath(path)).toEqual(expected);
  });
}

describe("parseCgroupPath: the 18 kubelet layouts (v1 and v2 share these paths)", () => {
  table([
    // cgroupfs driver
    ["cgroupfs containerd burstable", `/kubepods/burstable/pod${UID}/${ID}`, kube("container", pod(UID, "burstable"), ctr(ID, null))],
    ["cgroupfs containerd besteffort", `/kubepods/besteffort/pod${UID}/${ID}`, kube("container", pod(UID, "besteffort"), ctr(ID, null))],
    ["cgroupfs containerd guaranteed", `/kubepods/pod${UID}/${ID}`, kube("container", pod(UID, "guaranteed"), ctr(ID, null))],
    ["cgroupfs cri-o burstable", `/kubepods/burstable/pod${UID}/crio-${ID}`, kube("container", pod(UID, "burstable"), ctr(ID, "cri-o"))],
    ["cgroupfs cri-o besteffort", `/kubepods/besteffort/pod${UID}/crio-${ID}`, kube("container", pod(UID, "besteffort"), ctr(ID, "cri-o"))],
    ["cgroupfs cri-o guaranteed", `/kubepods/pod${UID}/crio-${ID}`, kube("container", pod(UID, "guaranteed"), ctr(ID, "cri-o"))],
    ["cgroupfs docker burstable", `/kubepods/burstable/pod${UID}/${ID2}`, kube("container", pod(UID, "burstable"), ctr(ID2, null))],
    ["cgroupfs docker besteffort", `/kubepods/besteffort/pod${UID}/${ID2}`, kube("container", pod(UID, "besteffort"), ctr(ID2, null))],
    ["cgroupfs docker guaranteed", `/kubepods/pod${UID}/${ID2}`, kube("container", pod(UID, "guaranteed"), ctr(ID2, null))],
    // systemd driver
    [
      "systemd containerd burstable",
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      kube("container", pod(UID, "burstable"), ctr(ID, "containerd")),
    ],
    [
      "systemd containerd besteffort",
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      kube("container", pod(UID, "besteffort"), ctr(ID, "containerd")),
    ],
    [
      "systemd containerd guaranteed",
      `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      kube("container", pod(UID, "guaranteed"), ctr(ID, "containerd")),
    ],
    [
      "systemd cri-o burstable",
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID}.scope`,
      kube("container", pod(UID, "burstable"), ctr(ID, "cri-o")),
    ],
    [
      "systemd cri-o besteffort",
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`,
      kube("container", pod(UID, "besteffort"), ctr(ID, "cri-o")),
    ],
    [
      "systemd cri-o guaranteed",
      `/kubepods.slice/kubepods-pod${UID_}.slice/crio-${ID}.scope`,
      kube("container", pod(UID, "guaranteed"), ctr(ID, "cri-o")),
    ],
    [
      "systemd docker burstable",
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/docker-${ID2}.scope`,
      kube("container", pod(UID, "burstable"), ctr(ID2, "docker")),
    ],
    [
      "systemd docker besteffort",
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/docker-${ID2}.scope`,
      kube("container", pod(UID, "besteffort"), ctr(ID2, "docker")),
    ],
    [
      "systemd docker guaranteed",
      `/kubepods.slice/kubepods-pod${UID_}.slice/docker-${ID2}.scope`,
      kube("container", pod(UID, "guaranteed"), ctr(ID2, "docker")),
    ],
  ]);
});

describe("parseCgroupPath: kubelet tree under a prefix", () => {
  table([
    ["process_api prefix", `/process_api/abc/kubepods/burstable/pod${UID}/${ID}`, kube("container", pod(UID, "burstable"), ctr(ID, null))],
    [
      "kind: kubelet-kubepods.slice",
      `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      kube("container", pod(UID, "besteffort"), ctr(ID, "containerd")),
    ],
    [
      "kind node in a docker scope, guaranteed",
      `/system.slice/docker-${DOCKER_ID}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      kube("container", pod(UID, "guaranteed"), ctr(ID, "containerd")),
    ],
    ["cgroupfs docker prefix", `/docker/${DOCKER_ID}/kubepods/pod${UID}/${ID}`, kube("container", pod(UID, "guaranteed"), ctr(ID, null))],
    ["relative to a cgroup namespace", `/../../kubepods/burstable/pod${UID}/${ID}`, kube("container", pod(UID, "burstable"), ctr(ID, null))],
    ["doubled and trailing slashes", `//kubepods//burstable/pod${UID}//${ID}/`, kube("container", pod(UID, "burstable"), ctr(ID, null))],
    [
      "a kubepods tree faked inside a container: the outer one counts",
      `/kubepods/burstable/pod${UID}/${ID}/kubepods/pod${UID2}/${ID2}`,
      kube("other", pod(UID, "burstable"), ctr(ID, null)),
    ],
    ["kubepods only as part of a name", `/mykubepods/burstable/pod${UID}/${ID}`, other],
    ["kubepods.slice only as part of a name", `/kubepods.slice.bak/kubepods-pod${UID_}.slice/${ID}`, other],
    ["a bare -kubepods.slice is no root", `/-kubepods.slice/-kubepods-pod${UID_}.slice/${ID}`, other],
  ]);
});

describe("parseCgroupPath: runtime details", () => {
  table([
    [
      "crun's /container child is still the crio container",
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID}.scope/container`,
      kube("container", pod(UID, "burstable"), ctr(ID, "cri-o")),
    ],
    [
      "conmon (systemd) gets the pod, never the container",
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${ID}.scope`,
      kube("other", pod(UID, "burstable")),
    ],
    ["conmon (cgroupfs) gets the pod, never the container", `/kubepods/pod${UID}/crio-conmon-${ID}`, kube("other", pod(UID, "guaranteed"))],
    ["pause-shaped sibling: sandbox unknown", `/kubepods/besteffort/pod${UID}/${ID2}`, kube("container", pod(UID, "besteffort"), ctr(ID2, null))],
    [
      "a cgroup the workload made below its container",
      `/kubepods/pod${UID}/${ID}/worker`,
      kube("other", pod(UID, "guaranteed"), ctr(ID, null)),
    ],
    [
      "a second level below crun's child",
      `/kubepods.slice/kubepods-pod${UID_}.slice/crio-${ID}.scope/container/x`,
      kube("other", pod(UID, "guaranteed"), ctr(ID, "cri-o")),
    ],
    ["static pod, cgroupfs", `/kubepods/burstable/pod${STATIC_UID}/${ID}`, kube("container", pod(STATIC_UID, "burstable"), ctr(ID, null))],
    [
      "static pod, systemd",
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${STATIC_UID}.slice/cri-containerd-${ID}.scope`,
      kube("container", pod(STATIC_UID, "burstable"), ctr(ID, "containerd")),
    ],
  ]);
});

describe("parseCgroupPath: levels above the container", () => {
  table([
    ["pod, cgroupfs burstable", `/kubepods/burstable/pod${UID}`, kube("pod", pod(UID, "burstable"))],
    ["pod, cgroupfs guaranteed", `/kubepods/pod${UID}`, kube("pod", pod(UID, "guaranteed"))],
    [
      "pod, systemd besteffort",
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice`,
      kube("pod", pod(UID, "besteffort")),
    ],
    ["pod, systemd guaranteed", `/kubepods.slice/kubepods-pod${UID_}.slice`, kube("pod", pod(UID, "guaranteed"))],
    ["qos, cgroupfs", "/kubepods/besteffort", kube("qos")],
    ["qos, systemd", "/kubepods.slice/kubepods-burstable.slice", kube("qos")],
    ["kubepods, cgroupfs", "/kubepods", kube("kubepods")],
    ["kubepods, systemd", "/kubepods.slice", kube("kubepods")],
    ["kubepods, kind", "/kubelet.slice/kubelet-kubepods.slice", kube("kubepods")],
    ["unknown dir under kubepods", "/kubepods/kube-proxy", kube("other")],
  ]);
});

describe("parseCgroupPath: outside Kubernetes", () => {
  table([
    ["systemd service", "/system.slice/nginx.service", systemd("nginx.service")],
    ["user session", "/user.slice/user-1000.slice/session-3.scope", systemd("session-3.scope")],
    [
      "a user's own service: the innermost unit",
      "/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-4242.scope",
      systemd("app-gnome-firefox-4242.scope"),
    ],
    ["a sub-cgroup of a service", "/system.slice/containerd.service/worker", systemd("containerd.service")],
    ["escaped unit name", "/system.slice/systemd-fsck@dev-disk-by\\x2duuid-1234.service", systemd("systemd-fsck@dev-disk-by\\x2duuid-1234.service")],
    ["init.scope", "/init.scope", systemd("init.scope")],
    ["docker, cgroupfs", `/docker/${DOCKER_ID}`, docker(DOCKER_ID)],
    ["docker, systemd", `/system.slice/docker-${DOCKER_ID}.scope`, docker(DOCKER_ID)],
    ["containerd scope outside kubepods is just a unit", `/system.slice/cri-containerd-${ID}.scope`, systemd(`cri-containerd-${ID}.scope`)],
    ["root", "/", other],
    ["empty", "", other],
    ["a slice alone", "/system.slice", other],
    ["a plain dir", "/machine/qemu-1", other],
  ]);
});

describe("parseCgroupPath: hostile and near-miss input never throws and never attributes", () => {
  const longName = "a".repeat(1_000_000);
  table([
    ["pod with a non-uid", `/kubepods/burstable/podXYZ/${ID}`, kube("other")],
    ["pod with no uid", `/kubepods/burstable/pod/${ID}`, kube("other")],
    ["uid in upper case", `/kubepods/pod${UID.toUpperCase()}/${ID}`, kube("other")],
    ["uid with underscores under cgroupfs", `/kubepods/pod${UID_}/${ID}`, kube("other")],
    ["uid with dashes under systemd", `/kubepods.slice/kubepods-pod${UID}.slice/crio-${ID}.scope`, kube("other")],
    ["uid one hex short", `/kubepods/pod${UID.slice(0, -1)}/${ID}`, kube("other")],
    ["static uid 31 hex", `/kubepods/pod${STATIC_UID.slice(1)}/${ID}`, kube("other")],
    ["static uid 33 hex", `/kubepods/pod${STATIC_UID}0/${ID}`, kube("other")],
    ["uid with a trailing newline", `/kubepods/pod${UID}\n/${ID}`, kube("other")],
    ["uid with U+FFFD", `/kubepods/pod${UID.slice(0, -1)}\uFFFD/${ID}`, kube("other")],
    ["uid with a quote and brace", `/kubepods/burstable/pod${UID}"}/${ID}`, kube("other")],
    [
      "systemd pod slice under the wrong qos",
      `/kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`,
      kube("other"),
    ],
    ["cgroupfs names under a systemd root", `/kubepods.slice/burstable/pod${UID}/${ID}`, kube("other")],
    ["systemd names under a cgroupfs root", `/kubepods/kubepods-pod${UID_}.slice/crio-${ID}.scope`, kube("other")],
    ["cri-containerd with 63 hex", `/kubepods/pod${UID}/cri-containerd-${ID.slice(1)}.scope`, kube("other", pod(UID, "guaranteed"))],
    ["bare id with 65 hex", `/kubepods/pod${UID}/${ID}0`, kube("other", pod(UID, "guaranteed"))],
    ["id in upper case", `/kubepods/pod${UID}/${ID.toUpperCase()}`, kube("other", pod(UID, "guaranteed"))],
    ["crio scope with a suffix", `/kubepods/pod${UID}/crio-${ID}.scope.bak`, kube("other", pod(UID, "guaranteed"))],
    ["id with a backslash", `/kubepods/pod${UID}/${ID.slice(1)}\\`, kube("other", pod(UID, "guaranteed"))],
    ["id with a newline", `/kubepods/pod${UID}/${ID}\n`, kube("other", pod(UID, "guaranteed"))],
    ["unknown runtime prefix", `/kubepods/pod${UID}/runc-${ID}`, kube("other", pod(UID, "guaranteed"))],
    ["'..' climbing out of a pod", `/kubepods/burstable/pod${UID}/../pod${UID2}/${ID}`, other],
    ["'..' after a container", `/kubepods/burstable/pod${UID}/${ID}/..`, other],
    ["'.' in the path", `/kubepods/./pod${UID}/${ID}`, other],
    ["only '..'", "/../..", other],
    ["docker with 63 hex", `/docker/${DOCKER_ID.slice(1)}`, other],
    ["docker id with a newline", `/docker/${DOCKER_ID}\n`, other],
    ["unit with a quote and newline", '/system.slice/ev"il\n.service', other],
    ["unit with braces", "/system.slice/{x}.service", other],
    ["unit name over 255 chars", `/system.slice/${"u".repeat(250)}.service`, other],
    ["a million-char component under kubepods", `/kubepods/${longName}`, kube("other")],
    ["a million-char pod name", `/kubepods/pod${longName}/${ID}`, kube("other")],
    ["a million-char name", `/${longName}`, other],
    ["100k components", "/a".repeat(100_000), other],
  ]);
});

describe("oomScope", () => {
  const container = `/kubepods/burstable/pod${UID}/${ID}`;
  const rows: [Constraint, string | null, OomScope][] = [
    ["global", null, "global"],
    ["global", container, "global"],
    ["cpuset", null, "global"],
    ["mempolicy", container, "global"],
    ["memcg", container, "container"],
    ["memcg", `/kubepods.slice/kubepods-pod${UID_}.slice/crio-${ID}.scope/container`, "container"],
    ["memcg", `/kubepods/burstable/pod${UID}`, "pod"],
    ["memcg", `/kubepods.slice/kubepods-pod${UID_}.slice`, "pod"],
    ["memcg", "/kubepods/besteffort", "kubepods"],
    ["memcg", "/kubepods.slice/kubepods-burstable.slice", "kubepods"],
    ["memcg", "/kubepods", "kubepods"],
    ["memcg", "/kubelet.slice/kubelet-kubepods.slice", "kubepods"],
    ["memcg", `/kubepods/pod${UID}/crio-conmon-${ID}`, "cgroup"],
    ["memcg", `/kubepods/pod${UID}/${ID}/worker`, "cgroup"],
    ["memcg", "/system.slice/nginx.service", "cgroup"],
    ["memcg", `/docker/${DOCKER_ID}`, "cgroup"],
    ["memcg", "/machine/qemu-1", "cgroup"],
    ["memcg", null, "unknown"],
    ["unknown", container, "unknown"],
    ["unknown", null, "unknown"],
  ];
  test.each(rows)("%s at %p → %s", (constraint, oomCgroupPath, expected) => {
    expect(oomScope({ constraint, oomCgroupPath })).toBe(expected);
  });
});
