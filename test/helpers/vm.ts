// Boots a Debian kernel under qemu (scripts/vm/run.sh) and runs a shell script in it, as if on
// this host: the guest sees the host's root read-only, with its own kernel, /proc, /sys, cgroups
// and tmpfs /tmp and /run. Global OOMs are safe there: they happen in the guest's RAM.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

export type GuestKernel = "bookworm-6.1" | "trixie-6.12";

export const VM_SCRIPTS = join(import.meta.dir, "../../scripts/vm");

export interface BootOptions {
  kernel: GuestKernel;
  /** Shell text, run by /bin/sh as root in the guest with /mnt/results as its working directory. */
  script: string;
  /** The guest's cgroup layout: v2 (cgroup2 at /sys/fs/cgroup) or v1 (memory controller only, at /sys/fs/cgroup/memory). */
  cgroup: "v1" | "v2";
  /** Guest RAM in MiB (default 512). */
  memMb?: number;
  /** qemu is killed after this (default 240 s); the guest kills the script 30 s before, keeping its output. */
  timeoutMs?: number;
}

export interface GuestResult {
  /** The script's exit status; 124 when qemu hit the timeout, 125 when the guest gave none. */
  exitCode: number;
  /** The serial console: kernel messages and the guest init's log. */
  console: string;
  /** Every file the script wrote under /mnt/results, by path relative to it. */
  files: Record<string, string>;
  /** The script's stdout and stderr. */
  output: string;
  /** The guest init's log, and its error when it could not run the script. */
  initLog: string;
  /** What scripts/vm/run.sh printed (kernel fetch, boot summary). */
  runLog: string;
  /** Boot to poweroff, as the host saw it. */
  durationMs: number;
  /** The guest's watchdog killed the script. */
  timedOut: boolean;
}

/** Kernel dirs for these kernels, downloading and unpacking them when missing (scripts/vm/kernels.sh). */
export async function fetchKernels(...kernels: GuestKernel[]): Promise<string[]> {
  const p = Bun.spawn(["sh", join(VM_SCRIPTS, "kernels.sh"), ...kernels], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`scripts/vm/kernels.sh failed (${code}):\n${err}`);
  return out.trim().split("\n");
}

function readTree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  if (!existsSync(dir)) return files;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() || statSync(p).isFile()) files[relative(dir, p)] = readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return files;
}

const readOr = (p: string, fallback = ""): string => (existsSync(p) ? readFileSync(p, "utf8") : fallback);

/** Boots `kernel`, runs `script` in it and collects what it left. Set OOMTRACE_VM_KEEP=1 to keep the temp dir. */
export async function bootGuest(opts: BootOptions): Promise<GuestResult> {
  const work = mkdtempSync(join(tmpdir(), "oomtrace-vm-"));
  const script = join(work, "guest.sh");
  const results = join(work, "results");
  writeFileSync(script, opts.script, { mode: 0o644 });
  const started = Date.now();
  try {
    const p = Bun.spawn(["sh", join(VM_SCRIPTS, "run.sh"), opts.kernel, script, results, String(opts.memMb ?? 512)], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: {
        ...process.env,
        OOMTRACE_VM_CGROUP: opts.cgroup,
        OOMTRACE_VM_TIMEOUT: String(Math.ceil((opts.timeoutMs ?? 240_000) / 1000)),
      },
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    const exitText = readOr(join(results, "exit-code")).trim();
    return {
      exitCode: exitText === "" ? code : Number(exitText),
      console: readOr(join(results, "console.log")),
      files: readTree(join(results, "files")),
      output: readOr(join(results, "output.log")),
      initLog: readOr(join(results, "init.log")) + readOr(join(results, "init-error")),
      runLog: out + err,
      durationMs: Date.now() - started,
      timedOut: existsSync(join(results, "timed-out")) || code === 124,
    };
  } finally {
    if (process.env.OOMTRACE_VM_KEEP === "1") console.error(`bootGuest: kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}
/** A readable summary of a guest run, for assertion messages. */
export function describeGuest(r: GuestResult, consoleTail = 60): string {
  const tail = r.console.split("\n").slice(-consoleTail).join("\n");
  const files = Object.entries(r.files)
    .map(([k, v]) => `--- ${k}\n${v.length > 4000 ? `${v.slice(0, 4000)}\n[...]` : v}`)
    .join("\n");
  return `exit ${r.exitCode} after ${(r.durationMs / 1000).toFixed(1)} s${r.timedOut ? " (timed out)" : ""}\n--- run.sh\n${r.runLog}--- init\n${r.initLog}--- output\n${r.output}${files}\n--- console (tail)\n${tail}`;
}
