// Processes that use memory inside a cgroup: a holder that keeps N MiB, a grower that never stops.
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

export interface HogOptions {
  cgroupDir: string;
  oomScoreAdj?: number;
  /** Run the program under this name, which becomes its comm (first 15 bytes). */
  comm?: string;
}

function spawnIn(o: HogOptions, program: string, args: string[]): Subprocess {
  let exe = Bun.which(program)!;
  if (o.comm !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), "oomtrace-comm-"));
    const link = join(dir, o.comm);
    symlinkSync(exe, link);
    exe = link;
  }
  // The shell joins the cgroup and sets the score, then becomes the program: one pid throughout.
  const script = `echo $$ > "$1/cgroup.procs" && echo "$2" > /proc/self/oom_score_adj && shift 2 && exec "$@"`;
  return Bun.spawn(["sh", "-c", script, "sh", o.cgroupDir, String(o.oomScoreAdj ?? 0), exe, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Allocates `mib` MiB, touches it, prints "held", then sleeps. */
export function holder(o: HogOptions & { mib: number }): Subprocess {
  return spawnIn(o, "python3", ["-c", `import sys,time\nb=bytearray(${o.mib}<<20)\nprint("held",flush=True)\ntime.sleep(600)`]);
}

/** Grows until the kernel kills it (or something else does): tail buffers a line that never ends. */
export function grower(o: HogOptions): Subprocess {
  return spawnIn(o, "tail", ["/dev/zero"]);
}

/** Allocates `mib` MiB once and exits 0 if it was allowed to. */
export function allocator(o: HogOptions & { mib: number }): Subprocess {
  return spawnIn(o, "python3", ["-c", `b=bytearray(${o.mib}<<20)\nprint("ok",flush=True)`]);
}

export async function waitForLine(p: Subprocess, text: string, timeoutMs = 10_000): Promise<void> {
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let buf = "";
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => null)]);
    if (!r || r.done) break;
    buf += dec.decode(r.value);
    if (buf.includes(text)) {
      reader.releaseLock();
      return;
    }
  }
  throw new Error(`process ${p.pid} did not print ${JSON.stringify(text)} in ${timeoutMs} ms (got ${JSON.stringify(buf)})`);
}

/**
 * Python that adds `stepMib` MiB every `stepMs` ms on a fixed schedule (a late step catches up, so
 * the average rate holds on a busy machine) until it is killed. Prints "start" before the first step.
 */
export function fillerProgram(stepMib: number, stepMs: number): string {
  return [
    "import time",
    "held = []",
    `step, period = ${stepMib} << 20, ${stepMs} / 1000`,
    "t0 = time.monotonic()",
    'print("start", flush=True)',
    "i = 0",
    "while True:",
    "    i += 1",
    "    held.append(bytearray(step))",
    "    time.sleep(max(0.0, t0 + i * period - time.monotonic()))",
  ].join("\n");
}

/** Runs fillerProgram in the cgroup: it grows at a known rate until the kernel kills it. */
export function filler(o: HogOptions & { stepMib: number; stepMs: number }): Subprocess {
  return spawnIn(o, "python3", ["-c", fillerProgram(o.stepMib, o.stepMs)]);
}

/** Holds `mib` MiB, freeing and allocating `swingMib` of it every `periodMs` ms: noisy but not growing. */
export function swinger(o: HogOptions & { mib: number; swingMib: number; periodMs: number }): Subprocess {
  const program = [
    "import time",
    `base = bytearray(${o.mib} << 20)`,
    'print("held", flush=True)',
    "while True:",
    `    swing = bytearray(${o.swingMib} << 20)`,
    `    time.sleep(${o.periodMs} / 2000)`,
    "    del swing",
    `    time.sleep(${o.periodMs} / 2000)`,
  ].join("\n");
  return spawnIn(o, "python3", ["-c", program]);
}
