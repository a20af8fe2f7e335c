// scripts/install.sh into a staging root: the binary, the hardened unit (checked by systemd-analyze
// verify and its offline security review) and the env file; CAP_SYS_ADMIN only where bpftrace needs it.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "../helpers/agent.ts";
import { agentEnvNames } from "../helpers/agent-env.ts";
import { REPO } from "../helpers/runtime-root.ts";

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function install(extra: string[] = [], root = mkdtempSync(join(tmpdir(), "oomtrace-install-"))) {
  roots.push(root);
  const r = Bun.spawnSync(["sh", join(REPO, "scripts/install.sh"), "--root", root, "--binary", BINARY, ...extra], { stdout: "pipe", stderr: "pipe" });
  return { root, code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** systemd-analyze on the staged root, with this machine's systemd units (sysinit.target, ...) bound in. */
function analyze(root: string, verb: string[]) {
  mkdirSync(join(root, "usr/lib/systemd"), { recursive: true });
  const script = `mount --bind /usr/lib/systemd "$1/usr/lib/systemd" && shift && exec systemd-analyze "$@"`;
  const r = Bun.spawnSync(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", root, ...verb, `--root=${root}`, "oomtrace.service"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

const SYSTEMD_ANALYZE = Bun.which("systemd-analyze");

describe("scripts/install.sh", () => {
  test("installs the binary, the unit and the env file, and the binary runs from there", () => {
    const { root, code, err } = install();
    expect(err).toBe("");
    expect(code).toBe(0);
    const bin = join(root, "usr/local/bin/oomtrace");
    expect(statSync(bin).mode & 0o777).toBe(0o755);
    expect(readFileSync(bin).equals(readFileSync(BINARY))).toBe(true);
    expect(Bun.spawnSync([bin, "--version"]).stdout.toString()).toMatch(/^\d+\.\d+\.\d+\+\w+/);
    expect(readFileSync(join(root, "etc/systemd/system/oomtrace.service"), "utf8")).toBe(readFileSync(join(REPO, "deploy/systemd/oomtrace.service"), "utf8"));
    expect(existsSync(join(root, "etc/default/oomtrace"))).toBe(true);
  });

  test("keeps an env file the operator edited", () => {
    const first = install();
    writeFileSync(join(first.root, "etc/default/oomtrace"), "OOMTRACE_OUTPUT=text\n");
    const again = install([], first.root);
    expect(again.code).toBe(0);
    expect(again.out).toContain("keeping");
    expect(readFileSync(join(first.root, "etc/default/oomtrace"), "utf8")).toBe("OOMTRACE_OUTPUT=text\n");
  });

  test("adds CAP_SYS_ADMIN only where bpftrace cannot load a probe without it", () => {
    // This host's bpftrace is 0.17 (Debian bookworm), which needs CAP_SYS_ADMIN for BTF.
    const host = install();
    const dropin = join(host.root, "etc/systemd/system/oomtrace.service.d/sys-admin.conf");
    const version = Bun.spawnSync(["bpftrace", "--version"]).stdout.toString();
    if (/v0\.17\./.test(version)) {
      expect(host.out).toContain("needs CAP_SYS_ADMIN here");
      expect(readFileSync(dropin, "utf8")).toContain("CapabilityBoundingSet=CAP_SYS_ADMIN");
    }
    // A bpftrace that loads the probe with the unit's capabilities gets no drop-in.
    const fake = join(host.root, "fake-bpftrace");
    writeFileSync(fake, "#!/bin/sh\nexit 0\n");
    chmodSync(fake, 0o755);
    const ok = install([], mkdtempSync(join(tmpdir(), "oomtrace-install-")));
    writeFileSync(join(ok.root, "etc/default/oomtrace"), `OOMTRACE_BPFTRACE=${fake}\n`);
    const again = install([], ok.root);
    expect(again.out).toContain("works with CAP_BPF, CAP_PERFMON and CAP_SYSLOG alone");
    expect(existsSync(join(ok.root, "etc/systemd/system/oomtrace.service.d/sys-admin.conf"))).toBe(false);
  });

  test("refuses a binary that is missing, and unknown arguments", () => {
    const r = Bun.spawnSync(["sh", join(REPO, "scripts/install.sh"), "--binary", "/nonexistent", "--root", tmpdir()], { stderr: "pipe" });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain("no agent at /nonexistent");
    const u = Bun.spawnSync(["sh", join(REPO, "scripts/install.sh"), "--prefix", "/x"], { stderr: "pipe" });
    expect(u.exitCode).toBe(2);
  });

  test("every variable in the env file is one the agent reads", () => {
    const text = readFileSync(join(REPO, "deploy/systemd/oomtrace.env"), "utf8");
    const names = [...text.matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!).filter((n) => n !== "OOMTRACE_ARGS");
    expect(names.length).toBeGreaterThan(20);
    const known = agentEnvNames();
    expect(names.filter((n) => !known.has(n))).toEqual([]);
    // systemd has no comments after a value: a commented-out line must be a plain NAME=value.
    expect(text.split("\n").filter((l) => /^#?[A-Z_]+=.*#/.test(l))).toEqual([]);
  });
});

describe.skipIf(!SYSTEMD_ANALYZE)("oomtrace.service under systemd-analyze", () => {
  test("systemd-analyze verify passes with nothing to say", () => {
    const { root } = install();
    const r = analyze(root, ["verify"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });

  test("verify does catch a broken unit (the check can fail)", () => {
    const { root } = install();
    const unit = join(root, "etc/systemd/system/oomtrace.service");
    writeFileSync(unit, readFileSync(unit, "utf8").replace("ProtectSystem=strict", "ProtectSystem=sometimes").replace("Restart=always", "Restartt=always"));
    const r = analyze(root, ["verify"]);
    expect(r.err).toContain("Failed to parse protect system value");
    expect(r.err).toContain("Unknown key 'Restartt'");
  });

  test("the unit hides nothing the agent reads: /proc/kallsyms (kernel stack symbols), /dev/kmsg, other users' processes", () => {
    // Each of these settings takes one of them away (systemd's namespace.c); the runtime-root test shows
    // what losing kallsyms costs.
    const unit = readFileSync(join(REPO, "deploy/systemd/oomtrace.service"), "utf8");
    for (const key of ["ProtectKernelTunables", "ProtectKernelLogs", "PrivateDevices", "MemoryDenyWriteExecute", "ProtectProc"]) {
      expect(unit).not.toMatch(new RegExp(`^${key}=`, "m"));
    }
    expect(unit).toMatch(/^DeviceAllow=\/dev\/kmsg r$/m);
  });

  test("the offline security review rates its exposure OK or better, with the hardening in place", () => {
    const { root } = install();
    const r = analyze(root, ["security", "--offline=true"]);
    const m = /Overall exposure level for oomtrace\.service: (\d+\.\d+) (\w+)/.exec(r.out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(4.5);
    for (const line of ["ProtectSystem=", "NoNewPrivileges=", "RestrictSUIDSGID=", "ProtectKernelModules=", "PrivateTmp=", "PrivateMounts=", "SystemCallFilter=~@reboot"]) {
      expect(r.out).toMatch(new RegExp(`✓ ${line}`));
    }
  });
});
