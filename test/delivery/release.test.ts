// `bun run build:release`: both release binaries, their checksums and embedded version; the arm64 one
// runs under qemu-user with the arm64 runtime root's libraries and its own arm64 bpftrace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, runtimeRoot } from "../helpers/runtime-root.ts";

const dir = mkdtempSync(join(tmpdir(), "oomtrace-release-"));
const QEMU = Bun.which("qemu-aarch64-static") ?? Bun.which("qemu-aarch64");
let expectedVersion = "";
let arm64Root = "";

/** ELF e_machine: 0x3e x86-64, 0xb7 AArch64. */
function elfMachine(file: string): number {
  const fd = openSync(file, "r");
  const b = Buffer.alloc(20);
  readSync(fd, b, 0, 20, 0);
  closeSync(fd);
  expect(b.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  return b.readUInt16LE(18);
}

function run(cmd: string[]) {
  const r = Bun.spawnSync(cmd, { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

beforeAll(() => {
  const pkg = require(join(REPO, "package.json")) as { version: string };
  const commit = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).out.trim();
  expectedVersion = `${pkg.version}+${commit}`;
  const r = run(["bun", "run", "build:release", dir]);
  if (r.code !== 0) throw new Error(`build:release failed:\n${r.out}\n${r.err}`);
  arm64Root = runtimeRoot("arm64");
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bun run build:release", () => {
  test("writes both binaries for the right machines and checksums that sha256sum accepts", () => {
    expect(elfMachine(join(dir, "oomtrace-linux-amd64"))).toBe(0x3e);
    expect(elfMachine(join(dir, "oomtrace-linux-arm64"))).toBe(0xb7);
    const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    expect(check.exitCode).toBe(0);
    expect(check.stdout.toString()).toBe("oomtrace-linux-amd64: OK\noomtrace-linux-arm64: OK\n");
  });

  test("the amd64 binary says its version and commit", () => {
    const r = run([join(dir, "oomtrace-linux-amd64"), "--version"]);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(expectedVersion);
  });
});

test("qemu-user is installed (scripts/test.sh installs qemu-user-static)", () => {
  expect(QEMU).toBeTruthy();
});

describe.skipIf(!QEMU)("the arm64 binary under qemu-user", () => {
  const arm64 = () => [QEMU!, "-L", arm64Root, join(dir, "oomtrace-linux-arm64")];

  test("--version: the same version and commit as the amd64 build", () => {
    const r = run([...arm64(), "--version"]);
    expect(r.err).toBe("");
    expect(r.out.trim()).toBe(expectedVersion);
  });

  test("probe: the arm64 build reads this kernel's facts, runs bpftrace, and chooses as the amd64 build does", () => {
    // Under qemu-user the agent's file reads and its bpftrace child go through qemu's syscall layer; the
    // host's bpftrace runs natively (an x86-64 child of an emulated process needs no binfmt).
    const bpftrace = Bun.which("bpftrace")!;
    const onArm = run([...arm64(), "probe", "--bpftrace", bpftrace]);
    expect(onArm.err).toBe("");
    expect(onArm.code).toBe(0);
    // This host has tracepoints only (field notes §2): the choice must say so.
    expect(onArm.out).toContain("// chosen: tracepoint");
    expect(onArm.out).toMatch(/kprobe: not available, the kernel has no kprobes/);
    expect(onArm.out).toContain("tracepoint:oom:mark_victim");
    const onAmd = run([join(dir, "oomtrace-linux-amd64"), "probe", "--bpftrace", bpftrace]);
    expect(onAmd.code).toBe(0);
    expect(onArm.out).toBe(onAmd.out);
  });

  test("the arm64 image packages hold an arm64 bpftrace 0.23 that runs under qemu-user", () => {
    // Its BPF syscalls are not emulated (qemu-user answers ENOSYS), so only what needs none is checked.
    const r = run([QEMU!, "-L", arm64Root, join(arm64Root, "usr/bin/bpftrace"), "--version"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^bpftrace v0\.23\.\d+/);
    expect(elfMachine(join(arm64Root, "usr/bin/bpftrace"))).toBe(0xb7);
  });
});
